"""The reports' verdicts, from result data: did a comparison row learn (and why not), does a recipe lever leave its
baseline's seed range, how far a decoder is from the paper's. The renderers only format."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from munet.errors import InputError

#: How far (0..1 Dice) a row's float32 per-image Dice must lie above both trivial predictions to count as learned.
LEARNED_MARGIN = 0.20
#: The trivial predictions a row is judged against: every mask empty / every mask full.
TRIVIAL = ("all-empty", "all-full")
#: A row that did not learn and whose Dice lies within this of a trivial prediction is reported as that prediction.
NEAR_TRIVIAL = 0.03


def is_learned(row: dict[str, Any], trivial: dict[str, float]) -> bool:
    """Whether a row's float32 per-image Dice is at least :data:`LEARNED_MARGIN` above both trivial predictions
    (a failed row, or one without a float32 Dice, did not learn)."""
    dice = (row.get("float32") or {}).get("dice")
    return bool(not row.get("error") and dice is not None and dice >= max(trivial[k] for k in TRIVIAL) + LEARNED_MARGIN)


@dataclass(frozen=True)
class Learned:
    """A row's stored judgement, why it did not learn (given the trivial Dice) and whether it ended early."""

    learned: bool
    why: str | None = None
    stopped: str | None = None


def judge_learned(row: dict[str, Any], trivial: dict[str, float] | None = None, epochs: int | None = None) -> Learned:
    """The row's stored ``learned``; why not, given the ``trivial`` Dice: "failed", "≈ all-empty" / "≈ all-full"
    (within :data:`NEAR_TRIVIAL` of it) or "short" (above, by too little); and "collapsed/stopped at epoch 7 of 15"
    for a row whose training ended before the budget's ``epochs``."""
    dice, done, why, stopped = (row.get("float32") or {}).get("dice"), row.get("epochs"), None, None
    if trivial and not row["learned"]:
        why = "failed" if row.get("error") or dice is None else "short"
        if why == "short":
            name, value = min(((k, trivial[k]) for k in TRIVIAL), key=lambda kv: abs(dice - kv[1]))
            why = f"≈ {name}" if abs(dice - value) <= NEAR_TRIVIAL else why
    if epochs and done and not row.get("error") and int(done) < int(epochs):
        stopped = f"{'collapsed' if row.get('stopped') else 'stopped'} at epoch {int(done)} of {int(epochs)}"
    return Learned(bool(row["learned"]), why, stopped)


def has_lesion_free(result: dict[str, Any]) -> bool:
    """Whether a comparison's rows split out lesion-free validation images (brain MRI)."""
    return any((r.get("lesion_split") or {}).get("lesion_free_images") for r in result.get("models", []))


#: Keys that do not make a recipe point a different recipe: the seed (baseline repeats) and where weights lie.
NOT_A_LEVER = ("seed", "encoder_weights")


def lever(point: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """The overrides in which ``point`` differs from the baseline point ``base`` (seed and weight paths aside)."""
    o, b = point.get("overrides", {}), base.get("overrides", {})
    return {k: v for k, v in o.items() if k not in NOT_A_LEVER and b.get(k) != v}


def reference(point: dict[str, Any], points: list[dict[str, Any]]) -> dict[str, Any]:
    """The baseline ``point`` is judged against: ``<base>`` for ``<base>+<lever>[-seedN]``, else the first point."""
    name = str(point.get("name", ""))
    base = {p.get("name"): p for p in points}.get(name.split("+", 1)[0]) if "+" in name else None
    return points[0] if base is None else base


@dataclass(frozen=True)
class SeedRange:
    """The int8 Dice of a baseline over its seed repeats."""

    mean: float
    low: float
    high: float
    seeds: int

    def outside(self, dice: float) -> str:
        """ "higher" / "lower" when ``dice`` lies outside the range (a resolved effect), else "no"."""
        return "higher" if dice > self.high else "lower" if dice < self.low else "no"


@dataclass(frozen=True)
class LeverRow:
    """A point against its baseline: ``delta`` (int8 Dice - the baseline's seed mean), ``verdict``; None: a baseline."""

    point: dict[str, Any]
    reference: dict[str, Any]
    lever: dict[str, Any]
    delta: float | None
    verdict: str | None


@dataclass(frozen=True)
class RecipeStudy:
    """Every point judged, each baseline's seed range by name, the levers over seeds (name, mean, seeds, Δ) and
    whether the points score lesion-free images apart (brain MRI)."""

    rows: list[LeverRow]
    ranges: dict[str, SeedRange]
    repeated: list[tuple[str, float, int, float]]
    lesion_free: bool


def recipe_study(points: list[dict[str, Any]]) -> RecipeStudy:
    """Judge each point's lever against the seed range of its baseline (:func:`reference`)."""
    ranges: dict[str, SeedRange] = {}

    def spread(ref: dict[str, Any]) -> SeedRange:
        if ref["name"] not in ranges:
            dice = [p["dice_int8"] for p in points if not lever(p, ref) and not lever(ref, p)]  # its seed repeats
            ranges[ref["name"]] = SeedRange(statistics.fmean(dice), min(dice), max(dice), len(dice))
        return ranges[ref["name"]]

    rows, groups = [], {}  # groups: a lever's seeds, the points named <lever> and <lever>-seedN
    for p in points:
        ref = reference(p, points)
        diff, r = lever(p, ref), spread(ref)
        dice = p["dice_int8"]
        rows.append(LeverRow(p, ref, diff, dice - r.mean if diff else None, r.outside(dice) if diff else None))
        if diff:
            groups.setdefault(str(p.get("name", "")).rsplit("-seed", 1)[0], []).append(dice)
    repeated = [
        (name, statistics.fmean(d), len(d), statistics.fmean(d) - spread(reference({"name": name}, points)).mean)
        for name, d in groups.items()
        if len(d) > 1
    ]
    return RecipeStudy(rows, ranges, repeated, any(p.get("fp_share_int8") is not None for p in points))


def speedup(point: dict[str, Any], points: list[dict[str, Any]]) -> tuple[float, float] | None:
    """How many times faster ``point`` runs than the paper (transposed-conv) decoder at 1 and 2 threads."""
    paper = next((p for p in points if p.get("decoder", {}).get("decoder_upsample") == "transpose"), None)
    if paper is None or not point.get("latency_ms_1t") or not point.get("latency_ms_2t"):
        return None
    return paper["latency_ms_1t"] / point["latency_ms_1t"], paper["latency_ms_2t"] / point["latency_ms_2t"]


def load(path: Path, missing_ok: bool = False) -> dict[str, Any] | None:
    """A results JSON file, with a one-line error (``missing_ok``: None when there is no such file)."""
    if missing_ok and not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable results JSON ({exc}); rerun the benchmark") from None
