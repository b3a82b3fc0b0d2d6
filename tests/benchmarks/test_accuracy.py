"""munet.benchmarks.accuracy on a tiny model: structure, float agreement, original-size masks, report files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from munet.benchmarks.accuracy import BAD_DICE, FLOAT_NAME, accuracy_markdown, evaluate_accuracy, pick_pair
from munet.data import load_pairs
from munet.edge.evaluate import agreement, lesion_split
from munet.edge.metrics import METRIC_NAMES, auroc, compute_metrics
from munet.errors import MunetError


@pytest.fixture(scope="module")
def result(trained_keras: Path, tiny_tflites: dict[str, Path], tiny_pairs: Path, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("acc")
    res = evaluate_accuracy(
        trained_keras,
        [tiny_tflites["float32"], tiny_tflites["int8"]],
        tiny_pairs,
        out=out,
        worst=2,
        threads=1,
        command="munet-bench accuracy (test)",
    )
    res["_out"] = out
    return res


def test_every_model_has_all_metrics_in_both_reductions(result: dict) -> None:
    assert list(result["models"]) == [FLOAT_NAME, "tiny_float32", "tiny_int8"]
    assert result["images"] == 4
    for entry in result["models"].values():
        for red in ("per-image", "pixel"):
            assert set(entry[red]) == set(METRIC_NAMES)
            assert all(0.0 <= v <= 1.0 for v in entry[red].values())
        assert len(entry["worst"]) == 2
        assert entry["worst"][0]["dice"] <= entry["worst"][1]["dice"]


def test_float32_tflite_agrees_with_keras_float(result: dict) -> None:
    agree = result["models"]["tiny_float32"]["agreement_with_float"]
    assert agree["dice"] > 0.99
    assert agree["mean_abs_prob_diff"] < 1e-3
    # the float32 file is the same network: its metrics match Keras' almost exactly
    keras_dice = result["models"][FLOAT_NAME]["pixel"]["dice"]
    assert result["models"]["tiny_float32"]["pixel"]["dice"] == pytest.approx(keras_dice, abs=0.01)


def test_int8_agreement_is_reported_and_no_better_than_float32(result: dict) -> None:
    int8 = result["models"]["tiny_int8"]["agreement_with_float"]
    f32 = result["models"]["tiny_float32"]["agreement_with_float"]
    assert 0.0 <= int8["dice"] <= 1.0
    assert int8["mean_abs_prob_diff"] >= f32["mean_abs_prob_diff"]
    assert result["models"]["tiny_int8"]["quantization"] == "int8"
    assert result["models"]["tiny_int8"]["size_bytes"] < result["models"]["tiny_float32"]["size_bytes"]


def test_report_files_and_grid(result: dict) -> None:
    import cv2

    out: Path = result["_out"]
    data = json.loads((out / "accuracy.json").read_text())
    assert data["command"] == "munet-bench accuracy (test)"
    assert data["machine"]["cores"] >= 1 and data["machine"]["cpu"]
    assert "numpy" in data["machine"]["versions"]
    md = (out / "accuracy.md").read_text()
    assert "tiny_int8" in md and "Agreement" in md
    grid = cv2.imread(str(out / "accuracy_grid.png"))
    assert grid is not None and grid.shape[0] >= 2 * 160  # two worst images, one row each
    assert grid.shape[1] > 4 * 160  # five columns


def test_masks_are_compared_at_the_original_size(tiny_tflites: dict[str, Path], tiny_pairs: Path) -> None:
    """Scoring the int8 model's own masks against the truth equals the report's per-image metrics."""
    from munet.edge.runtime import Segmenter

    samples = load_pairs(tiny_pairs)
    seg = Segmenter(tiny_tflites["int8"], threads=1)
    masks = [seg.segment(s.image).mask for s in samples]
    assert masks[0].shape == samples[0].truth.shape == (96, 128)
    res = evaluate_accuracy(None, [tiny_tflites["int8"]], samples, worst=1)
    expected = compute_metrics(masks, [s.truth for s in samples], reduction="per-image")
    assert res["models"]["tiny_int8"]["per-image"] == pytest.approx(expected)
    assert "agreement_with_float" not in res["models"]["tiny_int8"]


def test_tflite_masks_are_scored_with_the_metadata_min_area(
    tiny_tflites: dict[str, Path], tiny_pairs: Path, tmp_path: Path
) -> None:
    """A model whose metadata says min_area 0.9 is scored on the masks the edge gives: all empty here."""
    from munet.edge.integrity import stamp_digest
    from munet.edge.runtime import Segmenter

    data = tiny_tflites["int8"].read_bytes()
    assert data.count(b'"min_area": 0.0') == 1
    model = tmp_path / "calibrated.tflite"
    # Same length: still a valid file; re-stamped, else the content digest refuses the edited copy.
    model.write_bytes(stamp_digest(data.replace(b'"min_area": 0.0', b'"min_area": 0.9')))
    samples = load_pairs(tiny_pairs)
    res = evaluate_accuracy(None, [tiny_tflites["int8"], model], samples, worst=1, threads=1)
    plain, calibrated = res["models"]["tiny_int8"], res["models"]["calibrated"]
    assert (plain["min_area"], calibrated["min_area"]) == (0.0, 0.9)
    masks = [Segmenter(model, threads=1).segment(s.image).mask for s in samples]
    assert not any(m.any() for m in masks)
    expected = compute_metrics(masks, [s.truth for s in samples], reduction="per-image")
    assert calibrated["per-image"] == pytest.approx(expected)
    assert calibrated["per-image"]["dice"] < plain["per-image"]["dice"]


def test_agreement_of_identical_and_disjoint_masks() -> None:
    a = np.zeros((8, 8), np.uint8)
    a[:4] = 1
    p = np.full((4, 4), 0.7, np.float32)
    same = agreement([a], [a], [p], [p])
    assert same["dice"] == 1.0 and same["mean_abs_prob_diff"] == 0.0
    other = agreement([1 - a], [a], [p * 0], [p])
    assert other["dice"] == 0.0 and other["mean_abs_prob_diff"] == pytest.approx(0.7)


def test_pooled_agreement_is_not_sunk_by_a_tiny_blob_on_an_empty_slice() -> None:
    """Tumour-free slices: a 1-pixel blob where the reference is empty is Dice 0 per image, not pooled."""
    big = np.zeros((16, 16), np.uint8)
    big[:8] = 1  # 128 lesion pixels, identical in both
    empty, blob = np.zeros_like(big), np.zeros_like(big)
    blob[15, 15] = 1
    p = np.zeros((4, 4), np.float32)
    res = agreement([big, blob, empty], [big, empty, empty], [p] * 3, [p] * 3)
    assert res["dice"] == pytest.approx((1 + 0 + 1) / 3)  # empty-vs-empty counts as agreement
    assert res["pooled_dice"] == pytest.approx(2 * 128 / (2 * 128 + 1))
    assert res["empty_mismatches"] == 1


def test_pick_pair_prefers_keras_float_and_int8() -> None:
    names = [FLOAT_NAME, "m_float32", "m_int8", "m_fp16"]
    quant = {"m_float32": "float32", "m_int8": "int8", "m_fp16": "float16"}
    assert pick_pair(names, quant) == (FLOAT_NAME, "m_int8")
    assert pick_pair(["a"], {}) is None


@pytest.fixture(scope="module")
def tta_result(tiny_tflites: dict[str, Path], tiny_pairs: Path, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("acc_tta")
    res = evaluate_accuracy(None, [tiny_tflites["int8"]], tiny_pairs, out=out, worst=1, threads=1, tta="flips")
    res["_out"] = out
    return res


def test_tta_entry_scores_the_flipped_masks(tta_result: dict, tiny_tflites: dict[str, Path], tiny_pairs: Path) -> None:
    """Dice with flips equals the TTA Segmenter's own masks scored by hand; without flips, the plain entry."""
    from munet.edge.runtime import Segmenter

    samples = load_pairs(tiny_pairs)
    truths = [s.truth for s in samples]
    seg = Segmenter(tiny_tflites["int8"], threads=1, tta="flips")
    outs = [seg.segment(s.image) for s in samples]
    entry = tta_result["models"]["tiny_int8"]
    tta = entry["tta"]
    assert tta["tta"] == "flips" and tta["passes"] == 4
    expected = compute_metrics([o.mask for o in outs], truths, reduction="per-image")
    assert tta["per-image"] == pytest.approx(expected)
    assert tta["dice"] == pytest.approx(expected["dice"])
    assert tta["dice_plain"] == pytest.approx(entry["per-image"]["dice"])  # the same images without flips
    assert tta["dice_gain"] == pytest.approx(tta["dice"] - tta["dice_plain"])
    assert tta["ms_per_image"] > 0 and tta["ms_per_image_plain"] > 0
    bad = [
        compute_metrics([o.mask], [t], reduction="per-image")["dice"] < BAD_DICE
        for o, t in zip(outs, truths, strict=True)
    ]
    assert tta["bad_images"] == sum(bad) and tta["bad_share_overall"] == pytest.approx(np.mean(bad))
    assert tta["uncertainty_auroc"] == auroc([o.uncertainty for o in outs], bad)
    assert tta["top_images"] == 1  # ceil(10 % of 4)
    top = max(range(len(outs)), key=lambda i: outs[i].uncertainty)
    assert tta["most_uncertain"][0]["image"] == samples[top].name
    assert tta["bad_share_in_top"] == float(bad[top])


