"""munet.benchmarks.pareto: the front, the plot and the table (training itself is covered by the flow test)."""

from __future__ import annotations

from pathlib import Path

from munet.benchmarks.pareto import pareto_front, pareto_markdown, plot_pareto


def _point(alpha: float, ms: float, dice: float, pretrained: bool = False) -> dict:
    init = "ImageNet" if pretrained else "scratch"
    return {
        "alpha": alpha,
        "size": [128, 128],
        "pretrained": pretrained,
        "init": init,
        "epochs": 1,
        "gmacs": 0.3,
        "size_mb": 3.0,
        "dice_float": dice,
        "dice_int8": dice,
        "agreement_dice": 0.99,
        "latency_ms": ms,
    }


def test_front_keeps_only_undominated_points() -> None:
    pts = [
        _point(0.35, 5, 0.70),
        _point(0.5, 8, 0.75),
        _point(1.0, 9, 0.72),
        _point(1.4, 20, 0.80),
        _point(0.35, 5, 0.60),
    ]
    assert pareto_front(pts) == [0, 1, 3]  # 2 is beaten by 1 (faster and better); 4 by 0 (same speed, better)


def test_plot_and_markdown_mark_scratch_points(tmp_path: Path) -> None:
    pts = [_point(0.35, 5, 0.70), _point(1.0, 9, 0.8, pretrained=True)]
    for i, p in enumerate(pts):
        p["on_front"] = i in pareto_front(pts)
    result = {
        "command": "munet-bench pareto",
        "date": "2026-01-01",
        "machine": {},
        "train_data": "t",
        "val_data": "v",
        "threads": 2,
        "points": pts,
        "plot": "pareto.png",
    }
    assert plot_pareto(result, tmp_path / "p.png").stat().st_size > 1000
    md = pareto_markdown(result)
    assert "| 0.35 | 128x128 | scratch |" in md and "| 1 | 128x128 | ImageNet |" in md


def test_a_cut_short_sweep_resumes_from_saved_points(tiny_pairs: Path, tmp_path: Path) -> None:
    """With ``reuse``, finished points (``runs_dir/<tag>/point.json``) are not retrained; results are rewritten."""
    import json

    from munet.benchmarks.pareto import run_pareto

    runs = tmp_path / "runs"
    for alpha, ms, dice in ((0.35, 3.0, 0.6), (0.5, 5.0, 0.7)):
        (runs / f"a{alpha:g}_64x64").mkdir(parents=True)
        (runs / f"a{alpha:g}_64x64" / "point.json").write_text(json.dumps(_point(alpha, ms, dice)))
    out = tmp_path / "results"
    result = run_pareto(
        data=tiny_pairs,
        val_data=tiny_pairs,
        alphas=[0.35, 0.5],
        sizes=[(64, 64)],
        epochs=1,
        out=out,
        runs_dir=runs,
        reuse=True,
        echo=lambda s: None,
    )
    assert [p["alpha"] for p in result["points"]] == [0.35, 0.5]
    assert [p["on_front"] for p in result["points"]] == [True, True]
    assert not (runs / "a0.35_64x64" / "best.keras").exists()  # nothing was trained
    saved = json.loads((out / "pareto.json").read_text())
    assert saved["points"][1]["dice_int8"] == 0.7 and (out / "pareto.png").stat().st_size > 1000
    assert "| 0.5 | 128x128 | scratch |" in (out / "pareto.md").read_text()


def test_limit_takes_a_seeded_sample_of_the_training_pairs(tiny_pairs: Path, tmp_path: Path) -> None:
    from munet.benchmarks.pareto import _subset

    a = sorted(p.name for p in (_subset(tiny_pairs, 2, tmp_path / "a") / "images").iterdir())
    b = sorted(p.name for p in (_subset(tiny_pairs, 2, tmp_path / "b") / "images").iterdir())
    assert len(a) == 2 and a == b  # reproducible
    assert len(list((tmp_path / "a" / "masks").iterdir())) == 2
    assert (
        _subset(tiny_pairs, None, tmp_path / "c") == tiny_pairs
        and _subset(tiny_pairs, 99, tmp_path / "d") == tiny_pairs
    )


def test_retiming_runs_all_points_round_robin(tiny_tflites: dict[str, Path], tmp_path: Path) -> None:
    """The final pass replaces each point's latency and keeps the per-point one; a missing model changes nothing."""
    import shutil

    import numpy as np

    from munet.benchmarks.pareto import point_model, retime_points

    pts = [_point(0.35, 99.0, 0.7), _point(1.0, 98.0, 0.8, pretrained=True)]
    frame = np.full((96, 128, 3), 120, np.uint8)
    assert not retime_points(pts, tmp_path, frame, runs=3, threads=1)  # no model files yet
    assert pts[0]["latency_ms"] == 99.0
    for p in pts:
        point_model(tmp_path, p).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tiny_tflites["int8"], point_model(tmp_path, p))
    assert retime_points(pts, tmp_path, frame, runs=3, threads=1)
    for p, alone in zip(pts, (99.0, 98.0), strict=True):
        assert p["latency_alone_ms"] == alone and 0 < p["latency_ms"] < 99.0 and p["latency_p90_ms"] >= p["latency_ms"]
