"""Seeded, group-preserving selections of pairs: a train/validation split, a sample, a sample as a folder (TF-free)."""

from __future__ import annotations

import random
import shutil
from collections.abc import Sequence
from pathlib import Path

from munet.data.layouts import Pair, find_pairs
from munet.errors import InputError


def split_pairs(pairs: Sequence[Pair], val_fraction: float, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """Split into (train, val) by group: all pairs of a group (a patient) land on the same side.

    Groups are shuffled with ``seed`` and moved to validation until at least ``val_fraction`` of the pairs
    are there; both sides are non-empty whenever there are two or more groups.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise InputError(f"--val-split {val_fraction}: must be in [0, 1)")
    if val_fraction == 0.0 or not pairs:
        return list(pairs), []
    groups: dict[str, list[Pair]] = {}
    for pair in pairs:
        groups.setdefault(pair.group, []).append(pair)
    if len(groups) < 2:
        raise InputError(
            f"{pairs[0].image.parent}: all {len(pairs)} pairs belong to one group ({pairs[0].group}); "
            "a group-aware validation split needs at least two, pass --val-data instead"
        )
    names = sorted(groups)
    random.Random(seed).shuffle(names)
    target = val_fraction * len(pairs)
    val_names: set[str] = set()
    count = 0
    for name in names[:-1]:  # keep at least one group for training
        if count >= target:
            break
        val_names.add(name)
        count += len(groups[name])
    train = [p for p in pairs if p.group not in val_names]
    val = [p for p in pairs if p.group in val_names]
    return train, val


def sample_pairs(pairs: Sequence[Pair], limit: int | None, seed: int) -> list[Pair]:
    """``limit`` pairs drawn with ``seed``, sorted by image path (all of them when ``limit`` is falsy).

    A seeded sample, not the first ``limit`` files: ISIC's file order follows its archive history.
    """
    if not limit:
        return list(pairs)
    return sorted(random.Random(seed).sample(list(pairs), limit), key=lambda p: str(p.image))


def subset_folder(pairs: Sequence[Pair], limit: int | None, seed: int, dest: Path) -> tuple[Path, list[Pair]]:
    """:func:`sample_pairs` linked into ``dest/images`` + ``dest/masks`` (the "folder" layout; copies where links
    fail), and the pairs chosen. ``dest`` is emptied first."""
    chosen = sample_pairs(pairs, limit, seed)
    if dest.exists():
        shutil.rmtree(dest)
    for sub in ("images", "masks"):
        (dest / sub).mkdir(parents=True)
    for p in chosen:
        if p.mask is None or p.mask == p.image:
            raise InputError(f"{p.image}: --train-limit/--val-limit need separate image and mask files")
        img, msk = dest / "images" / p.image.name, dest / "masks" / (p.image.stem + p.mask.suffix)
        for src, dst in ((p.image, img), (p.mask, msk)):
            try:
                dst.symlink_to(src.resolve())
            except OSError:
                shutil.copyfile(src, dst)
    return dest, chosen


def sample_folder(data: Path, limit: int | None, dest: Path, seed: int = 0) -> Path:
    """``data`` itself, or ``dest`` holding links to a seeded sample of ``limit`` of its pairs (any layout)."""
    if not limit:
        return data
    pairs = find_pairs(data)
    return subset_folder(pairs, limit, seed, dest)[0] if limit < len(pairs) else data
