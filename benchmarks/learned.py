"""Did a row of the comparison learn? The trivial predictions' Dice on its validation set, and ``--annotate``.

A row counts as learned when its float32 per-image Dice lies :data:`~munet.benchmarks.analysis.LEARNED_MARGIN` above
both trivial predictions (every mask empty, every mask full) scored the same way (:func:`trivial_dice`; the verdict:
:func:`munet.benchmarks.analysis.is_learned`). ``munet-bench compare --annotate compare_<name>.json`` adds that
judgement to a finished comparison (:func:`annotate`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from munet.benchmarks.analysis import TRIVIAL, is_learned
from munet.data import subset_folder
from munet.errors import InputError


def trivial_dice(truths: Sequence[Any]) -> dict[str, float]:
    """Per-image mean Dice (:func:`munet.edge.evaluate.evaluate`, the rows' scorer) of the trivial predictions.

    ``{"all-empty": ..., "all-full": ...}``: every mask predicted empty, every mask predicted full. The scorer gives
    an empty prediction on an empty truth Dice 1 ("nothing to get wrong"), and 0 on any non-empty truth. So on
    brain MRI, where most slices are tumour-free, "all-empty" scores the share of tumour-free slices (e.g. 0.66),
    not 0; "all-full" scores 0 on those slices and the lesion's area share on the others (and on ISIC, where every
    image holds a lesion, "all-empty" is 0 and "all-full" the mean of 2|lesion| / (|lesion| + |image|)).
    """
    import numpy as np

    from munet.edge.evaluate import evaluate

    masks = [np.asarray(t) for t in truths]
    if not masks:
        raise InputError("no validation masks to score the trivial predictions on")
    return {
        name: evaluate([np.full(m.shape, fill, dtype=bool) for m in masks], masks).per_image["dice"]
        for name, fill in zip(TRIVIAL, (False, True), strict=True)
    }


def mark_learned(result: dict[str, Any], trivial: dict[str, float]) -> dict[str, Any]:
    """``result`` with ``trivial`` stored and ``learned`` set on every row (in place; returned for chaining)."""
    result["trivial"] = {k: float(trivial[k]) for k in TRIVIAL}
    for row in result["models"]:
        row["learned"] = is_learned(row, result["trivial"])
    return result


def validation_pairs(
    result: dict[str, Any], scratch: Path, val_dir: Path | None = None, layout: str = "auto"
) -> list[Any]:
    """The validation pairs a finished comparison was scored on, from its ``val`` folder (or ``val_dir``).

    With limits, compare() linked seeded subsets in the "folder" layout, and ``val`` names that subset; a
    ``val_limit`` subset is drawn again with :func:`~munet.data.subset_folder` (same seed,
    linked under ``scratch``), which from the subset itself draws that subset. The count must match ``n_val``.
    """
    from munet.data import find_pairs

    budget = result.get("budget", {})
    folder = Path(val_dir if val_dir is not None else result["val"])
    if not folder.is_dir():
        what = "no such validation folder" if val_dir is not None else "the comparison's validation folder is gone"
        raise InputError(f"{folder}: {what}; pass the one it was made from with --data DIR (holding val/) or --val DIR")
    if val_dir is None and (budget.get("train_limit") or budget.get("val_limit")):
        layout = "folder"  # compare() linked its subsets in that layout
    pairs = find_pairs(folder, layout)
    limit = budget.get("val_limit")
    if limit and limit < len(pairs):
        _, pairs = subset_folder(pairs, limit, budget.get("seed", 0), scratch / "val")
    if result.get("n_val") is not None and len(pairs) != result["n_val"]:
        raise InputError(
            f"{folder}: {len(pairs)} validation pairs but the comparison scored {result['n_val']}; "
            "pass the folder it was made from with --data/--val"
        )
    return pairs


def annotate(path: Path, val_dir: Path | None = None, layout: str = "auto") -> dict[str, Any]:
    """Add ``trivial`` and every row's ``learned`` to a finished ``compare_<name>.json``; rewrite it and its .md."""
    import tempfile

    from munet.benchmarks.compare_report import compare_markdown
    from munet.benchmarks.records import write_json, write_markdown
    from munet.data import load_pair

    try:
        result = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable comparison JSON ({exc})") from None
    if not isinstance(result, dict) or not isinstance(result.get("models"), list) or "val" not in result:
        raise InputError(f"{path}: not a `munet-bench compare` result (no models/val keys)")
    with tempfile.TemporaryDirectory(prefix="munet-annotate-") as scratch:
        pairs = validation_pairs(result, Path(scratch), val_dir, layout)
        trivial = trivial_dice([load_pair(p)[1] for p in pairs])
    mark_learned(result, trivial)
    write_json(path, result)
    write_markdown(Path(path).with_suffix(".md"), compare_markdown(result))
    return result


#: Options that --annotate uses (where the validation set lies); any other given with it is refused.
_ANNOTATE_OPTIONS = ("annotate", "data", "val_dir", "layout")


def annotate_command(kw: dict[str, Any]) -> None:
    """``munet-bench compare --annotate FILE.json``: judge a finished comparison's rows without training."""
    import click
    from click.core import ParameterSource

    from munet.errors import MunetError

    ctx = click.get_current_context()
    given = [
        p.opts[0]
        for p in ctx.command.params
        if p.name not in _ANNOTATE_OPTIONS and ctx.get_parameter_source(p.name) not in (ParameterSource.DEFAULT, None)
    ]
    if given:
        raise MunetError(f"--annotate trains nothing; it takes only --data/--val/--layout, not {', '.join(given)}")
    val_dir = kw["val_dir"] or (kw["data"] / "val" if kw["data"] is not None else None)
    result = annotate(kw["annotate"], val_dir, kw["layout"])
    trivial = ", ".join(f"{k} {v:.4f}" for k, v in result["trivial"].items())
    not_learned = [r["label"] for r in result["models"] if not r["learned"]]
    click.echo(f"trivial Dice: {trivial}; not learned: {'; '.join(not_learned) or 'none'}")
    click.echo(f"wrote {kw['annotate']} and {kw['annotate'].with_suffix('.md')}")
