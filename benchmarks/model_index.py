"""The measured numbers of the bundled models in ``edge/models/index.json`` (what ``munet-run --list-models``
shows), written from committed results like every generated README block: no hand-typed numbers.

Each bundled model names its evidence (:data:`EVIDENCE`): the cross-validation of its recipe (the point's mean ±
sd of the headline metric over folds, int8 as shipped) and a latency pass that timed the shipped file (end-to-end
median at one thread, the CPU named).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from munet.atomic import write_text_atomic
from munet.benchmarks.analysis import e2e_ms, load
from munet.errors import InputError

#: The cross-validation metrics as the README and the index name them.
LABELS = {
    "dice": "per-image Dice",
    "jaccard": "Jaccard",
    "isic_jaccard": "thresholded Jaccard",
    "patient_dice": "per-patient volume Dice",
    "lesion_dice": "Dice on tumour slices",
    "false_positive_share": "tumour-free slices flagged",
}


@dataclass(frozen=True)
class Evidence:
    """Where a bundled model's numbers come from, relative to ``benchmarks/results``."""

    cv: str  # a cross-validation result folder (cv.json)
    point: str  # its point that is the shipped recipe
    metric: str  # the headline metric of that set
    latency: str  # a latency result folder (latency.json) that timed the shipped file
    variant: str  # the shipped file's name in it


EVIDENCE = {
    "skin": Evidence("cv-isic", "edge", "dice", "bundled", "skin"),
    "brain": Evidence("cv-brain", "lesion_share", "patient_dice", "bundled", "brain"),
}


def measured(results: Path, ev: Evidence, label: str = "benchmarks/results") -> dict[str, Any] | None:
    """The ``measured`` entry of one bundled model (None until every fold of its cross-validation is in);
    ``label`` is how the entry names the results folder."""
    cv = load(results / ev.cv / "cv.json", missing_ok=True)
    point = next((p for p in (cv or {}).get("summary", []) if p.get("point") == ev.point), None)
    stat = (point or {}).get("metrics", {}).get(ev.metric)
    if stat is None or stat.get("folds") != (cv or {}).get("config", {}).get("k"):
        return None  # no estimate until every fold is in
    entry: dict[str, Any] = {
        "metric": LABELS.get(ev.metric, ev.metric),
        "mean": round(stat["mean"], 6),  # 6 digits: shown rounded to 3 exactly as the CV tables show them
        "sd": round(stat["sd"], 6),
        "folds": stat["folds"],
        "cv_source": f"{label}/{ev.cv}",
    }
    lat = load(results / ev.latency / "latency.json", missing_ok=True) or {}
    if (ms := e2e_ms(lat.get("variants", {}).get(ev.variant, {}), "1")) is not None:
        entry |= {
            "ms": round(ms, 2),
            "threads": 1,
            "cpu": lat.get("machine", {}).get("cpu", "?"),
            "ms_source": f"{label}/{ev.latency}, {str(lat.get('date', ''))[:10]}",
        }
        if "int8" in lat.get("machine", {}):  # recorded since 2026-12-07
            entry["cpu_int8"] = lat["machine"]["int8"]
    return entry


def update_index(index: str | os.PathLike[str], results: str | os.PathLike[str], check: bool = False) -> bool:
    """Write each bundled model's ``measured`` entry into ``index``; with ``check`` only report whether it is
    up to date (True) without writing."""
    index, results = Path(index), Path(results)
    if (doc := load(index, missing_ok=True)) is None:
        raise InputError(f"{index}: no index of bundled models")
    new = json.loads(json.dumps(doc))
    for name, entry in new.get("models", {}).items():
        ev = EVIDENCE.get(name)
        value = measured(results, ev) if ev is not None else None
        if value is None:
            entry.pop("measured", None)
        else:
            entry["measured"] = value
    if new == doc:
        return True
    if not check:
        write_text_atomic(index, json.dumps(new, indent=2, ensure_ascii=False) + "\n")
    return False
