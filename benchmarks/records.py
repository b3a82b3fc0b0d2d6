"""Benchmark records: the Markdown side of every result (provenance block, atomic writer), overlay grids and plots.

Every committed result carries the exact command, the machine (CPU model and its int8 instructions, cores, library
versions) and the date (:func:`munet.device.provenance`), so a reader can tell where a number comes from and rerun it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from munet.atomic import atomic_path, write_text_atomic
from munet.device import describe_cpu


def write_markdown(path: str | os.PathLike[str], text: str) -> Path:
    """Write Markdown ``text`` atomically."""
    path = Path(path)
    write_text_atomic(path, text if text.endswith("\n") else text + "\n")
    return path


def provenance_markdown(prov: dict[str, Any]) -> str:
    """A short Markdown block: command, date, machine and versions."""
    m = prov.get("machine", {})
    cpu = describe_cpu(m["cpu"], m["int8"]) if "int8" in m else m.get("cpu", "?")  # older records lack int8
    versions = ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items())
    return (
        f"- Command: `{prov.get('command', '')}`\n"
        f"- Date (UTC): {prov.get('date', '')}\n"
        f"- Machine: {cpu}, {m.get('cores', '?')} cores ({m.get('usable_cores', '?')} usable), "
        f"{m.get('os', '')}, Python {m.get('python', '')}\n"
        f"- Versions: {versions}\n"
    )


# ----------------------------------------------------------------------------------------------------- images
def _tile(image: np.ndarray, text: str, size: tuple[int, int]) -> np.ndarray:
    """``image`` resized (nearest) to ``size`` (width, height), ``text`` on a black strip at the top."""
    import cv2

    tile = cv2.resize(image, size, interpolation=cv2.INTER_NEAREST)
    cv2.rectangle(tile, (0, 0), (size[0], 16), (0, 0, 0), -1)
    cv2.putText(tile, text[:40], (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def difference_tile(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where two masks disagree (BGR): magenta = only in ``a``, cyan = only in ``b``, gray = both."""
    a, b = a.astype(bool), b.astype(bool)
    out = np.zeros((*a.shape, 3), np.uint8)
    out[a & b] = (90, 90, 90)
    out[a & ~b] = (255, 0, 255)
    out[~a & b] = (255, 255, 0)
    return out


def overlay_grid(
    rows: Sequence[dict[str, Any]],
    path: str | os.PathLike[str],
    names: tuple[str, str] = ("float", "int8"),
    tile_height: int = 160,
) -> Path:
    """Write a PNG grid, one row per image: image, truth, ``names[0]`` mask, ``names[1]`` mask, difference.

    Each row is ``{"image": RGB uint8, "truth": mask, "a": mask, "b": mask, "title": str}`` with all masks at the
    image's size, drawn as ``munet-run`` draws them (:func:`munet.edge.outputs.overlay`). The difference column
    shows ``a`` vs ``b`` (:func:`difference_tile`).
    """
    import cv2

    from munet.edge.outputs import overlay
    from munet.imageio import write_png_atomic

    if not rows:
        raise ValueError("overlay_grid needs at least one row")
    lines = []
    for row in rows:
        img = row["image"]
        size = (max(1, round(img.shape[1] * tile_height / img.shape[0])), tile_height)
        tiles = [
            (cv2.cvtColor(img, cv2.COLOR_RGB2BGR), row.get("title", "image")),
            (overlay(img, row["truth"]), "truth"),
            (overlay(img, row["a"]), names[0]),
            (overlay(img, row["b"]), names[1]),
            (difference_tile(row["a"], row["b"]), f"{names[0]} vs {names[1]}"),
        ]
        lines.append(np.concatenate([_tile(t, text, size) for t, text in tiles], axis=1))
    width = max(line.shape[1] for line in lines)
    lines = [np.pad(line, ((0, 2), (0, width - line.shape[1]), (0, 0))) for line in lines]
    path = Path(path)
    write_png_atomic(path, np.concatenate(lines, axis=0))
    return path


def save_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Save a matplotlib figure as PNG atomically and close it."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    pyplot().close(fig)
    return path


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
