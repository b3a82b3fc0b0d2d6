"""The README's results table, generated from ``benchmarks/results/`` (no hand-typed numbers).

Every folder under the results root that holds an ``accuracy.json`` and/or a ``latency.json`` (written by
``munet-bench accuracy`` / ``latency`` with ``--out`` pointing there) is one result set; its rows are the
models, accuracy and latency joined by model name (the file stem). The table replaces whatever stands
between :data:`START` and :data:`END` in README.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from munet.benchmarks.report import markdown_table
from munet.edge.atomic import write_text_atomic
from munet.errors import InputError

START = "<!-- results:start -->"
END = "<!-- results:end -->"
HEADER = (
    "result set",
    "model",
    "quantization",
    "MB",
    "Dice",
    "IoU",
    "mIoU",
    "ISIC Jaccard",
    "Dice vs float",
    "ms (threads)",
    "× float32 TFLite",
)


def _load(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable results JSON ({exc}); rerun the benchmark") from None


def collect(results: str | os.PathLike[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{set name: {"accuracy": json, "latency": json}}`` for every result folder under ``results``."""
    root = Path(results)
    sets: dict[str, dict[str, dict[str, Any]]] = {}
    for kind in ("accuracy", "latency"):
        for path in sorted(root.rglob(f"{kind}.json")):
            name = path.parent.relative_to(root).as_posix() or "."
            sets.setdefault(name, {})[kind] = _load(path)
    return dict(sorted(sets.items()))


def _pick_threads(latency: dict[str, Any]) -> str | None:
    counts = [str(t) for t in latency.get("threads", [])]
    return "2" if "2" in counts else (counts[-1] if counts else None)


def rows_for(name: str, data: dict[str, dict[str, Any]]) -> list[list[Any]]:
    """Table rows of one result set (accuracy models first, then latency-only ones)."""
    acc = data.get("accuracy", {}).get("models", {})
    lat_doc = data.get("latency", {})
    lat = lat_doc.get("variants", {})
    threads = _pick_threads(lat_doc)
    ratios = lat_doc.get("ratios", {}).get(threads or "", {})
    rows = []
    for model in [*acc, *(m for m in lat if m not in acc)]:
        a, v = acc.get(model, {}), lat.get(model, {})
        metrics = a.get("per-image", {})
        quant = a.get("quantization") or v.get("quantization")
        size = a.get("size_bytes") or v.get("size_bytes")
        res = v.get("results", {}).get(threads or "", {})
        ms = res.get("stages", {}).get("e2e_ms", {}).get("median")
        is_int8 = bool(v) and quant == "int8" and v.get("kind") == "tflite"
        ratio = ratios.get("int8_vs_float32_tflite_e2e") if is_int8 else None
        rows.append(
            [
                name,
                model,
                quant,
                None if size is None else size / 1e6,
                metrics.get("dice"),
                metrics.get("iou"),
                metrics.get("miou"),
                metrics.get("isic_jaccard"),
                a.get("agreement_with_float", {}).get("dice"),
                None if ms is None else f"{ms:.1f} ({threads})",
                ratio,
            ]
        )
    return rows


def render_table(results: str | os.PathLike[str]) -> str:
    """The Markdown block (table + one provenance line per result set) for the README."""
    sets = collect(results)
    if not sets:
        return "_No committed results yet: run `munet-bench accuracy/latency --out benchmarks/results/NAME`._\n"
    rows = [row for name, data in sets.items() for row in rows_for(name, data)]
    lines = [markdown_table(HEADER, rows), "\n"]
    for name, data in sets.items():
        for kind, doc in data.items():
            m = doc.get("machine", {})
            where = f"{name}/{kind}.json" if name != "." else f"{kind}.json"
            lines.append(
                f"- `{where}`: `{doc.get('command', '')}` ({doc.get('date', '')[:10]}, {m.get('cpu', '?')}, "
                f"{m.get('cores', '?')} cores)\n"
            )
    lines.append(
        "\nDice/IoU/mIoU/ISIC Jaccard: per-image means on the set's images, masks at the original size; "
        "ms: end-to-end median (pre + inference + post) at the given thread count.\n"
    )
    return "".join(lines)


def replace_between_markers(text: str, block: str) -> str:
    """``text`` with everything between :data:`START` and :data:`END` replaced by ``block``."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < 0 or end < start:
        raise InputError(f"README: markers {START} ... {END} not found; add them where the results table goes")
    return text[: start + len(START)] + "\n" + block.rstrip("\n") + "\n" + text[end:]


def update_readme(readme: str | os.PathLike[str], results: str | os.PathLike[str], check: bool = False) -> bool:
    """Regenerate the README's results table; returns whether it changed (``check``: do not write)."""
    readme = Path(readme)
    text = readme.read_text()
    new = replace_between_markers(text, render_table(results))
    changed = new != text
    if changed and not check:
        write_text_atomic(readme, new)
    return changed
