"""The architecture comparison script: data subsets, scoring of TFLite models, the Table 1/2 Markdown."""

from __future__ import annotations

from pathlib import Path

import pytest

from munet.benchmarks.compare import (
    PAPER_METRICS,
    Budget,
    _parse_weights,
    compare,
    compare_markdown,
    evaluate_tflite,
    parse_arch,
    resolve_split,
    subset_folder,
    time_tflite,
)
from munet.errors import InputError, MunetError


def test_budget_text_states_the_shared_settings() -> None:
    text = Budget(size=(128, 96), epochs=7, train_limit=300).describe()
    assert "128x96" in text and "7 epochs" in text and "no early stopping" in text and "300 training images" in text


def test_weights_option_parsing() -> None:
    assert _parse_weights(["munet=w.h5", "fcn = imagenet"]) == {"munet": "w.h5", "fcn": "imagenet"}
    with pytest.raises(MunetError, match="ARCH=imagenet"):
        _parse_weights(["munet"])


def test_resolve_split(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="train/ and val/"):
        resolve_split(tmp_path, None, None)
    (tmp_path / "train").mkdir()
    (tmp_path / "val").mkdir()
    assert resolve_split(tmp_path, None, None) == (tmp_path / "train", tmp_path / "val")
    with pytest.raises(InputError, match="--train DIR and --val DIR"):
        resolve_split(None, tmp_path / "train", None)


def test_subset_folder_is_a_seeded_folder_layout_sample(tiny_pairs: Path, tmp_path: Path) -> None:
    from munet.train.datasets import find_pairs

    pairs = find_pairs(tiny_pairs, "folder")
    dest, chosen = subset_folder(pairs, 2, seed=5, dest=tmp_path / "sub")
    again = find_pairs(dest, "folder")
    assert len(chosen) == len(again) == 2
    assert [p.image.name for p in again] == [p.image.name for p in chosen]
    _, chosen2 = subset_folder(pairs, 2, seed=5, dest=tmp_path / "sub2")
    assert [p.image for p in chosen2] == [p.image for p in chosen]


def test_tflite_scoring_and_timing(tiny_tflites: dict[str, Path], tiny_pairs: Path) -> None:
    from munet.train.datasets import find_pairs, load_pair

    samples = [load_pair(p) for p in find_pairs(tiny_pairs, "folder")]
    for path in tiny_tflites.values():
        per_image, pixel = evaluate_tflite(path, samples, threads=1)
        for key in (*PAPER_METRICS, "miou", "isic_jaccard"):
            assert 0.0 <= per_image[key] <= 1.0 and 0.0 <= pixel[key] <= 1.0
        assert pixel["isic_jaccard"] == per_image["isic_jaccard"]  # always per image, by definition
        assert time_tflite(path, samples[0][0], runs=2, threads=1) > 0


def test_unknown_architecture_fails_before_any_training(tiny_pairs: Path, tmp_path: Path) -> None:
    with pytest.raises(MunetError, match="did you mean 'unet-vgg19'"):
        compare(tiny_pairs, tiny_pairs, "x", archs=["unet-vgg"], out_dir=tmp_path, runs_dir=tmp_path / "runs")
    assert not (tmp_path / "compare_x.json").exists()


def test_markdown_table_names_budget_weights_failures_and_paper_values() -> None:
    metrics = {m: 0.5 for m in (*PAPER_METRICS, "miou", "isic_jaccard")}
    ok = {
        "arch": "munet",
        "label": "MU-Net (proposed)",
        "encoder_weights": "w.h5",
        "imagenet": True,
        "params": 6_501_345,
        "macs": 575_000_000,
        "macs_256": 2_300_000_000,
        "float32": metrics,
        "int8": {**metrics, "dice": 0.49},
        "int8_dice_drop": 0.01,
        "float_ms": 20.0,
        "int8_ms": 5.0,
        "train_s": 12.0,
        "error": None,
    }
    failed = {"arch": "fcn", "label": "FCNet (FCN-8s)", "encoder_weights": "imagenet", "error": "no download"}
    result = {
        "name": "isic",
        "budget": {"size": [128, 128], "latency_runs": 20, "threads": 1},
        "budget_text": Budget().describe(),
        "train": "t",
        "val": "v",
        "n_train": 10,
        "n_val": 5,
        "paper_table": "isic",
        "provenance": {"command": "munet-bench compare --name isic", "date": "2026-11-25", "machine": {}},
        "models": [ok, failed],
    }
    md = compare_markdown(result)
    assert "| MU-Net (proposed) | 50.00 | 50.00 |" in md
    assert "6,501,345" in md and "ImageNet" in md and "| 1.00 |" in md  # Dice drop in points
    assert "| 0.57 | 2.30 |" in md  # GMACs at the budget size and at 256x256
    assert "failed: no download" in md
    assert "| Proposed (MU-Net) | 96.49 |" in md and "93.78" in md  # the paper's Table 1 row
    assert "munet-bench compare --name isic" in md and "no early stopping" in md


