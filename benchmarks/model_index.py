"""The measured numbers of the bundled models in ``edge/models/index.json`` (what ``munet-run --list-models``
shows), written from committed results like every generated README block: no hand-typed numbers.

Each bundled model names its evidence (:data:`EVIDENCE`): the cross-validation of its recipe (the point's mean ±
sd of the sweep's headline metric over folds, int8 as shipped); the latency pass :data:`TIMED` timed the shipped
files (end-to-end median at one thread, the CPU named).
"""

from __future__ import annotations

import json
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


#: Each bundled model's cross-validation result folder (cv.json, under ``benchmarks/results``) and its point that is
#: the shipped recipe.
EVIDENCE = {"skin": ("cv-isic", "edge"), "brain": ("cv-brain", "lesion_share")}
#: The latency result folder that timed the shipped files, each under its bundled name.
TIMED = "bundled"


def measured(results: Path, name: str) -> dict[str, Any] | None:
    """The ``measured`` entry of the bundled model ``name`` (None without evidence or until every fold of its
    cross-validation is in)."""
    if name not in EVIDENCE:
        return None
    folder, recipe = EVIDENCE[name]
    cv = load(results / folder / "cv.json", missing_ok=True) or {}
    metric = cv.get("config", {}).get("headline", "dice")
    point = next((p for p in cv.get("summary", []) if p.get("point") == recipe), None)
    stat = (point or {}).get("metrics", {}).get(metric)
    if stat is None or stat.get("folds") != cv.get("config", {}).get("k"):
        return None  # no estimate until every fold is in
    entry: dict[str, Any] = {
        "metric": LABELS.get(metric, metric),
        "mean": round(stat["mean"], 6),  # 6 digits: shown rounded to 3 exactly as the CV tables show them
        "sd": round(stat["sd"], 6),
        "folds": stat["folds"],
        "cv_source": f"benchmarks/results/{folder}",
    }
    lat = load(results / TIMED / "latency.json", missing_ok=True) or {}
    if (ms := e2e_ms(lat.get("variants", {}).get(name, {}), "1")) is not None:
        entry |= {
            "ms": round(ms, 2),
            "threads": 1,
            "cpu": lat.get("machine", {}).get("cpu", "?"),
            "ms_source": f"benchmarks/results/{TIMED}, {str(lat.get('date', ''))[:10]}",
        }
        if "int8" in lat.get("machine", {}):  # recorded since 2026-12-07
            entry["cpu_int8"] = lat["machine"]["int8"]
    return entry


def update_index(index: Path | str, results: Path | str, check: bool = False) -> bool:
    """Write each bundled model's ``measured`` entry into ``index``; with ``check`` only report whether it is
    up to date (True) without writing."""
    index, results = Path(index), Path(results)
    if (doc := load(index, missing_ok=True)) is None:
        raise InputError(f"{index}: no index of bundled models")
    new = json.loads(json.dumps(doc))
    for name, entry in new.get("models", {}).items():
        entry.pop("measured", None)
        if (value := measured(results, name)) is not None:
            entry["measured"] = value
    if new == doc:
        return True
    if not check:
        write_text_atomic(index, json.dumps(new, indent=2, ensure_ascii=False) + "\n")
    return False
