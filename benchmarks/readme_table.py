"""The generated result blocks of the README and the study READMEs, from ``benchmarks/results/`` (no hand-typed
numbers).

Every folder under the results root that holds an ``accuracy.json`` and/or a ``latency.json`` (written by
``munet-bench accuracy`` / ``latency`` with ``--out`` pointing there) is one result set; its rows are the
models, accuracy and latency joined by model name (the file stem). That table replaces whatever stands between
:data:`START` and :data:`END`. The other blocks are generated the same way between their own markers (:data:`BLOCKS`):
the architecture comparison (``compare_*.json`` of ``munet-bench compare``), the Pareto sweep (``pareto/pareto.json``
of ``munet-bench pareto``), the decoder sweep, the training-recipe study, the bundled models and the README's results
summary. Each block lives in whichever file holds its markers: README.md (bundled models, summary) or a study README
under the results root (:func:`update_all`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from munet.atomic import write_text_atomic
from munet.benchmarks.compare import SEQUENTIAL_TIMING
from munet.benchmarks.compare_report import has_lesion_free, split_values
from munet.benchmarks.learned import learned_cell, learned_rule
from munet.benchmarks.pareto import ALONE_TIMING
from munet.benchmarks.records import markdown_table
from munet.benchmarks.timing import busy_summary, describe_machine
from munet.errors import InputError

START = "<!-- results:start -->"
END = "<!-- results:end -->"
COMPARE_START = "<!-- compare:start -->"
COMPARE_END = "<!-- compare:end -->"
PARETO_START = "<!-- pareto:start -->"
PARETO_END = "<!-- pareto:end -->"
DECODERS_START = "<!-- decoders:start -->"
DECODERS_END = "<!-- decoders:end -->"
RECIPE_START = "<!-- recipe:start -->"
RECIPE_END = "<!-- recipe:end -->"
BUNDLED_START = "<!-- bundled:start -->"
BUNDLED_END = "<!-- bundled:end -->"
SUMMARY_START = "<!-- summary:start -->"
SUMMARY_END = "<!-- summary:end -->"
#: Each bundled model (edge/models/index.json) and the result folder of the run that made it.
BUNDLED_RESULTS = {"skin": "isic-edge", "brain": "brain-edge"}
#: Sub-folder of a bundled model's results that re-scores the file as shipped (see :func:`shipped_row`).
SHIPPED_DIR = "shipped"
#: Keys that do not make a point a different recipe: the seed (baseline repeats) and where the weights lie.
_NOT_A_LEVER = ("seed", "encoder_weights")
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
    """``{set name: {"accuracy": json, "latency": json}}`` for every result folder under ``results`` that holds an
    ``accuracy.json`` (the latency joins it by model name)."""
    root = Path(results)
    sets: dict[str, dict[str, dict[str, Any]]] = {}
    for kind in ("accuracy", "latency"):
        for path in sorted(root.rglob(f"{kind}.json")):
            name = path.parent.relative_to(root).as_posix() or "."
            sets.setdefault(name, {})[kind] = _load(path)
    # a folder with latency only (e.g. results/retime-check, a methodology check) has no model to show Dice for
    return dict(sorted((k, v) for k, v in sets.items() if "accuracy" in v))


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


def timing_note(doc: dict[str, Any]) -> str:
    """``; machine during the pass: …`` and, for a pass flagged busy, why (spread flags counted, not listed)."""
    load = doc.get("load")
    if not load:
        return ""
    text = f"; machine during the pass: {describe_machine(load)}"
    if busy := busy_summary(doc.get("busy") or []):
        text += f"; **busy** ({busy}): trust the ratios within this pass more than its milliseconds"
    return text


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


def _f(v: Any, digits: int = 4) -> str:
    """``v`` with ``digits`` decimals; "–" for missing values, and no "-0.0000" for tiny negatives."""
    return "–" if v is None else f"{(v if round(v, digits) != 0 else 0.0):.{digits}f}"


def render_compare(results: str | os.PathLike[str]) -> str:
    """One table per ``compare_<name>.json``: the architectures under one training budget (paper Tables 1/2),
    with whether each row learned (Dice 0.20 above both trivial predictions; "–" for results without them)."""
    root = Path(results)
    docs = [(path, _load(path)) for path in sorted(root.glob("compare_*.json"))]
    if not docs:
        return "_No committed comparison yet: run `munet-bench compare` (see `benchmarks/README.md`)._\n"
    header = (
        "model",
        "encoder init",
        "params (M)",
        "GMACs @256²",
        "Dice",
        "learned",
        "IoU",
        "mIoU",
        "precision",
        "recall",
        "int8 Dice",
        "int8 Dice drop",
        "float32 ms",
        "int8 ms",
    )
    lines = []
    for path, doc in docs:
        rows = []
        split = has_lesion_free(doc)  # brain MRI: Dice on tumour slices and false tumours on empty ones
        cols = [*header[:6], "Dice, lesion images", "false lesions", *header[6:]] if split else header
        for r in doc.get("models", []):
            f, q = r.get("float32", {}), r.get("int8", {})
            rows.append(
                [
                    r.get("label", r.get("arch")),
                    "ImageNet" if r.get("imagenet") else "scratch",
                    _f(r["params"] / 1e6, 2) if r.get("params") else "–",
                    _f(r["macs_256"] / 1e9, 2) if r.get("macs_256") else "–",
                    _f(f.get("dice")),
                    learned_cell(r, doc.get("trivial"), doc.get("budget", {}).get("epochs")),
                    *((_f(v) for v in split_values(r)) if split else ()),
                    _f(f.get("iou")),
                    _f(f.get("miou")),
                    _f(f.get("precision")),
                    _f(f.get("recall")),
                    _f(q.get("dice")),
                    _f(r.get("int8_dice_drop")),
                    _f(r.get("float_ms"), 1),
                    _f(r.get("int8_ms"), 1),
                ]
                if not r.get("error")
                else [
                    r.get("label", r.get("arch")),
                    f"failed: {r['error']}",
                    *(["–"] * 3),
                    learned_cell(r, doc.get("trivial"), doc.get("budget", {}).get("epochs")),
                    *(["–"] * (10 if split else 8)),
                ]
            )
        prov = doc.get("provenance", {})
        m = prov.get("machine", {})
        lines += [
            f"**{doc.get('name')}** ({doc.get('n_train')} training / {doc.get('n_val')} validation images): "
            f"{doc.get('budget_text', '')}.\n\n",
            markdown_table(cols, rows),
            f"\n- {learned_rule(doc, percent=False)}\n",
            f"- `{path.relative_to(root).as_posix()}`: `{prov.get('command', '')}` ({prov.get('date', '')[:10]}, "
            f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores); the paper's own values are in "
            f"`{path.with_suffix('.md').relative_to(root).as_posix()}`; latency timed "
            f"{doc.get('latency_method', SEQUENTIAL_TIMING)}{timing_note(doc)}\n\n",
        ]
    lines.append(
        "Dice … recall: per-image means of the float32 TFLite masks at the original size; int8: full-int8 TFLite "
        "calibrated on training images; ms: median LiteRT inference (pre/post-processing excluded).\n"
    )
    return "".join(lines)


def render_pareto(results: str | os.PathLike[str]) -> str:
    """The Pareto sweep (``pareto/pareto.json``): Dice vs int8 latency over alpha x input size."""
    path = Path(results) / "pareto" / "pareto.json"
    if not path.is_file():
        return "_No committed Pareto sweep yet: run `munet-bench pareto` (see `benchmarks/README.md`)._\n"
    doc = _load(path)
    header = ("α", "input", "encoder init", "epochs", "GMACs", "MB", "Dice float", "Dice int8", "int8 vs float")
    header += (f"int8 ms ({doc.get('threads')} thr.)", "on the front")
    rows = [
        [
            f"{p['alpha']:g}",
            f"{p['size'][0]}×{p['size'][1]}",
            p.get("init"),
            p.get("epochs"),
            _f(p.get("gmacs"), 2),
            _f(p.get("size_mb"), 2),
            _f(p.get("dice_float")),
            _f(p.get("dice_int8")),
            _f(p.get("agreement_dice")),
            _f(p.get("latency_ms"), 1),
            "yes" if p.get("on_front") else "",
        ]
        for p in doc.get("points", [])
    ]
    m = doc.get("machine", {})
    return (
        markdown_table(header, rows)
        + f"\n- `pareto/pareto.json`: `{doc.get('command', '')}` ({doc.get('date', '')[:10]}, {m.get('cpu', '?')}, "
        f"{m.get('cores', '?')} cores); plot: `benchmarks/results/pareto/pareto.png`; int8 ms: end-to-end "
        f"median, {doc.get('latency_method', ALONE_TIMING)}{timing_note(doc)}\n"
    )


def _decoder_label(point: dict[str, Any]) -> str:
    d = point.get("decoder", {})
    if d.get("decoder_upsample", "transpose") == "transpose":
        return "transposed conv " + "/".join(map(str, d.get("decoder_filters", [])))
    widths = "/".join(map(str, d.get("decoder_filters", [])))
    return f"{d.get('decoder_upsample')} + {d.get('decoder_conv')} {widths}, head {d.get('decoder_head')}"


def render_decoders(results: str | os.PathLike[str]) -> str:
    """The decoder sweep (``pareto/decoders/pareto.json``) and the per-block breakdown beside it, if committed."""
    root = Path(results) / "pareto" / "decoders"
    path = root / "pareto.json"
    if not path.is_file():
        return "_No committed decoder sweep yet: `bash benchmarks/reproduce.sh pareto-decoders`._\n"
    doc = _load(path)
    points = doc.get("points", [])
    paper = next((p for p in points if p.get("decoder", {}).get("decoder_upsample") == "transpose"), None)
    header = ("point", "input", "decoder", "params (M)", "GMACs", "int8 MB", "Dice float", "Dice int8")
    header += ("int8 vs float", "int8 ms 1 thr.", "int8 ms 2 thr.", "× paper decoder (1 / 2 thr.)")

    def speedup(p: dict[str, Any]) -> str:
        if paper is None or not p.get("latency_ms_1t") or not p.get("latency_ms_2t"):
            return "–"
        return f"{paper['latency_ms_1t'] / p['latency_ms_1t']:.2f} / {paper['latency_ms_2t'] / p['latency_ms_2t']:.2f}"

    rows = [
        [
            p.get("name"),
            f"{p['size'][0]}×{p['size'][1]}",
            _decoder_label(p),
            _f(p.get("params", 0) / 1e6, 2),
            _f(p.get("gmacs"), 3),
            _f(p.get("size_mb"), 2),
            _f(p.get("dice_float")),
            _f(p.get("dice_int8")),
            _f(p.get("agreement_dice")),
            _f(p.get("latency_ms_1t"), 2),
            _f(p.get("latency_ms_2t"), 2),
            speedup(p),
        ]
        for p in points
    ]
    m = doc.get("machine", {}) or {}
    out = markdown_table(header, rows) + (
        f"\n- `pareto/decoders/pareto.json`: `{doc.get('command', '')}` ({doc.get('date', '')[:10]}, "
        f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores); int8 ms: end-to-end median, "
        f"{doc.get('latency_method', ALONE_TIMING)}{timing_note(doc)}\n"
    )
    bpath = root / "breakdown.json"
    if bpath.is_file():
        bdoc = _load(bpath)
        for model in bdoc.get("models", []):
            stages = [s["stage"] for s in model["stages"]]
            threads = list(model["timing"])
            cells = []
            for t in threads:
                rows_t = model["timing"][t]["rows"]
                parts = ", ".join(f"{s} {100 * r['share']:.0f} %" for s, r in zip(stages, rows_t, strict=True))
                cells.append(f"{t} thr. ({model['timing'][t]['total_ms']:.2f} ms): {parts}")
            out += f"- per-block int8 time of `{model['model']}`: " + "; ".join(cells) + "\n"
        out += f"- breakdown: `{bdoc.get('provenance', {}).get('command', '')}` (`pareto/decoders/breakdown.md`)\n"
    return out


def _lever(point: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """The overrides in which ``point`` differs from the baseline point ``base`` (seed and weight paths aside)."""
    o, b = point.get("overrides", {}), base.get("overrides", {})
    return {k: v for k, v in o.items() if k not in _NOT_A_LEVER and b.get(k) != v}


def _lever_label(lever: dict[str, Any]) -> str:
    if not lever:
        return "baseline"
    parts = [
        f"{k}: {', '.join(f'{kk}={x}' for kk, x in v.items()) if isinstance(v, dict) else v}" for k, v in lever.items()
    ]
    return "; ".join(parts)


#: The recipe study's result sets: ISIC (every lever) and the brain MRI check of the levers that held on ISIC.
RECIPE_SETS = (("recipe", "ISIC 2017"), ("recipe-brain", "LGG brain MRI"))


def render_recipe(results: str | os.PathLike[str]) -> str:
    """The training-recipe study (``recipe/pareto.json``, ``recipe-brain/pareto.json``): each lever against the
    seed-to-seed spread of its baseline.

    The first point of a set is the baseline of round 1; a point named ``<base>+<lever>`` (round 2) is measured on
    top of the point ``<base>`` and judged against it. A point's seed repeats are the points that differ from it only
    in ``seed``. A lever's int8 Dice counts as a gain only when it lies outside the range of its baseline's seeds.
    Sets with lesion-free images (brain MRI) also show the Dice on the images with a lesion and the share of
    lesion-free images given a false lesion.
    """
    blocks = [_recipe_block(Path(results) / name / "pareto.json", label) for name, label in RECIPE_SETS]
    blocks = [b for b in blocks if b]
    return "\n".join(blocks) if blocks else "_No committed recipe study yet: `bash benchmarks/reproduce.sh recipe`._\n"


def _reference(point: dict[str, Any], points: list[dict[str, Any]]) -> dict[str, Any]:
    """The baseline point ``point`` is judged against: ``<base>`` for ``<base>+<lever>[-seedN]``, else the first."""
    name = str(point.get("name", ""))
    if "+" in name:
        named = {p.get("name"): p for p in points}
        base = named.get(name.split("+", 1)[0])
        if base is not None:
            return base
    return points[0]


def _recipe_block(path: Path, label: str) -> str:
    import statistics

    if not path.is_file():
        return ""
    doc = _load(path)
    points = doc.get("points", [])
    if not points:
        return f"**{label}**: no finished point yet.\n"
    spreads: dict[str, tuple[float, float, float, int]] = {}

    def spread(ref: dict[str, Any]) -> tuple[float, float, float, int]:
        """(mean, low, high, seeds) of the int8 Dice of ``ref`` and its seed repeats."""
        if ref["name"] not in spreads:
            dice = [p["dice_int8"] for p in points if not _lever(p, ref) and not _lever(ref, p)]
            spreads[ref["name"]] = (statistics.fmean(dice), min(dice), max(dice), len(dice))
        return spreads[ref["name"]]

    split = any(p.get("fp_share_int8") is not None for p in points)
    header = ("point", "baseline", "lever (vs. its baseline)", "seed", "epochs", "train min", "Dice float")
    header += ("Dice int8", "int8 vs float")
    header += ("Dice int8, lesion images", "lesion-free with a false lesion")[: 2 * split]
    header += ("Δ int8 vs baseline mean", "outside the seed range")
    rows = []
    for p in points:
        ref = _reference(p, points)
        lever = _lever(p, ref)
        mean, lo, hi, _ = spread(ref)
        verdict = "" if not lever else ("higher" if p["dice_int8"] > hi else "lower" if p["dice_int8"] < lo else "no")
        share = p.get("fp_share_int8")
        rows.append(
            [
                p.get("name"),
                ref.get("name"),
                _lever_label(lever),
                p.get("overrides", {}).get("seed", 0),
                p.get("epochs"),
                _f(p["seconds"] / 60, 1) if p.get("seconds") is not None else "–",
                _f(p.get("dice_float")),
                _f(p.get("dice_int8")),
                _f(p.get("agreement_dice")),
                *([_f(p.get("dice_lesion_int8")), "–" if share is None else f"{100 * share:.1f} %"] if split else []),
                "–" if not lever else f"{p['dice_int8'] - mean:+.4f}",
                verdict,
            ]
        )
    groups: dict[str, list[float]] = {}  # a lever's seeds: the points named <lever> and <lever>-seedN
    for p in points:
        ref = _reference(p, points)
        if _lever(p, ref):
            groups.setdefault(str(p.get("name", "")).rsplit("-seed", 1)[0], []).append(p["dice_int8"])
    repeated = []
    for name, d in groups.items():
        if len(d) > 1:
            mean = statistics.fmean(d)
            base_mean = spread(_reference({"name": name}, points))[0]
            repeated.append(f"{name} {mean:.4f} ({len(d)} seeds, {mean - base_mean:+.4f})")
    ranges = "; ".join(
        f"{name} {mean:.4f} (range {lo:.4f}–{hi:.4f}, {n} seed{'s' if n > 1 else ''})"
        for name, (mean, lo, hi, n) in spreads.items()
    )
    m = doc.get("machine", {}) or {}
    return (
        f"**{label}**\n\n"
        + markdown_table(header, rows)
        + (
            f"\n- baseline int8 Dice over seeds: {ranges}; per-image means on the validation set "
            f"`{doc.get('val_data', '')}`, masks at the original size\n"
            + (
                f"- levers over their seeds (int8 mean, Δ vs its baseline mean): {'; '.join(repeated)}\n"
                if repeated
                else ""
            )
            + f"- `{path.parent.name}/pareto.json`: `{doc.get('command', '')}` ({doc.get('date', '')[:10]}, "
            f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores); train min: wall-clock on that machine, conversion "
            "and scoring excluded (not a timing result: other jobs may have shared the machine)\n"
        )
    )


def shipped_row(results: str | os.PathLike[str], name: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The row and document of the bundled file ``name`` as shipped, re-scored by ``STEP=shipped reproduce.sh`` into
    ``<folder>/shipped/accuracy.json`` (a file rewritten without retraining, e.g. its I/O types); (None, None) when
    the folder's own ``<name>_int8_kf`` row is the shipped file."""
    path = Path(results) / BUNDLED_RESULTS[name] / SHIPPED_DIR / "accuracy.json"
    if not path.is_file():
        return None, None
    doc = _load(path)
    row = doc.get("models", {}).get(name)
    if row is None:
        raise InputError(f"{path}: no {name!r} row; rerun STEP=shipped bash benchmarks/reproduce.sh")
    return row, doc


