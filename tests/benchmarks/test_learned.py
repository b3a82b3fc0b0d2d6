"""A comparison row "learned" when its Dice clears both trivial predictions by 20 points."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from munet.benchmarks.compare import mark_learned, trivial_dice
from munet.benchmarks.compare_report import PAPER_METRICS


def _hand_truths() -> dict[str, np.ndarray]:
    b = np.zeros((4, 4), np.uint8)
    b[1:3, 1:3] = 1
    return {"a": np.zeros((4, 4), np.uint8), "b": b, "c": np.ones((4, 4), np.uint8)}


def _result(val: Path, dices: list[float], **budget) -> dict:
    metrics = {m: 0.5 for m in (*PAPER_METRICS, "miou", "isic_jaccard")}
    rows = [
        {
            "arch": f"a{i}",
            "label": f"Row {i}",
            "encoder_weights": "none",
            "imagenet": False,
            "params": 1000,
            "macs": 10**8,
            "macs_256": 10**9,
            "float32": {**metrics, "dice": d},
            "int8": metrics,
            "int8_dice_drop": 0.0,
            "float_ms": 1.0,
            "int8_ms": 0.5,
            "train_s": 3.0,
            "error": None,
        }
        for i, d in enumerate(dices)
    ]
    rows.append({"arch": "fcn", "label": "FCNet", "encoder_weights": "none", "error": "no download"})
    return {
        "name": "x",
        "train": "t",
        "val": str(val),
        "n_train": 10,
        "n_val": 3,
        "budget": {"size": [64, 64], "latency_runs": 20, "threads": 1, "seed": 0} | budget,
        "budget_text": "64x64",
        "paper_table": None,
        "provenance": {"command": "munet-bench compare --name x", "date": "2026-11-25", "machine": {}},
        "latency_method": "interleaved",
        "models": rows,
    }


def test_trivial_predictions_are_scored_per_image_like_the_rows() -> None:
    got = trivial_dice(list(_hand_truths().values()))
    assert got["all-empty"] == pytest.approx((1.0 + 0.0 + 0.0) / 3)  # the empty truth counts as a hit
    assert got["all-full"] == pytest.approx((0.0 + 0.4 + 1.0) / 3)
    assert trivial_dice([_hand_truths()["a"]] * 3) == {"all-empty": 1.0, "all-full": 0.0}  # all tumour-free


def test_learned_needs_20_points_above_both_trivial_predictions() -> None:
    from munet.benchmarks.analysis import is_learned

    for trivial in ({"all-empty": 0.25, "all-full": 0.125}, {"all-empty": 0.125, "all-full": 0.25}):
        at = 0.25 + 0.20  # the higher trivial value decides, whichever it is
        assert is_learned({"float32": {"dice": at}}, trivial)
        assert not is_learned({"float32": {"dice": at - 1e-9}}, trivial)
        assert is_learned({"float32": {"dice": 0.125 + 0.20}}, trivial) is False
    assert not is_learned({"float32": {"dice": 0.99}, "error": "oom"}, {"all-empty": 0.0, "all-full": 0.0})
    result = mark_learned(_result(Path("v"), [0.9, 0.3]), {"all-empty": 0.5, "all-full": 0.0})
    assert result["trivial"] == {"all-empty": 0.5, "all-full": 0.0}
    assert [r["learned"] for r in result["models"]] == [True, False, False]  # the failed row did not learn


def test_a_row_that_did_not_learn_says_which_trivial_prediction_it_resembles() -> None:
    from munet.benchmarks.compare_report import learned_cell

    trivial = {"all-empty": 0.6636, "all-full": 0.0127}  # brain MRI: 66 % tumour-free slices
    row = {"float32": {"dice": 0.0142}, "learned": False}
    assert learned_cell(row, trivial) == "**no** (≈ all-full)" and learned_cell(row) == "**no**"
    assert learned_cell({"float32": {"dice": 0.6636}, "learned": False}, trivial) == "**no** (≈ all-empty)"
    assert learned_cell({"float32": {"dice": 0.8017}, "learned": False}, trivial) == "**no** (short)"
    assert learned_cell({"float32": {"dice": 0.95}, "learned": True}, trivial) == "yes"
    assert learned_cell({"error": "oom", "learned": False}, trivial) == "**no** (failed)"


def test_a_row_that_ended_before_the_budget_says_so() -> None:
    """A row scored from a training that stopped early (the trainer's collapse stop) is not shown as trained for the
    whole budget: its cell names the epoch it stopped at, learned or not."""
    from munet.benchmarks.compare_report import learned_cell

    trivial = {"all-empty": 0.6636, "all-full": 0.0127}
    collapsed = {"float32": {"dice": 0.7532}, "learned": False, "epochs": 7, "stopped": "epoch 7: training Dice fell"}
    assert learned_cell(collapsed, trivial, epochs=15) == "**no** (short; collapsed at epoch 7 of 15)"
    assert learned_cell(collapsed, None, epochs=15) == "**no** (collapsed at epoch 7 of 15)"
    assert learned_cell(collapsed, trivial) == "**no** (short)"  # no budget given: nothing to compare with
    early = {"float32": {"dice": 0.95}, "learned": True, "epochs": 9}
    assert learned_cell(early, trivial, epochs=15) == "yes (stopped at epoch 9 of 15)"
    assert learned_cell(early | {"epochs": 15}, trivial, epochs=15) == "yes"
    assert learned_cell({"error": "oom", "learned": False, "epochs": 0}, trivial, epochs=15) == "**no** (failed)"


def test_the_tables_show_where_a_row_stopped(tmp_path: Path) -> None:
    """Both the paper-style table and the README block carry the stop."""
    from munet.benchmarks.compare_report import compare_markdown
    from munet.benchmarks.readme_table import render_compare

    result = mark_learned(_result(tmp_path, [0.9, 0.3], epochs=15), {"all-empty": 0.0, "all-full": 0.1})
    result["models"][0] |= {"epochs": 7, "stopped": "epoch 7: collapse"}
    assert "yes (collapsed at epoch 7 of 15)" in compare_markdown(result)
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "compare_x.json").write_text(json.dumps(result))
    assert "yes (collapsed at epoch 7 of 15)" in render_compare(tmp_path / "res")


def test_the_table_shows_the_judgement_and_the_rule() -> None:
    """Every row's "learned" cell and the sentence with the trivial predictions' Dice."""
    from munet.benchmarks.compare_report import compare_markdown

    trivial = trivial_dice(list(_hand_truths().values()))  # threshold: (0 + 0.4 + 1) / 3 + 0.20 = 0.6667
    md = compare_markdown(mark_learned(_result(Path("v"), [0.9, 0.6]), trivial))
    assert "| Row 0 | scratch | 0.00 | 0.10 | 1.00 | 0.9000 | yes | 0.5000 |" in md
    assert "| 0.6000 | **no** (short) |" in md
    assert "| FCNet | failed: no download | – | – | – | – | **no** (failed) | – |" in md
    assert "all-empty 0.3333, all-full 0.4667" in md and "at least 0.20 above both" in md


def test_the_committed_comparisons_render_as_committed() -> None:
    """compare_markdown of each committed compare_*.json is its committed .md, byte for byte."""
    from munet.benchmarks.compare_report import compare_markdown

    paths = sorted((Path(__file__).resolve().parents[2] / "benchmarks" / "results").glob("compare_*.json"))
    assert paths
    for path in paths:
        assert compare_markdown(json.loads(path.read_text())) + "\n" == path.with_suffix(".md").read_text(), path
