"""What ``munet-run`` writes per input: the mask, an overlay and one summary row; all written atomically.

* ``<stem>_segmentation.png``: 0/255 single-channel PNG at the original size (the ISIC ground-truth naming).
* ``<stem>_overlay.png``: the frame with the lesion tinted and outlined.
* ``<stem>_uncertainty.png`` (with test-time flips only): the passes' per-pixel spread, colour-mapped, at the
  original size (:func:`munet.edge.tta.uncertainty_image`); the row gets an ``uncertainty`` score (and ``review``
  with ``--review-above``).
* ``summary.csv`` / ``summary.json``: one row per input (its ``source`` file, the ``mask`` file written, lesion
  area %, bounding box, mean confidence, timings; skipped inputs with their error) and, in the JSON, the run totals
  (FPS, dropped, skipped).

Output names are unique within a run (:meth:`OutputWriter.claim`): inputs come in sorted order, the first keeps its
stem, a later input with the same stem (``scan.png`` after ``scan.jpg``) uses its file name (``scan.png``), and
further clashes (same file name in several folders of a glob) get ``-2``, ``-3``, ... (``scan-2``); names are
compared case-insensitively. A write that fails (disk full, ...) raises
:class:`~munet.atomic.WriteError` after recording the input as ``failed``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from munet.atomic import WriteError, make_dirs, write_text_atomic
from munet.edge.runtime import Result
from munet.edge.tta import uncertainty_image
from munet.imageio import write_png_atomic

ROW_FIELDS = [
    "name",
    "source",
    "status",
    "mask",
    "height",
    "width",
    "area_pct",
    "bbox_x",
    "bbox_y",
    "bbox_w",
    "bbox_h",
    "mean_confidence",
    "pre_ms",
    "infer_ms",
    "post_ms",
    "error",
]
#: Columns written only when some row has them (test-time flips), placed after ``mean_confidence``.
OPTIONAL_FIELDS = ["uncertainty", "review"]

#: Overlay colours (BGR): lesion tint and outline.
TINT_BGR = (0, 0, 255)
OUTLINE_BGR = (0, 255, 255)


def mask_stats(result: Result, threshold: float = 0.5) -> dict[str, Any]:
    """Lesion area (% of the frame), bounding box (x, y, w, h at the original size) and mean confidence.

    Mean confidence is the mean foreground probability over the pixels the model called lesion
    (at the model's resolution); empty when there is none.
    """
    mask = result.mask
    h, w = mask.shape
    area = float(mask.sum()) * 100.0 / (h * w)
    if mask.any():
        x, y, bw, bh = cv2.boundingRect(mask)
    else:
        x = y = bw = bh = 0
    fg = result.prob[result.prob > threshold]
    conf = float(fg.mean()) if fg.size else math.nan
    return {
        "height": h,
        "width": w,
        "area_pct": round(area, 4),
        "bbox_x": x,
        "bbox_y": y,
        "bbox_w": bw,
        "bbox_h": bh,
        "mean_confidence": None if math.isnan(conf) else round(conf, 4),
        **{k: round(v, 3) for k, v in result.timings.items()},
        **({} if result.uncertainty is None else {"uncertainty": round(result.uncertainty, 4)}),
    }


def overlay(rgb: np.ndarray, mask: np.ndarray, alpha: float = 0.4) -> np.ndarray:
    """BGR overlay of a ``{0, 1}`` mask on an RGB frame: tinted lesion with an outline."""
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if mask.any():
        sel = mask.astype(bool)
        tint = np.array(TINT_BGR, np.float32)
        bgr[sel] = (bgr[sel].astype(np.float32) * (1 - alpha) + tint * alpha).astype(np.uint8)
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        thickness = max(1, round(max(mask.shape) / 256))
        cv2.drawContours(bgr, contours, -1, OUTLINE_BGR, thickness)
    return bgr


class OutputWriter:
    """Writes masks, overlays and the summary into ``out_dir`` (``None``: keep only the totals)."""

    def __init__(
        self,
        out_dir: str | Path | None,
        overlays: bool = True,
        checkpoint_every: int = 200,
        review_above: float | None = None,
    ) -> None:
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.review_above = review_above  # rows with an uncertainty score get review = score > review_above
        self.overlays = overlays
        self.rows: list[dict[str, Any]] = []
        self.checkpoint_every = checkpoint_every
        self._taken: set[str] = set()  # output names used so far (casefolded)
        if self.out_dir is not None:
            make_dirs(self.out_dir)

    def claim(self, stem: str, source: str = "") -> str:
        """A unique output name for an input: ``stem``, else its file name, else ``stem-2``, ``stem-3``, ..."""
        if self.out_dir is None:  # nothing is written: live runs keep no set that grows with every frame
            return stem
        candidates = [stem, Path(source).name] if source else [stem]
        name = next((c for c in candidates if c and c.casefold() not in self._taken), None)
        k = 2
        while name is None:
            name = f"{stem}-{k}" if f"{stem}-{k}".casefold() not in self._taken else None
            k += 1
        self._taken.add(name.casefold())
        return name

    def write(
        self, name: str, rgb: np.ndarray, result: Result, threshold: float = 0.5, source: str = ""
    ) -> dict[str, Any]:
        """Write one processed frame (``name``: its stem, made unique by :meth:`claim`); returns its summary row."""
        name = self.claim(name, source)
        mask_name = f"{name}_segmentation.png" if self.out_dir is not None else ""
        row = {"name": name, "source": source, "status": "ok", "mask": mask_name, **mask_stats(result, threshold)}
        if self.review_above is not None and result.uncertainty is not None:
            row["review"] = result.uncertainty > self.review_above
        if self.out_dir is not None:
            try:
                self._write_files(name, rgb, result)
            except WriteError as exc:
                self.rows.append({**row, "status": "failed", "error": str(exc)})
                raise
            self._add(row)
        return row

    def _write_files(self, name: str, rgb: np.ndarray, result: Result) -> None:
        """The PNGs of one processed frame (mask, uncertainty with TTA, overlay)."""
        assert self.out_dir is not None
        write_png_atomic(self.out_dir / f"{name}_segmentation.png", result.mask * np.uint8(255))
        if result.spread is not None:
            write_png_atomic(self.out_dir / f"{name}_uncertainty.png", uncertainty_image(result.spread, rgb.shape[:2]))
        if self.overlays:
            write_png_atomic(self.out_dir / f"{name}_overlay.png", overlay(rgb, result.mask))

    def skip(self, name: str, error: str, source: str = "") -> dict[str, Any]:
        """Record an input that could not be read."""
        row = {"name": self.claim(name, source), "source": source, "status": "skipped", "error": error}
        if self.out_dir is not None:
            self._add(row)
        return row

    def _add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if self.checkpoint_every and len(self.rows) % self.checkpoint_every == 0:
            self.write_rows()

    def write_rows(self) -> None:
        """(Re)write ``summary.csv`` atomically with the rows so far."""
        if self.out_dir is None:
            return
        fields = list(ROW_FIELDS)
        at = fields.index("mean_confidence") + 1
        fields[at:at] = [k for k in OPTIONAL_FIELDS if any(k in row for row in self.rows)]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k, "")) for k in fields})
        write_text_atomic(self.out_dir / "summary.csv", buf.getvalue())

    def finish(self, totals: dict[str, Any]) -> None:
        """Write ``summary.csv`` and ``summary.json`` (totals + rows)."""
        if self.out_dir is None:
            return
        self.write_rows()
        write_text_atomic(self.out_dir / "summary.json", json.dumps({**totals, "rows": self.rows}, indent=2) + "\n")