def render_bundled(results: str | os.PathLike[str]) -> str:
    """The bundled models (``edge/models``) as their result folders measured them on the validation sets: the shipped
    file (``<name>_int8_kf`` in ``accuracy.json``) with and without test-time flips, against the float model."""
    rows = []
    notes = []
    for name, folder in BUNDLED_RESULTS.items():
        path = Path(results) / folder / "accuracy.json"
        if not path.is_file():
            continue
        doc = _load(path)
        models = doc.get("models", {})
        converted = models.get(f"{name}_int8_kf")
        if converted is None:
            raise InputError(f"{path}: no {name}_int8_kf row (the bundled file); rerun reproduce.sh {folder}")
        shipped, rescored = shipped_row(results, name)
        shipped = shipped or converted
        floating = models.get("keras-float", {})
        split, tta = shipped.get("lesion_split") or {}, shipped.get("tta") or {}
        rows.append(
            [
                f"`{name}`",
                f"{shipped['size_bytes'] / 1e6:.2f}",
                "x".join(str(v) for v in shipped.get("input_size", [])),
                doc.get("images"),
                _f(floating.get("per-image", {}).get("dice")),
                _f(shipped["per-image"]["dice"]),
                _f(tta.get("dice")),
                _f(converted.get("agreement_with_float", {}).get("dice")),
                _f(split.get("dice_lesion_images")) if split.get("lesion_free_images") else "–",
                f"{100 * split['false_positive_share']:.1f} %" if split.get("lesion_free_images") else "–",
                _f(tta.get("uncertainty_auroc"), 2),
                f"{tta['ms_per_image_plain']:.1f} / {tta['ms_per_image']:.1f}" if tta else "–",
            ]
        )
        m = doc.get("machine", {}) or {}
        notes.append(
            f"- `{name}`: `bash benchmarks/reproduce.sh {folder}` → `results/{folder}/accuracy.md` "
            f"(`{doc.get('data', '')}`; {doc.get('date', '')[:10]}, {m.get('cpu', '?')})"
        )
        if rescored is not None:
            r = rescored.get("machine", {}) or {}
            notes.append(
                f"  - the file as shipped now (uint8 I/O for MediaPipe, rewritten from that int8-I/O file without "
                f"retraining): `STEP=shipped bash benchmarks/reproduce.sh {folder}` → `results/{folder}/"
                f"{SHIPPED_DIR}/accuracy.md` ({rescored.get('date', '')[:10]}, {r.get('cpu', '?')}); Dice float and "
                "mask Dice vs float are the converted file's"
            )
    if not rows:
        return "_No bundled model measured yet: `bash benchmarks/reproduce.sh isic-edge`._\n"
    header = (
        "model", "MB", "input", "val images", "Dice float", "Dice int8", "Dice int8 + flips", "mask Dice vs float",
        "Dice on lesion images", "lesion-free with a false lesion", "uncertainty AUROC", "ms/image 1 thread (+ flips)",
    )  # fmt: skip
    return (
        markdown_table(header, rows)
        + "\nDice: per-image means on the validation set, masks at the original size; int8: the shipped file; flips: "
        "`--tta flips` (4 passes); uncertainty AUROC: how well the per-image uncertainty score ranks the images with "
        "Dice < 0.7 first; ms: end-to-end `segment` median on the validation images at their original sizes (decode "
        "excluded, resizing included), interleaved with the flips run.\n" + "\n".join(notes) + "\n"
    )