def test_tta_report_section_and_errors(tta_result: dict, tiny_tflites: dict[str, Path], tiny_pairs: Path) -> None:
    out: Path = tta_result["_out"]
    data = json.loads((out / "accuracy.json").read_text())
    assert data["models"]["tiny_int8"]["tta"]["passes"] == 4
    md = (out / "accuracy.md").read_text()
    assert "## Test-time flips (flips: 4 passes per image)" in md and "AUROC score" in md
    assert "| tiny_int8 |" in md.split("## Test-time flips")[1]
    plain = evaluate_accuracy(None, [tiny_tflites["int8"]], tiny_pairs, worst=1, threads=1)
    assert "tta" not in plain["models"]["tiny_int8"] and "Test-time flips" not in accuracy_markdown(plain)
    with pytest.raises(MunetError, match="choose one of none, hflip, flips"):
        evaluate_accuracy(None, [tiny_tflites["int8"]], tiny_pairs, tta="rot90")


def test_bench_cli_tta_choices_match_the_edge() -> None:
    from munet.benchmarks.cli import TTA_CHOICES as BENCH_CHOICES
    from munet.edge.tta import TTA_CHOICES

    assert BENCH_CHOICES == TTA_CHOICES


def test_bench_cli_accuracy_tta(tiny_tflites: dict[str, Path], tiny_pairs: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from munet.benchmarks.cli import main

    args = ["accuracy", "--tflite", str(tiny_tflites["int8"]), "--data", str(tiny_pairs), "--out", str(tmp_path)]
    res = CliRunner().invoke(main, [*args, "--limit", "2", "--threads", "1", "--tta", "hflip"])
    assert res.exit_code == 0, res.output
    assert "## Test-time flips (hflip: 2 passes per image)" in res.output
    assert json.loads((tmp_path / "accuracy.json").read_text())["models"]["tiny_int8"]["tta"]["passes"] == 2
    res = CliRunner().invoke(main, [*args, "--tta", "rot90"])
    assert res.exit_code == 2 and "'rot90' is not one of 'none', 'hflip', 'flips'" in res.output


def test_lesion_split_separates_lesion_dice_from_false_lesions_on_empty_images() -> None:
    empty = np.zeros((8, 8), bool)
    lesion = empty.copy()
    lesion[2:4, 2:4] = True
    speck = empty.copy()
    speck[0, 0] = True
    half = empty.copy()
    half[2:4, 2:3] = True
    # truths: two lesion images, three lesion-free; predictions: exact, half, speck, empty, 4-px false blob
    truths = [lesion, lesion, empty, empty, empty]
    preds = [lesion, half, speck, empty, lesion]
    s = lesion_split(preds, truths)
    assert (s["lesion_images"], s["lesion_free_images"]) == (2, 3)
    assert s["dice_lesion_images"] == pytest.approx((1.0 + 2 * 2 / (2 + 4)) / 2)
    assert s["false_positive_share"] == pytest.approx(2 / 3)
    assert s["false_positive_px_median"] == pytest.approx(2.5)
    none = lesion_split([lesion], [lesion])
    assert none["false_positive_share"] is None and none["dice_lesion_images"] == 1.0


def test_a_bad_keras_model_is_a_one_line_error(tmp_path: Path) -> None:
    """A missing file, an empty run folder and a non-Keras file each name the file and the fix."""

    def score(keras_model: Path) -> None:
        evaluate_accuracy(keras_model, [], [])

    with pytest.raises(MunetError, match=r"folder without best\.keras or last\.keras; pass a \.keras file or a run"):
        score(tmp_path)  # a folder without best.keras
    with pytest.raises(MunetError, match=r"nope\.keras: no such model file or run folder"):
        score(tmp_path / "nope.keras")
    bad = tmp_path / "m.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(MunetError, match=r"m\.keras: not a Keras 3 \.keras file \(not a zip archive\)") as err:
        score(bad)
    assert "\n" not in str(err.value)
    with pytest.raises(MunetError, match="not a Keras 3 .keras file; pass the .keras checkpoint"):
        score(bad.rename(tmp_path / "m.tflite"))


@pytest.mark.parametrize("folder", ["isic-edge/shipped", "brain-edge/shipped"])
def test_the_committed_report_is_what_accuracy_markdown_renders(folder: str) -> None:
    """The report renders from its JSON alone, byte for byte as committed (a formatting change shows up here)."""
    root = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / folder
    assert accuracy_markdown(json.loads((root / "accuracy.json").read_text())) == (root / "accuracy.md").read_text()
