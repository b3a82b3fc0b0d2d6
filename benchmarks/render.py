"""One Markdown table renderer (:func:`render`) and the number formats of the generated reports."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from munet.device import busy_summary, describe_machine

#: What a missing value (None, NaN, ±inf) shows as.
DASH = "–"


def missing(v: Any) -> bool:
    """Whether ``v`` is None or a non-finite float."""
    return v is None or (isinstance(v, (float, np.floating)) and not math.isfinite(v))


def auto(v: Any) -> str:
    """Floats with 4 decimals below 1, else 4 significant digits (no exponent from 10⁴); anything else as str."""
    if missing(v):
        return DASH
    if isinstance(v, (float, np.floating)):
        return f"{v:.4f}" if abs(v) < 1 else (f"{v:.4g}" if abs(v) < 1e4 else f"{v:.0f}")
    return str(v)


def fixed(v: Any, digits: int = 4) -> str:
    """``v`` with ``digits`` decimals, no "-0.0000" for tiny negatives."""
    return DASH if missing(v) else f"{(v if round(v, digits) != 0 else 0.0):.{digits}f}"


def dec(digits: int) -> Callable[[Any], str]:
    """:func:`fixed` with ``digits`` decimals, as a column format."""
    return partial(fixed, digits=digits)


def percent(v: Any) -> str:
    """A 0..1 share as ``"12.3 %"``."""
    return DASH if missing(v) else f"{100 * v:.1f} %"


def signed(v: Any) -> str:
    """``+0.0123`` / ``-0.0123``."""
    return DASH if missing(v) else f"{v:+.4f}"


def lookup(row: Any, key: str | int) -> Any:
    """``row[key]``; a dotted ``key`` walks nested mappings and attributes; None where a part is missing."""
    if isinstance(key, int):
        return row[key]
    for part in key.split("."):
        row = row.get(part) if isinstance(row, Mapping) else getattr(row, part, None)
    return row


@dataclass(frozen=True)
class Column:
    """A table column: ``header``, the cell's value (``get``: a key, dotted path, index or function of the row)
    and how it is written (``fmt``, not called for missing values)."""

    header: str
    get: str | int | Callable[[Any], Any]
    fmt: Callable[[Any], str] = auto

    def cell(self, row: Any) -> str:
        v = self.get(row) if callable(self.get) else lookup(row, self.get)
        return DASH if missing(v) else self.fmt(v)


def render(rows: Sequence[Any], columns: Sequence[Column | str]) -> str:
    """A GitHub Markdown table of ``rows`` (mappings or sequences); a plain-string column is a header only, its cell
    the row's value at that position written with :func:`auto`."""
    cols = [c if isinstance(c, Column) else Column(c, i) for i, c in enumerate(columns)]
    lines = ["| " + " | ".join(c.header for c in cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(c.cell(row) for c in cols) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def pm(stat: Mapping[str, Any] | None, digits: int = 3, scale: float = 1, unit: str = "") -> str:
    """A ``{"mean", "sd"}`` statistic as ``mean ± sd`` (the mean alone without an sd); – without a mean."""
    if not stat or stat.get("mean") is None:
        return DASH
    sd = f" ± {scale * stat['sd']:.{digits}f}" if stat.get("sd") is not None else ""
    return f"{scale * stat['mean']:.{digits}f}{sd}{unit}"


def timing_note(doc: Mapping[str, Any]) -> str:
    """``; machine during the pass: …`` and, for a pass flagged busy, why (spread flags counted, not listed); "" for
    a result without a recorded load."""
    if not doc.get("load"):
        return ""
    text = f"; machine during the pass: {describe_machine(doc['load'])}"
    if busy := busy_summary(doc.get("busy") or []):
        text += f"; **busy** ({busy}): trust the ratios within this pass more than its milliseconds"
    return text