#: The README's results summary: per dataset, (label, result folder, model row). A bundled name (``skin``, ``brain``)
#: reads the file as shipped (:func:`shipped_row`, else ``<name>_int8_kf``); other rows are the folder's model rows.
SUMMARY_ROWS: tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "ISIC 2017 skin lesions",
        (
            ("bundled `skin` (`--preset edge`, 128²)", "isic-edge", "skin"),
            ("paper decoder, α=1.0, 128²", "isic128", "munet_int8"),
            ("paper decoder, α=1.0, 192×256", "isic", "munet_int8"),
        ),
    ),
    (
        "LGG brain MRI",
        (
            ("bundled `brain` (`--preset edge`, 128²)", "brain-edge", "brain"),
            ("bundled `brain` on 70 other patients", "cv-brain/bundled-brain-on-70-new-patients", "brain"),
            ("paper decoder, α=1.0, 256²", "brain", "munet_int8"),
        ),
    ),
)


#: Where the summary's links point: the results root as seen from the README (the repository root).
SUMMARY_LINK = "benchmarks/results"


def _where(doc: dict[str, Any]) -> str:
    """``DATE CPU`` with the CPU name shortened (``Intel(R) Xeon(R) Processor`` → ``Intel Xeon``)."""
    cpu = (doc.get("machine", {}) or {}).get("cpu", "?")
    cpu = cpu.replace("(R)", "").replace("(TM)", "").removesuffix(" Processor").strip()
    return f"{doc.get('date', '')[:10]} {cpu}"


