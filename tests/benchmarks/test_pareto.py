"""munet.benchmarks.pareto: the front, the plot and the table (training itself is covered by the flow test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from munet.benchmarks.pareto import grid_points, pareto_front, pareto_markdown, plot_pareto
from munet.errors import InputError


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
    assert "| – | 0.35 | 128×128 | scratch |" in md and "| – | 1 | 128×128 | ImageNet |" in md  # α: it varies
    assert "| decoder |" not in md and "× paper decoder" not in md  # no decoder variants


def _row(name: str, overrides: dict, model: Path, dice: float) -> dict:
    """An experiment row as ``run_point`` writes it (``runs_dir/<name>/row.json``)."""
    scores = {m: {"per-image": {"dice": dice}} for m in ("float32", "int8")}
    models = {m: {"path": model.as_posix(), "size_bytes": 3_000_000} for m in ("float32", "int8")}
    row = {"name": name, "overrides": overrides, "run_dir": "gone", "epochs": 1, "train_s": 1.0, "params": 10}
    return row | {"macs": 3 * 10**8, "models": models, "scores": scores, "agreement": {"int8": {"dice": 0.99}}}


def test_a_cut_short_sweep_resumes_and_times_every_point_in_one_pass(
    tiny_pairs: Path, tiny_tflites: dict[str, Path], tmp_path: Path
) -> None:
    """With ``reuse`` finished rows are not retrained; all int8 models are timed at 1 and 2 threads in one pass."""
    import json

    from munet.benchmarks.pareto import run_pareto

    runs = tmp_path / "runs"
    for alpha, dice in ((0.35, 0.6), (0.5, 0.7)):
        name = f"a{alpha:g}_64x64"
        overrides = {"epochs": 1, "batch": 8, "alpha": alpha, "size": [64, 64], "encoder_weights": "none"}
        (runs / name).mkdir(parents=True)
        (runs / name / "row.json").write_text(json.dumps(_row(name, overrides, tiny_tflites["int8"], dice)))
    out = tmp_path / "results"
    result = run_pareto(
        data=tiny_pairs,
        val_data=tiny_pairs,
        points=grid_points([0.35, 0.5], [(64, 64)]),
        epochs=1,
        runs=3,
        out=out,
        runs_dir=runs,
        reuse=True,
        echo=lambda s: None,
    )
    assert [p["alpha"] for p in result["points"]] == [0.35, 0.5]
    assert not (runs / "a0.35_64x64" / "best.keras").exists()  # nothing was trained
    for p in result["points"]:
        assert p["latency_ms_1t"] > 0 and p["latency_ms_2t"] > 0 and p["latency_ms"] == p["latency_ms_2t"]
        assert p["gmacs"] == 0.3 and p["params"] == 10 and p["init"] == "scratch"
    assert result["latency_method"].startswith("interleaved") and len(result["load"]["load_before"]) == 3
    saved = json.loads((out / "pareto.json").read_text())
    assert saved["points"][1]["dice_int8"] == 0.7 and (out / "pareto.png").stat().st_size > 1000
    md = (out / "pareto.md").read_text()
    assert "| a0.5_64x64 | 0.5 | 64×64 | scratch |" in md and "machine during the pass: load average" in md
    with pytest.raises(InputError, match="other settings"):  # a row made with other overrides is not reused
        run_pareto(
            data=tiny_pairs,
            val_data=tiny_pairs,
            points=grid_points([0.35], [(64, 64)]),
            epochs=2,
            out=out,
            runs_dir=runs,
            reuse=True,
            echo=lambda s: None,
        )


def test_reuse_keeps_committed_points_whose_run_folder_is_gone(
    tiny_pairs: Path, tiny_tflites: dict[str, Path], tmp_path: Path
) -> None:
    """A fresh checkout has the committed pareto.json but no runs: ``reuse`` keeps those points (scores as they
    were, marked with their origin) and times them in the same pass as the new ones on one untrained int8 model
    per architecture; a kept point whose settings changed is refused."""
    import json

    from munet.benchmarks.experiment import Point
    from munet.benchmarks.pareto import run_pareto

    runs, out = tmp_path / "runs", tmp_path / "results"
    arch = {"epochs": 1, "batch": 8, "alpha": 0.35, "size": [64, 64]}
    old = [
        _point(0.35, 5.0, 0.61) | {"name": "old", "overrides": arch, "latency_alone_ms": 9.0},
        _point(0.35, 5.0, 0.62) | {"name": "old-seed1", "overrides": arch | {"seed": 1}},
    ]
    out.mkdir()
    (out / "pareto.json").write_text(
        json.dumps({"date": "2026-11-30T00:00:00", "machine": {"cpu": "Old CPU"}, "points": old})
    )
    new_overrides = {"epochs": 1, "batch": 8, "alpha": 0.5, "size": [64, 64], "encoder_weights": "none"}
    (runs / "new").mkdir(parents=True)
    (runs / "new" / "row.json").write_text(json.dumps(_row("new", new_overrides, tiny_tflites["int8"], 0.7)))
    points = [
        Point("old", {"alpha": 0.35, "size": [64, 64]}),
        Point("old-seed1", {"alpha": 0.35, "size": [64, 64], "seed": 1}),
        Point("new", {"alpha": 0.5, "size": [64, 64], "encoder_weights": "none"}),
    ]
    kw = dict(data=tiny_pairs, val_data=tiny_pairs, epochs=1, runs=3, out=out, runs_dir=runs, echo=lambda s: None)
    result = run_pareto(points=points, reuse=True, **kw)
    kept, kept1, fresh = result["points"]
    assert not (runs / "old").exists() and not (runs / "old" / "best.keras").exists()  # nothing trained
    assert sorted(p.name for p in runs.glob("arch-*")) == ["arch-0"]  # one untrained copy for the shared arch
    assert kept["dice_int8"] == 0.61 and kept["kept_from"]["cpu"] == "Old CPU" and kept["timed_on"]
    assert kept["latency_ms_1t"] > 0 and kept["latency_ms_2t"] == kept["latency_ms"] and kept1["latency_ms"] > 0
    assert "latency_alone_ms" not in kept  # an earlier pass's time is not mixed into this pass's table
    assert fresh["dice_int8"] == 0.7 and fresh["latency_ms_2t"] > 0 and "kept_from" not in fresh
    assert "untrained int8 model of the same architecture" in result["latency_method"]
    md = (out / "pareto.md").read_text()
    assert "int8 ms: an untrained copy of the same architecture): old (2026-11-30, Old CPU), old-seed1" in md
    with pytest.raises(InputError, match="point 'old' was made with other settings"):
        run_pareto(points=[Point("old", {"alpha": 0.5})], reuse=True, **kw)


def test_points_file_names_decoder_variants(tmp_path: Path) -> None:
    from munet.benchmarks.experiment import load_points

    f = tmp_path / "points.yaml"
    f.write_text(
        "- name: paper\n  alpha: 1.0\n"
        "- name: slim\n  overrides: {decoder_upsample: nearest, decoder_filters: [96, 64, 48, 32]}\n"
        "  size: [128, 128]\n"
    )
    paper, slim = load_points(f)
    assert paper.name == "paper" and paper.overrides == {"alpha": 1.0}
    assert slim.overrides == {"decoder_upsample": "nearest", "decoder_filters": [96, 64, 48, 32], "size": [128, 128]}
    for bad in ("name: x\n", "- alpha: 1.0\n", "- name: a\n- name: a\n"):
        f.write_text(bad)
        with pytest.raises(InputError, match="points.yaml"):
            load_points(f)


def test_point_reads_the_effective_config_of_a_preset_run(tmp_path: Path) -> None:
    """A point given as ``preset: edge`` + ``size: 96`` shows the expanded decoder and a parsed HxW size."""
    from munet.benchmarks.experiment import Row
    from munet.benchmarks.pareto import pareto_markdown, pareto_point
    from munet.train.config import make_config

    run = tmp_path / "edge-96"
    run.mkdir()
    overrides = {"preset": "edge", "size": 96}
    (run / "config.yaml").write_text(make_config(overrides={**overrides, "data": "d"}).to_yaml())
    score = {"per-image": {"dice": 0.8}}
    row = {
        "name": "edge-96",
        "overrides": overrides,
        "run_dir": str(run),
        "epochs": 8,
        "train_s": 1.0,
        "params": 2_000_000,
        "macs": 90_000_000,
        "models": {"int8": {"size_bytes": 2_400_000}},
        "scores": {"float32": score, "int8": score},
        "agreement": {"int8": {"dice": 0.97}},
        "latency": {"int8@1": {"median": 1.5, "p90": 1.6}, "int8@2": {"median": 1.0, "p90": 1.1}},
    }
    point = pareto_point(Row.from_dict(row), threads=2)
    assert point["size"] == [96, 96] and point["alpha"] == 1.0
    assert point["decoder"]["decoder_upsample"] == "nearest" and point["latency_ms"] == 1.0
    assert "| edge-96 | 96×96 |" in pareto_markdown(
        {"points": [point | {"on_front": True}], "train_data": "t", "val_data": "v", "plot": "p.png"}
    )


def test_a_finished_training_is_converted_without_retraining_and_keeps_its_own_training_time(
    trained_run: Path, blob_data: Path, tmp_path: Path
) -> None:
    """A run trained outside the sweep (munet-train into runs_dir/<name>) is converted and scored by ``reuse``; its
    row's train_s is the run's own wall-clock time (state/progress.json), not the seconds the reuse took."""
    import json
    import shutil

    from munet.benchmarks.experiment import Point, Setup, run_point

    runs = tmp_path / "runs"
    shutil.copytree(trained_run, runs / "p")
    progress = {"epoch": 6, "finished": True, "wall_s": 42.37}  # as munet-train's callbacks write it
    (runs / "p" / "state").mkdir()
    (runs / "p" / "state" / "progress.json").write_text(json.dumps(progress))
    row = run_point(Point("p", {}, modes=("float32",)), Setup(blob_data, blob_data, runs, reuse=True), echo=str)
    assert row.train_s == round(progress["wall_s"], 1) and row.model_path("float32").is_file()
