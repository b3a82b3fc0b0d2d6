"""A comparison row "learned" when its Dice clears both trivial predictions by 20 points; --annotate adds it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from munet.benchmarks.compare import PAPER_METRICS, arch_result
from munet.benchmarks.learned import trivial_dice
from munet.data import subset_folder
from munet.errors import InputError

HAND_DICE = {"a": (1.0, 0.0), "b": (0.0, 0.4), "c": (0.0, 1.0)}


def _hand_truths() -> dict[str, np.ndarray]:
    b = np.zeros((4, 4), np.uint8)
    b[1:3, 1:3] = 1
    return {"a": np.zeros((4, 4), np.uint8), "b": b, "c": np.ones((4, 4), np.uint8)}


def _hand_folder(dest: Path) -> Path:
    """The hand-made truths as a "folder" layout set (black images, {0, 255} PNG masks)."""
    import cv2

    for sub in ("images", "masks"):
        (dest / sub).mkdir(parents=True)
    for stem, truth in _hand_truths().items():
        cv2.imwrite(str(dest / "images" / f"{stem}.png"), np.zeros((4, 4, 3), np.uint8))
        cv2.imwrite(str(dest / "masks" / f"{stem}.png"), truth * 255)
    return dest


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
        "models": rows,
    }


def test_trivial_predictions_are_scored_per_image_like_the_rows() -> None:
    got = trivial_dice(list(_hand_truths().values()))
    assert got["all-empty"] == pytest.approx((1.0 + 0.0 + 0.0) / 3)  # the empty truth counts as a hit
    assert got["all-full"] == pytest.approx((0.0 + 0.4 + 1.0) / 3)
    assert trivial_dice([_hand_truths()["a"]] * 3) == {"all-empty": 1.0, "all-full": 0.0}  # all tumour-free


def test_learned_needs_20_points_above_both_trivial_predictions() -> None:
    from munet.benchmarks.analysis import is_learned
    from munet.benchmarks.learned import mark_learned

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

    result = _result(tmp_path, [0.9, 0.3], epochs=15) | {"trivial": {"all-empty": 0.0, "all-full": 0.1}}
    result["models"][0] |= {"epochs": 7, "stopped": "epoch 7: collapse", "learned": True}
    assert "yes (collapsed at epoch 7 of 15)" in compare_markdown(result)
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "compare_x.json").write_text(json.dumps(result))
    assert "yes (collapsed at epoch 7 of 15)" in render_compare(tmp_path / "res")


def test_old_rows_without_learned_still_load() -> None:
    from munet.benchmarks.compare import ArchResult

    row = {"arch": "unet", "label": "U-Net", "encoder_weights": "none", "imagenet": False, "params": 5}
    assert arch_result(row, "unet", "U-Net", threads=1).learned is None
    assert ArchResult(**row, learned=True).learned is True


def test_annotate_rewrites_the_json_and_its_markdown(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from munet.benchmarks.compare import compare_command

    val = _hand_folder(tmp_path / "val")
    before = _result(val, [0.9, 0.6])  # threshold: (0 + 0.4 + 1) / 3 + 0.20 = 0.6667
    path = tmp_path / "compare_x.json"
    path.write_text(json.dumps(before))
    (tmp_path / "compare_x.md").write_text("stale\n")
    out = CliRunner().invoke(compare_command, ["--annotate", str(path)])
    assert out.exit_code == 0, out.output
    assert "not learned: Row 1; FCNet" in out.output
    after = json.loads(path.read_text())
    assert after["trivial"] == pytest.approx({"all-empty": 1 / 3, "all-full": 1.4 / 3})
    assert [r["learned"] for r in after["models"]] == [True, False, False]
    for r in after["models"]:
        del r["learned"]
    assert {k: v for k, v in after.items() if k != "trivial"} == before  # nothing else changed
    md = (tmp_path / "compare_x.md").read_text()
    assert "| Row 0 | 50.00 | 50.00 | 50.00 | 50.00 | 50.00 | 90.00 | yes | 50.00 |" in md
    assert "| 60.00 | **no** (short) |" in md and "| FCNet | – | – | – | – | – | – | **no** (failed) |" in md
    assert "all-empty 33.33 %, all-full 46.67 %" in md and "at least 20 points above both" in md


def test_annotate_rebuilds_the_seeded_val_limit_subset(tmp_path: Path) -> None:
    import json

    from munet.benchmarks.learned import annotate
    from munet.data import find_pairs

    val = _hand_folder(tmp_path / "val")
    path = tmp_path / "compare_x.json"
    path.write_text(json.dumps(_result(val, [0.9], val_limit=2, seed=1) | {"n_val": 2}))
    _, chosen = subset_folder(find_pairs(val, "folder"), 2, seed=1, dest=tmp_path / "sub")  # as compare() drew it
    stems = [p.image.stem for p in chosen]
    result = annotate(path)
    assert result["trivial"] == pytest.approx(
        {k: sum(HAND_DICE[s][i] for s in stems) / 2 for i, k in enumerate(("all-empty", "all-full"))}
    )
    path.write_text(json.dumps(_result(val, [0.9], val_limit=2, seed=1)))  # says 3 images were scored
    with pytest.raises(InputError, match="2 validation pairs but the comparison scored 3"):
        annotate(path)


def test_annotate_errors_are_one_line(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from munet.benchmarks.compare import compare_command

    path = tmp_path / "compare_x.json"
    path.write_text(json.dumps(_result(tmp_path / "gone", [0.9])))
    runner = CliRunner()
    out = runner.invoke(compare_command, ["--annotate", str(path)])
    assert out.exit_code == 2 and "validation folder is gone" in out.output and "--data DIR" in out.output
    assert len(out.output.strip().splitlines()) == 1
    out = runner.invoke(compare_command, ["--annotate", str(path), "--epochs", "3", "--name", "x"])
    assert out.exit_code == 2 and "not --name, --epochs" in out.output
    out = runner.invoke(compare_command, ["--annotate", str(path), "--data", str(tmp_path)])
    assert out.exit_code == 2 and f"{tmp_path / 'val'}: no such validation folder" in out.output
    val = _hand_folder(tmp_path / "other")
    out = runner.invoke(compare_command, ["--annotate", str(path), "--val", str(val)])
    assert out.exit_code == 0 and "trivial Dice: all-empty 0.3333, all-full 0.4667" in out.output
    out = runner.invoke(compare_command, ["--data", str(tmp_path)])
    assert out.exit_code == 2 and "--name is required" in out.output


def test_the_committed_comparisons_render_as_committed() -> None:
    """compare_markdown of each committed compare_*.json is its committed .md, byte for byte."""
    from munet.benchmarks.compare_report import compare_markdown

    paths = sorted((Path(__file__).resolve().parents[2] / "benchmarks" / "results").glob("compare_*.json"))
    assert paths
    for path in paths:
        assert compare_markdown(json.loads(path.read_text())) + "\n" == path.with_suffix(".md").read_text(), path