def render_summary(results: str | os.PathLike[str]) -> str:
    """One short table per dataset (:data:`SUMMARY_ROWS`): int8 per-image Dice, file size and end-to-end median ms at
    1 and 2 threads, with where each was measured and the result folder it comes from."""
    root = Path(results)
    out = []
    segment = False  # a row timed only by its accuracy pass
    for dataset, rows in SUMMARY_ROWS:
        cells = []
        for label, folder, model in rows:
            path = root / folder / "accuracy.json"
            if not path.is_file():
                continue
            acc = _load(path)
            key = f"{model}_int8_kf" if model in BUNDLED_RESULTS and folder == BUNDLED_RESULTS[model] else model
            row = acc.get("models", {}).get(key)
            if row is None:
                raise InputError(f"{path}: no {key!r} row for the README summary; rerun its benchmark")
            if key != model:
                row = shipped_row(root, model)[0] or row
            lat_path = root / folder / "latency.json"
            lat = _load(lat_path) if lat_path.is_file() else {}
            stages = lat.get("variants", {}).get(key, {}).get("results", {})
            ms = [stages.get(t, {}).get("stages", {}).get("e2e_ms", {}).get("median") for t in ("1", "2")]
            shown = [_f(v, 1) for v in ms]
            tta = row.get("tta") or {}
            if ms[0] is None and tta.get("ms_per_image_plain") is not None:
                shown[0] = f"{tta['ms_per_image_plain']:.1f}*"  # no latency pass: the accuracy pass's `segment` median
                segment = True
            timed = f"; ms {_where(lat)}" if lat and any(v is not None for v in ms) else ""
            cells.append(
                [
                    label,
                    acc.get("images"),
                    _f(row.get("per-image", {}).get("dice"), 3),
                    f"{row['size_bytes'] / 1e6:.2f}",
                    " / ".join(shown),
                    f"Dice {_where(acc)}{timed}",
                    f"[`{folder}`]({SUMMARY_LINK}/{folder}/accuracy.md)",
                ]
            )
        if cells:
            header = ("model", "images", "int8 Dice", "MB", "ms 1 / 2 threads", "measured", "results")
            out.append(f"**{dataset}**\n\n" + markdown_table(header, cells))
    if not out:
        return "_No committed results yet: `bash benchmarks/reproduce.sh isic-edge`._\n"
    note = (
        "\nDice: per-image mean of the int8 file (a bundled model: the file as shipped), masks at the original size; "
        "ms: end-to-end median (pre-processing + inference + post-processing) of the result set's latency pass, "
        "every model of the set timed round-robin"
    )
    note += "; *: no latency pass, the 1-thread `segment` median of the accuracy pass.\n" if segment else ".\n"
    return "\n".join(out) + note