def test_arch_entries_may_name_their_encoder_start() -> None:
    spec = {"munet": "w.h5"}
    assert parse_arch("munet", spec) == ("munet", "w.h5", "MU-Net (proposed)")
    assert parse_arch("munet@none", spec) == ("munet", "none", "MU-Net (proposed), from scratch")
    assert parse_arch("unet-vgg19@imagenet", {})[1:] == ("imagenet", "U-Net with VGG-19, ImageNet")
    with pytest.raises(MunetError, match="ARCH@none or ARCH@imagenet"):
        parse_arch("munet@w.h5", spec)


def test_reuse_takes_a_finished_scored_row_without_training(tiny_pairs: Path, tmp_path: Path) -> None:
    """Adding a row to a comparison later must not retrain or rescore the finished ones."""
    import json

    run = tmp_path / "runs" / "x" / "munet@none"
    (run / "state").mkdir(parents=True)
    (run / "state" / "progress.json").write_text(json.dumps({"epoch": 3, "finished": True}))
    metrics = {m: 0.5 for m in (*PAPER_METRICS, "miou", "isic_jaccard")}
    row = {"arch": "munet", "label": "old", "encoder_weights": "none", "imagenet": False, "params": 123, "epochs": 3}
    row |= {"macs": 10**8, "macs_256": 10**9, "float32": metrics, "int8": metrics, "int8_dice_drop": 0.0}
    row |= {"float_ms": 2.0, "int8_ms": 1.0, "train_s": 5.0}
    (run / "row.json").write_text(json.dumps(row))
    result = compare(
        tiny_pairs, tiny_pairs, "x", archs=["munet@none"], out_dir=tmp_path, runs_dir=tmp_path / "runs", reuse=True
    )
    (got,) = result["models"]
    assert got["arch"] == "munet@none" and got["label"] == "MU-Net (proposed), from scratch"
    assert got["params"] == 123 and not (run / "best.keras").exists()  # nothing trained
    assert json.loads((tmp_path / "compare_x.json").read_text())["models"][0]["params"] == 123


def test_interleaved_retiming_replaces_row_latencies(tiny_tflites: dict[str, Path], tiny_pairs: Path, tmp_path):
    """All models are timed in one round-robin pass; a row whose model files are gone keeps its timing."""
    import shutil

    from munet.benchmarks.compare import Budget, retime_rows
    from munet.train.datasets import find_pairs, load_pair

    frame = load_pair(find_pairs(tiny_pairs, "folder")[0])[0]
    run = tmp_path / "a"
    run.mkdir()
    shutil.copy(tiny_tflites["float32"], run / "model_float32.tflite")
    shutil.copy(tiny_tflites["int8"], run / "model_int8.tflite")
    rows = [
        {"run_dir": run.as_posix(), "float_ms": -1.0, "int8_ms": -1.0},
        {"run_dir": (tmp_path / "gone").as_posix(), "float_ms": 7.0, "int8_ms": 3.0},
        {"run_dir": run.as_posix(), "error": "failed", "float_ms": None, "int8_ms": None},
    ]
    assert retime_rows(rows, frame, Budget(size=(64, 64), latency_runs=5, threads=1)) == 1
    assert rows[0]["float_ms"] > 0 and rows[0]["int8_ms"] > 0
    assert 0 < rows[0]["int8_ms_p10"] <= rows[0]["int8_ms"]
    assert rows[1] == {"run_dir": (tmp_path / "gone").as_posix(), "float_ms": 7.0, "int8_ms": 3.0}
    assert rows[2]["float_ms"] is None
