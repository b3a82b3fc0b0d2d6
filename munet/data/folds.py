"""Fold files for K-fold cross-validation: images assigned to folds by group (patient), written and read back.

A fold file is a CSV ``name,group,fold`` (``benchmarks/folds/<set>.csv``), made once by :func:`make_folds` from
the pooled pairs of the data folders (:func:`pooled_pairs`) and read back by :func:`read_folds`; a group never
spans two folds, so no patient's slices fall on both sides. :func:`assign_pairs` maps the pairs onto it (TF-free).
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from munet.atomic import write_text_atomic
from munet.data.layouts import Pair, find_pairs
from munet.errors import InputError

FOLD_COLUMNS = ("name", "group", "fold")


@dataclass(frozen=True)
class FoldItem:
    """One image of the pooled development data: its name (image stem), group (patient) and fold."""

    name: str
    group: str
    fold: int


def make_folds(pairs: Sequence[Pair], k: int = 5, seed: int = 0) -> list[FoldItem]:
    """Assign the groups of ``pairs`` (:class:`~munet.data.Pair`) to ``k`` folds, balanced by image count.

    Groups are shuffled with ``seed``, then placed largest first into the fold holding the fewest images (ties: the
    lower fold), so the result depends only on the names, ``k`` and ``seed``. Sorted by fold, then name.
    """
    if k < 2:
        raise InputError(f"--k {k}: cross-validation needs at least 2 folds")
    groups: dict[str, list[str]] = {}
    for p in pairs:
        groups.setdefault(p.group, []).append(Path(p.image).stem)
    if len(groups) < k:
        raise InputError(f"{len(groups)} groups cannot fill {k} folds; use --k {max(2, len(groups))} or more data")
    order = sorted(groups)
    random.Random(seed).shuffle(order)
    order.sort(key=lambda g: -len(groups[g]))  # stable: equal sizes keep the shuffled order
    counts = [0] * k
    items = []
    for g in order:
        fold = counts.index(min(counts))
        counts[fold] += len(groups[g])
        items += [FoldItem(name, g, fold) for name in groups[g]]
    return sorted(items, key=lambda i: (i.fold, i.name))


def folds_csv(items: Sequence[FoldItem]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(FOLD_COLUMNS)
    writer.writerows((i.name, i.group, i.fold) for i in items)
    return buf.getvalue()


def write_folds(path: str | Path, items: Sequence[FoldItem], force: bool = False) -> Path:
    """Write the fold file (atomically); an existing file with another assignment is refused unless ``force``."""
    path, text = Path(path), folds_csv(items)
    if path.is_file() and path.read_text() != text and not force:
        raise InputError(f"{path}: exists with another assignment; results made on it would no longer pair (--force)")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
    return path


def read_folds(path: str | Path) -> list[FoldItem]:
    """The fold file's items; one-line :class:`InputError` for a missing or malformed file, a duplicate name, a
    group split over two folds, or a fold number missing from ``0..K-1``."""
    path = Path(path)
    fix = "make it with munet-bench cv-folds"
    try:
        rows = list(csv.reader(path.read_text().splitlines()))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: unreadable fold file ({exc.__class__.__name__}); {fix}") from None
    if not rows or tuple(rows[0]) != FOLD_COLUMNS:
        raise InputError(f"{path}: a fold file starts with the header {','.join(FOLD_COLUMNS)}; {fix}")
    items, seen, fold_of = [], set(), {}
    for line, row in enumerate(rows[1:], 2):
        if len(row) != 3 or not row[0] or not row[1] or not row[2].strip().isdigit():
            raise InputError(f"{path}:{line}: expected name,group,fold (fold a number), got {','.join(row)!r}")
        item = FoldItem(row[0], row[1], int(row[2]))
        if item.name in seen:
            raise InputError(f"{path}:{line}: {item.name} is listed twice")
        if fold_of.setdefault(item.group, item.fold) != item.fold:
            raise InputError(f"{path}:{line}: group {item.group} is in folds {fold_of[item.group]} and {item.fold}")
        seen.add(item.name)
        items.append(item)
    folds = sorted({i.fold for i in items})
    if len(folds) < 2 or folds != list(range(len(folds))):
        raise InputError(f"{path}: folds {folds} are not 0..K-1 with K >= 2 (a fold is missing); {fix}")
    return items


def assign_pairs(pairs: Sequence[Pair], items: Sequence[FoldItem], where: str) -> dict[int, list[Pair]]:
    """The pairs of each fold; every image must be in the fold file and every listed name in the data."""
    by_name = {i.name: i for i in items}
    names = [Path(p.image).stem for p in pairs]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise InputError(f"{where}: image name {dup} occurs twice in the pooled data folders")
    missing = [n for n in names if n not in by_name]
    if missing:
        raise InputError(f"{where}: {len(missing)} image(s) are in no fold (first: {missing[0]}); remake the folds")
    absent = sorted(set(by_name) - set(names))
    if absent:
        raise InputError(f"{where}: {len(absent)} listed image(s) are not in the data (first: {absent[0]})")
    folds: dict[int, list[Pair]] = {f: [] for f in sorted({i.fold for i in items})}
    for p, n in zip(pairs, names, strict=True):
        folds[by_name[n].fold].append(p)
    return folds


def pooled_pairs(data: Sequence[str | Path]) -> list[Pair]:
    """All image/mask pairs of the ``data`` folders (any layout ``find_pairs`` knows), pooled."""
    if not data:
        raise InputError("cross-validation needs at least one data folder")
    return [p for d in data for p in find_pairs(d)]