def replace_between_markers(text: str, block: str, start_marker: str = START, end_marker: str = END) -> str:
    """``text`` with everything between ``start_marker`` and ``end_marker`` replaced by ``block``."""
    start, end = text.find(start_marker), text.find(end_marker)
    if start < 0 or end < 0 or end < start:
        raise InputError(
            f"README: markers {start_marker} ... {end_marker} not found; add them where the generated table goes"
        )
    return text[: start + len(start_marker)] + "\n" + block.rstrip("\n") + "\n" + text[end:]


#: Every generated block: its markers and its renderer (each block must stand in one of the files).
BLOCKS = (
    (START, END, render_table),
    (COMPARE_START, COMPARE_END, render_compare),
    (PARETO_START, PARETO_END, render_pareto),
    (DECODERS_START, DECODERS_END, render_decoders),
    (RECIPE_START, RECIPE_END, render_recipe),
    (BUNDLED_START, BUNDLED_END, render_bundled),
    (SUMMARY_START, SUMMARY_END, render_summary),
)


def update_readme(readme: str | os.PathLike[str], results: str | os.PathLike[str], check: bool = False) -> bool:
    """Regenerate every block whose start marker stands in ``readme``; returns whether it changed (``check``: do not
    write). A file without the markers of any block is an error."""
    readme = Path(readme)
    text = readme.read_text()
    new = text
    found = False
    for start, end, render in BLOCKS:
        if start in new:
            new = replace_between_markers(new, render(results), start, end)
            found = True
    if not found:
        raise InputError(f"{readme}: no generated-block markers (e.g. {START} ... {END}); add them where a table goes")
    changed = new != text
    if changed and not check:
        write_text_atomic(readme, new)
    return changed


