"""munet.benchmarks.analysis: the report verdicts, computed from result data (no Markdown)."""

from __future__ import annotations

from pathlib import Path

import pytest

from munet.benchmarks import analysis as an
from munet.errors import InputError

TRIVIAL = {"all-empty": 0.6636, "all-full": 0.0127}  # brain MRI: 66 % tumour-free slices


def test_learned_flips_at_the_margin_above_the_higher_trivial_prediction() -> None:
    at = max(TRIVIAL.values()) + an.LEARNED_MARGIN
    assert an.is_learned({"float32": {"dice": at}}, TRIVIAL)
    assert not an.is_learned({"float32": {"dice": at - 1e-9}}, TRIVIAL)
    assert not an.is_learned({"float32": {"dice": 0.99}, "error": "oom"}, TRIVIAL)
    assert not an.is_learned({"float32": None}, TRIVIAL)


def test_why_not_learned_names_the_nearest_trivial_prediction_within_its_band() -> None:
    def why(row: dict, trivial: dict | None = TRIVIAL) -> str | None:
        return an.judge_learned(row | {"learned": False}, trivial).why

    near = TRIVIAL["all-empty"] + an.NEAR_TRIVIAL
    assert why({"float32": {"dice": near - 1e-9}}) == "≈ all-empty"
    assert why({"float32": {"dice": near + 1e-6}}) == "short"
    assert why({"float32": {"dice": 0.02}}) == "≈ all-full"
    assert why({"float32": {"dice": 0.02}}, None) is None  # no trivial values: no reason given
    assert why({"error": "oom"}) == "failed" and why({"float32": None}) == "failed"


def test_judge_learned_carries_the_stored_verdict_its_reason_and_an_early_stop() -> None:
    row = {"float32": {"dice": 0.0142}, "learned": False, "epochs": 7, "stopped": "collapse"}
    assert an.judge_learned(row, TRIVIAL, 15) == an.Learned(False, "≈ all-full", "collapsed at epoch 7 of 15")
    assert an.judge_learned(row, None, 7) == an.Learned(False, None, None)  # no trivial values, full budget
    assert an.judge_learned(row | {"learned": True, "stopped": None}, TRIVIAL, 15) == an.Learned(
        True, None, "stopped at epoch 7 of 15"
    )
    assert an.judge_learned({"epochs": 7, "error": "x", "learned": False}, None, 15).stopped is None  # failed


def test_lesion_split_is_shown_only_where_the_set_has_lesion_free_images() -> None:
    split = {"lesion_free_images": 73, "dice_lesion_images": 0.62, "false_positive_share": 0.01}
    assert an.has_lesion_free({"models": [{}, {"lesion_split": split}]})
    assert not an.has_lesion_free({"models": [{"lesion_split": split | {"lesion_free_images": 0}}]})


def _point(name: str, dice: float, **overrides) -> dict:
    return {"name": name, "overrides": {"preset": "edge", **overrides}, "dice_int8": dice}


def test_a_lever_counts_only_outside_its_baselines_seed_range() -> None:
    points = [_point("edge", 0.860), _point("edge-seed1", 0.866, seed=1), _point("ema", 0.8661, ema=0.99)]
    points += [
        _point("bce", 0.866, loss="bce"),
        _point("low", 0.8599, ema=0.9),
        _point("ema-seed1", 0.868, ema=0.99, seed=1),
    ]
    study = an.recipe_study(points)
    (name, seeds), *others = study.ranges.items()
    assert name == "edge" and not others and (seeds.low, seeds.high, seeds.seeds) == (0.860, 0.866, 2)
    assert seeds.mean == pytest.approx(0.863) and seeds.outside(0.866) == "no" and seeds.outside(0.8661) == "higher"
    verdicts = {r.point["name"]: r.verdict for r in study.rows}
    assert verdicts == {
        "edge": None,
        "edge-seed1": None,
        "ema": "higher",
        "bce": "no",
        "low": "lower",
        "ema-seed1": "higher",
    }
    assert study.rows[2].delta == pytest.approx(0.0031) and study.rows[2].lever == {"ema": 0.99}
    assert [(n, k) for n, _, k, _ in study.repeated] == [("ema", 2)]
    assert study.repeated[0][3] == pytest.approx((0.8661 + 0.868) / 2 - 0.863)


def test_a_round_two_point_is_judged_against_its_named_base() -> None:
    points = [_point("edge", 0.86), _point("ema", 0.87, ema=0.99), _point("ema+bce", 0.869, ema=0.99, loss="bce")]
    assert an.reference(points[2], points)["name"] == "ema"
    assert an.reference(_point("gone+bce", 0.8), points)["name"] == "edge"  # no such base: the first point
    row = an.recipe_study(points).rows[2]
    assert row.lever == {"loss": "bce"} and row.verdict == "lower" and row.delta == pytest.approx(-0.001)
    assert an.lever(_point("x", 0, seed=3, encoder_weights="w"), points[0]) == {}  # seeds and weights are no lever


def test_speedup_against_the_paper_decoder() -> None:
    paper = {"decoder": {"decoder_upsample": "transpose"}, "latency_ms_1t": 4.0, "latency_ms_2t": 3.0}
    edge = {"decoder": {"decoder_upsample": "nearest"}, "latency_ms_1t": 1.0, "latency_ms_2t": 1.5}
    assert an.speedup(edge, [paper, edge]) == (4.0, 2.0)
    assert an.speedup(edge, [edge]) is None and an.speedup(edge | {"latency_ms_2t": None}, [paper]) is None


def test_load_reads_results_json_with_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    assert an.load(path, missing_ok=True) is None
    with pytest.raises(InputError, match="unreadable results JSON"):
        an.load(path)
    path.write_text("{")
    with pytest.raises(InputError, match="unreadable results JSON"):
        an.load(path, missing_ok=True)
    path.write_text('{"a": 1}')
    assert an.load(path) == {"a": 1}
