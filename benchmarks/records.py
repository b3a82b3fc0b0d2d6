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


def _cpu(machine: dict[str, Any]) -> str:
    """The CPU with its int8 instructions where the record lists them (older records do not)."""
    cpu = machine.get("cpu", "?")
    return describe_cpu(cpu, machine["int8"]) if "int8" in machine else cpu


def provenance_markdown(prov: dict[str, Any]) -> str:
    """A short Markdown block: command, date, machine and versions."""
    m = prov.get("machine", {})
    versions = ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items())
    return (
        f"- Command: `{prov.get('command', '')}`\n"
        f"- Date (UTC): {prov.get('date', '')}\n"
        f"- Machine: {_cpu(m)}, {m.get('cores', '?')} cores ({m.get('usable_cores', '?')} usable), "
        f"{m.get('os', '')}, Python {m.get('python', '')}\n"
        f"- Versions: {versions}\n"
    )


# ----------------------------------------------------------------------------------------------------- images
def _label(tile: np.ndarray, text: str) -> np.ndarray:
    import cv2

    tile = tile.copy()
    cv2.rectangle(tile, (0, 0), (tile.shape[1], 16), (0, 0, 0), -1)
    cv2.putText(tile, text[:40], (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def mask_overlay(image: np.ndarray, mask: np.ndarray, color: tuple[int, int, int] = (0, 255, 0)) -> np.ndarray:
    """RGB image with ``mask`` blended in ``color`` and its outline drawn."""
    import cv2

    out = image.copy()
    m = mask.astype(bool)
    out[m] = (0.55 * out[m] + 0.45 * np.array(color)).astype(np.uint8)
    contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, color, 1)
    return out


def difference_tile(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where two masks disagree: magenta = only in ``a``, cyan = only in ``b``, gray = both."""
    a, b = a.astype(bool), b.astype(bool)
    out = np.zeros((*a.shape, 3), np.uint8)
    out[a & b] = (90, 90, 90)
    out[a & ~b] = (255, 0, 255)
    out[~a & b] = (0, 255, 255)
    return out


def overlay_grid(
    rows: Sequence[dict[str, Any]],
    path: str | os.PathLike[str],
    names: tuple[str, str] = ("float", "int8"),
    tile_height: int = 160,
) -> Path:
    """Write a PNG grid, one row per image: image, truth, ``names[0]`` mask, ``names[1]`` mask, difference.

    Each row is ``{"image": RGB uint8, "truth": mask, "a": mask, "b": mask, "title": str}`` with all masks
    at the image's size. The difference column shows ``a`` vs ``b`` (magenta: only ``a``; cyan: only ``b``).
    """
    import cv2

    from munet.imageio import write_png_atomic

    if not rows:
        raise ValueError("overlay_grid needs at least one row")
    lines = []
    for row in rows:
        img = row["image"]
        h, w = img.shape[:2]
        tw = max(1, int(round(w * tile_height / h)))

        def fit(t: np.ndarray, tw: int = tw) -> np.ndarray:
            return cv2.resize(t, (tw, tile_height), interpolation=cv2.INTER_NEAREST)

        tiles = [
            _label(fit(img), row.get("title", "image")),
            _label(fit(mask_overlay(img, row["truth"], (0, 255, 0))), "truth"),
            _label(fit(mask_overlay(img, row["a"], (255, 200, 0))), names[0]),
            _label(fit(mask_overlay(img, row["b"], (255, 60, 60))), names[1]),
            _label(fit(difference_tile(row["a"], row["b"])), f"{names[0]} vs {names[1]}"),
        ]
        lines.append(np.concatenate(tiles, axis=1))
    width = max(line.shape[1] for line in lines)
    lines = [np.pad(line, ((0, 2), (0, width - line.shape[1]), (0, 0))) for line in lines]
    grid = np.concatenate(lines, axis=0)
    path = Path(path)
    write_png_atomic(path, np.ascontiguousarray(grid[:, :, ::-1]))  # RGB -> OpenCV's BGR
    return path


def save_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Save a matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)
    return path


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