def generated_files(readme: str | os.PathLike[str], results: str | os.PathLike[str]) -> list[Path]:
    """``readme`` and every ``README.md`` under ``results`` that holds the start marker of a generated block."""
    files = [Path(readme)]
    for path in sorted(Path(results).rglob("README.md")):
        if path.resolve() != files[0].resolve() and any(start in path.read_text() for start, _, _ in BLOCKS):
            files.append(path)
    return files


def update_all(
    readme: str | os.PathLike[str], results: str | os.PathLike[str], check: bool = False
) -> dict[Path, bool]:
    """Regenerate the blocks of ``readme`` and of the study READMEs under ``results`` (:func:`generated_files`);
    ``{file: changed}`` (``check``: write nothing). Every block of :data:`BLOCKS` must stand in one of these files,
    so a block whose markers were lost in a move is an error, not a silently unchecked table."""
    files = generated_files(readme, results)
    texts = {path: path.read_text() for path in files}
    missing = [f"{start} ... {end}" for start, end, _ in BLOCKS if not any(start in t for t in texts.values())]
    if missing:
        names = ", ".join(p.as_posix() for p in files)
        raise InputError(f"markers {'; '.join(missing)} not found in {names}; add them where the generated table goes")
    return {path: update_readme(path, results, check=check) for path in files}
