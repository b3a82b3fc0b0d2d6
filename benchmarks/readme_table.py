"""The generated result blocks of the README and the study READMEs, from ``benchmarks/results/`` (no hand-typed
numbers).

Every folder under the results root that holds an ``accuracy.json`` (and maybe a ``latency.json``, joined by model
name) is one result set of the table between :data:`START` and :data:`END`. The other blocks (:data:`BLOCKS`): the
architecture comparison (``compare_*.json``), the Pareto and decoder sweeps, the training-recipe study, the bundled
models and the README's results summary. Each block lives in whichever file holds its markers: README.md or a study
README under the results root (:func:`update_all`). The verdicts come from :mod:`munet.benchmarks.analysis`; this
module only formats them (:func:`munet.benchmarks.render.render`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from munet.atomic import write_text_atomic
from munet.benchmarks.analysis import (  # noqa: F401  (BUNDLED_RESULTS, SHIPPED_DIR, shipped_row: importable here too)
    BUNDLED_RESULTS,
    SHIPPED_DIR,
    bundled,
    has_lesion_free,
    recipe_study,
    shipped_row,
    speedup,
    split_values,
    summary,
)
from munet.benchmarks.analysis import load as _load
from munet.benchmarks.compare_report import SEQUENTIAL_TIMING, learned_cell, learned_rule, ok
from munet.benchmarks.model_index import EVIDENCE
from munet.benchmarks.pareto import ALONE_TIMING
from munet.benchmarks.render import Column, dec, fixed, percent, render, signed
from munet.device import busy_summary, describe_machine
from munet.errors import InputError


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


START, END = _markers("results")
COMPARE_START, COMPARE_END = _markers("compare")
PARETO_START, PARETO_END = _markers("pareto")
DECODERS_START, DECODERS_END = _markers("decoders")
RECIPE_START, RECIPE_END = _markers("recipe")
BUNDLED_START, BUNDLED_END = _markers("bundled")
SUMMARY_START, SUMMARY_END = _markers("summary")
CV_START, CV_END = _markers("cv")
MODELS_START, MODELS_END = _markers("models")
HEADER = ("result set", "model", "quantization", "MB", "Dice", "IoU", "mIoU", "ISIC Jaccard", "Dice vs float")
HEADER += ("ms (threads)", "× float32 TFLite")


def collect(results: str | os.PathLike[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{set name: {"accuracy": json, "latency": json}}`` for every folder under ``results`` with an
    ``accuracy.json`` (a latency-only folder, e.g. a methodology check, has no Dice to show)."""
    root = Path(results)
    sets: dict[str, dict[str, dict[str, Any]]] = {}
    for kind in ("accuracy", "latency"):
        for path in sorted(root.rglob(f"{kind}.json")):
            sets.setdefault(path.parent.relative_to(root).as_posix() or ".", {})[kind] = _load(path)
    return dict(sorted((k, v) for k, v in sets.items() if "accuracy" in v))


def rows_for(name: str, data: dict[str, dict[str, Any]]) -> list[list[Any]]:
    """Table rows of one result set (accuracy models first, then latency-only ones)."""
    acc = data.get("accuracy", {}).get("models", {})
    lat_doc = data.get("latency", {})
    lat = lat_doc.get("variants", {})
    counts = [str(t) for t in lat_doc.get("threads", [])]
    threads = "2" if "2" in counts else (counts[-1] if counts else None)
    ratios = lat_doc.get("ratios", {}).get(threads or "", {})
    rows = []
    for model in [*acc, *(m for m in lat if m not in acc)]:
        a, v = acc.get(model, {}), lat.get(model, {})
        metrics = a.get("per-image", {})
        quant = a.get("quantization") or v.get("quantization")
        size = a.get("size_bytes") or v.get("size_bytes")
        ms = v.get("results", {}).get(threads or "", {}).get("stages", {}).get("e2e_ms", {}).get("median")
        is_int8 = bool(v) and quant == "int8" and v.get("kind") == "tflite"
        rows.append(
            [name, model, quant, None if size is None else size / 1e6]
            + [metrics.get(k) for k in ("dice", "iou", "miou", "isic_jaccard")]
            + [a.get("agreement_with_float", {}).get("dice"), None if ms is None else f"{ms:.1f} ({threads})"]
            + [ratios.get("int8_vs_float32_tflite_e2e") if is_int8 else None]
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


def _doc(results: str | os.PathLike[str], name: str) -> dict[str, Any] | None:
    """The results JSON ``name`` under ``results``; None if not committed."""
    path = Path(results) / name
    return _load(path) if path.is_file() else None


def _cpu(doc: dict[str, Any]) -> str:
    return (doc.get("machine", {}) or {}).get("cpu", "?")


def _source(where: str, doc: dict[str, Any]) -> str:
    """``- `where`: `command` (date, cpu, N cores)`` (the opening of a provenance line)."""
    cores = (doc.get("machine", {}) or {}).get("cores", "?")
    return f"- `{where}`: `{doc.get('command', '')}` ({doc.get('date', '')[:10]}, {_cpu(doc)}, {cores} cores)"


def render_table(results: str | os.PathLike[str]) -> str:
    """The Markdown block (table + one provenance line per result set) for the README."""
    sets = collect(results)
    if not sets:
        return "_No committed results yet: run `munet-bench accuracy/latency --out benchmarks/results/NAME`._\n"
    lines = [render([row for name, data in sets.items() for row in rows_for(name, data)], HEADER), "\n"]
    for name, data in sets.items():
        lines += [_source(f"{name}/{kind}.json".removeprefix("./"), doc) + "\n" for kind, doc in data.items()]
    lines.append(
        "\nDice/IoU/mIoU/ISIC Jaccard: per-image means on the set's images, masks at the original size; "
        "ms: end-to-end median (pre + inference + post) at the given thread count.\n"
    )
    return "".join(lines)


_INIT = ("scratch", "ImageNet")


def _compare_columns(doc: dict[str, Any]) -> list[Column]:
    trivial, epochs = doc.get("trivial"), doc.get("budget", {}).get("epochs")
    split = ("Dice, lesion images", "false lesions") if has_lesion_free(doc) else ()  # brain MRI

    def metric(header: str, key: str, fmt: Any = fixed) -> Column:
        return Column(header, ok(key), fmt)

    return [
        Column("model", lambda r: r.get("label", r.get("arch"))),
        Column("encoder init", lambda r: f"failed: {r['error']}" if r.get("error") else _INIT[bool(r.get("imagenet"))]),
        Column("params (M)", ok(lambda r: r["params"] / 1e6 if r.get("params") else None), dec(2)),
        Column("GMACs @256²", ok(lambda r: r["macs_256"] / 1e9 if r.get("macs_256") else None), dec(2)),
        metric("Dice", "float32.dice"),
        Column("learned", lambda r: learned_cell(r, trivial, epochs)),
        *(Column(h, ok(lambda r, i=i: split_values(r)[i]), fixed) for i, h in enumerate(split)),
        *(metric(h, f"float32.{h.lower()}") for h in ("IoU", "mIoU", "precision", "recall")),
        metric("int8 Dice", "int8.dice"),
        metric("int8 Dice drop", "int8_dice_drop"),
        metric("float32 ms", "float_ms", dec(1)),
        metric("int8 ms", "int8_ms", dec(1)),
    ]


def render_compare(results: str | os.PathLike[str]) -> str:
    """One table per ``compare_<name>.json``: the architectures under one training budget (paper Tables 1/2),
    with whether each row learned (:func:`munet.benchmarks.compare_report.learned_cell`)."""
    root = Path(results)
    docs = [(path, _load(path)) for path in sorted(root.glob("compare_*.json"))]
    if not docs:
        return "_No committed comparison yet: run `munet-bench compare` (see `benchmarks/README.md`)._\n"
    lines = []
    for path, doc in docs:
        prov = doc.get("provenance", {})
        lines += [
            f"**{doc.get('name')}** ({doc.get('n_train')} training / {doc.get('n_val')} validation images): "
            f"{doc.get('budget_text', '')}.\n\n",
            render(doc.get("models", []), _compare_columns(doc)),
            f"\n- {learned_rule(doc, percent=False)}\n",
            f"{_source(path.relative_to(root).as_posix(), prov)}; the paper's own values are in "
            f"`{path.with_suffix('.md').relative_to(root).as_posix()}`; latency timed "
            f"{doc.get('latency_method', SEQUENTIAL_TIMING)}{timing_note(doc)}\n\n",
        ]
    lines.append(
        "Dice … recall: per-image means of the float32 TFLite masks at the original size; int8: full-int8 TFLite "
        "calibrated on training images; ms: median LiteRT inference (pre/post-processing excluded).\n"
    )
    return "".join(lines)


def _size(p: dict[str, Any]) -> str:
    return f"{p['size'][0]}×{p['size'][1]}"


#: The Dice columns of the sweeps: float, int8 and the int8 masks against the float ones.
DICE = (("Dice float", "dice_float"), ("Dice int8", "dice_int8"), ("int8 vs float", "agreement_dice"))


def render_pareto(results: str | os.PathLike[str]) -> str:
    """The Pareto sweep (``pareto/pareto.json``): Dice vs int8 latency over alpha x input size."""
    if (doc := _doc(results, "pareto/pareto.json")) is None:
        return "_No committed Pareto sweep yet: run `munet-bench pareto` (see `benchmarks/README.md`)._\n"
    cols = [
        Column("α", lambda p: f"{p['alpha']:g}"),
        Column("input", _size),
        Column("encoder init", "init"),
        Column("epochs", "epochs"),
        Column("GMACs", "gmacs", dec(2)),
        Column("MB", "size_mb", dec(2)),
        *(Column(h, k, fixed) for h, k in DICE),
        Column(f"int8 ms ({doc.get('threads')} thr.)", "latency_ms", dec(1)),
        Column("on the front", lambda p: "yes" if p.get("on_front") else ""),
    ]
    return (
        render(doc.get("points", []), cols)
        + f"\n{_source('pareto/pareto.json', doc)}; plot: `benchmarks/results/pareto/pareto.png`; int8 ms: "
        f"end-to-end median, {doc.get('latency_method', ALONE_TIMING)}{timing_note(doc)}\n"
    )


def _decoder_label(point: dict[str, Any]) -> str:
    d = point.get("decoder", {})
    widths = "/".join(map(str, d.get("decoder_filters", [])))
    if d.get("decoder_upsample", "transpose") == "transpose":
        return "transposed conv " + widths
    return f"{d.get('decoder_upsample')} + {d.get('decoder_conv')} {widths}, head {d.get('decoder_head')}"


def render_decoders(results: str | os.PathLike[str]) -> str:
    """The decoder sweep (``pareto/decoders/pareto.json``) and the per-block breakdown beside it, if committed."""
    if (doc := _doc(results, "pareto/decoders/pareto.json")) is None:
        return "_No committed decoder sweep yet: `bash benchmarks/reproduce.sh pareto-decoders`._\n"
    points = doc.get("points", [])
    cols = [
        Column("point", "name"),
        Column("input", _size),
        Column("decoder", _decoder_label),
        Column("params (M)", lambda p: p.get("params", 0) / 1e6, dec(2)),
        Column("GMACs", "gmacs", dec(3)),
        Column("int8 MB", "size_mb", dec(2)),
        *(Column(h, k, fixed) for h, k in DICE),
        Column("int8 ms 1 thr.", "latency_ms_1t", dec(2)),
        Column("int8 ms 2 thr.", "latency_ms_2t", dec(2)),
        Column("× paper decoder (1 / 2 thr.)", lambda p: speedup(p, points), lambda s: f"{s[0]:.2f} / {s[1]:.2f}"),
    ]
    out = render(points, cols) + (
        f"\n{_source('pareto/decoders/pareto.json', doc)}; int8 ms: end-to-end median, "
        f"{doc.get('latency_method', ALONE_TIMING)}{timing_note(doc)}\n"
    )
    if (bdoc := _doc(results, "pareto/decoders/breakdown.json")) is not None:
        for model in bdoc.get("models", []):
            stages = [s["stage"] for s in model["stages"]]
            cells = []
            for t, timing in model["timing"].items():
                parts = ", ".join(f"{s} {100 * r['share']:.0f} %" for s, r in zip(stages, timing["rows"], strict=True))
                cells.append(f"{t} thr. ({timing['total_ms']:.2f} ms): {parts}")
            out += f"- per-block int8 time of `{model['model']}`: " + "; ".join(cells) + "\n"
        out += f"- breakdown: `{bdoc.get('provenance', {}).get('command', '')}` (`pareto/decoders/breakdown.md`)\n"
    return out


def _lever_label(lever: dict[str, Any]) -> str:
    parts = [
        f"{k}: {', '.join(f'{kk}={x}' for kk, x in v.items()) if isinstance(v, dict) else v}" for k, v in lever.items()
    ]
    return "; ".join(parts) or "baseline"


#: The recipe study's result sets: ISIC (every lever) and the brain MRI check of the levers that held on ISIC.
RECIPE_SETS = (("recipe", "ISIC 2017"), ("recipe-brain", "LGG brain MRI"))


def render_recipe(results: str | os.PathLike[str]) -> str:
    """The training-recipe study (``recipe/pareto.json``, ``recipe-brain/pareto.json``): each lever against the
    seed-to-seed spread of its baseline (:func:`munet.benchmarks.analysis.recipe_study`)."""
    blocks = [b for name, label in RECIPE_SETS if (b := _recipe_block(results, name, label))]
    return "\n".join(blocks) if blocks else "_No committed recipe study yet: `bash benchmarks/reproduce.sh recipe`._\n"


def _recipe_block(results: str | os.PathLike[str], name: str, label: str) -> str:
    if (doc := _doc(results, f"{name}/pareto.json")) is None:
        return ""
    points = doc.get("points", [])
    if not points:
        return f"**{label}**: no finished point yet.\n"
    study = recipe_study(points)
    split = any(p.get("fp_share_int8") is not None for p in points)  # brain MRI: lesion-free images
    cols = [
        Column("point", "point.name"),
        Column("baseline", "reference.name"),
        Column("lever (vs. its baseline)", lambda r: _lever_label(r.lever)),
        Column("seed", lambda r: r.point.get("overrides", {}).get("seed", 0)),
        Column("epochs", "point.epochs"),
        Column("train min", lambda r: r.point["seconds"] / 60 if r.point.get("seconds") is not None else None, dec(1)),
        *(Column(h, f"point.{k}", fixed) for h, k in DICE),
        *[
            Column("Dice int8, lesion images", "point.dice_lesion_int8", fixed),
            Column("lesion-free with a false lesion", "point.fp_share_int8", percent),
        ][: 2 * split],
        Column("Δ int8 vs baseline mean", "delta", signed),
        Column("outside the seed range", lambda r: r.verdict or ""),
    ]
    ranges = "; ".join(
        f"{name} {r.mean:.4f} (range {r.low:.4f}–{r.high:.4f}, {r.seeds} seed{'s' if r.seeds > 1 else ''})"
        for name, r in study.ranges.items()
    )
    repeated = "; ".join(f"{name} {mean:.4f} ({n} seeds, {delta:+.4f})" for name, mean, n, delta in study.repeated)
    return (
        f"**{label}**\n\n"
        + render(study.rows, cols)
        + f"\n- baseline int8 Dice over seeds: {ranges}; per-image means on the validation set "
        f"`{doc.get('val_data', '')}`, masks at the original size\n"
        + (f"- levers over their seeds (int8 mean, Δ vs its baseline mean): {repeated}\n" if repeated else "")
        + f"{_source(f'{name}/pareto.json', doc)}; train min: wall-clock on that machine, conversion "
        "and scoring excluded (not a timing result: other jobs may have shared the machine)\n"
    )


def _lesion(b: Any, key: str) -> Any:
    split = b.shipped.get("lesion_split") or {}
    return split.get(key) if split.get("lesion_free_images") else None


def _flips_ms(b: Any) -> str | None:
    tta = b.shipped.get("tta") or {}
    return f"{tta['ms_per_image_plain']:.1f} / {tta['ms_per_image']:.1f}" if tta else None


BUNDLED_COLUMNS = (
    Column("model", lambda b: f"`{b.name}`"),
    Column("MB", lambda b: f"{b.shipped['size_bytes'] / 1e6:.2f}"),
    Column("input", lambda b: "x".join(str(v) for v in b.shipped.get("input_size", []))),
    Column("val images", "doc.images"),
    Column("Dice float", "floating.per-image.dice", fixed),
    Column("Dice int8", lambda b: b.shipped["per-image"]["dice"], fixed),
    Column("Dice int8 + flips", "shipped.tta.dice", fixed),
    Column("mask Dice vs float", "converted.agreement_with_float.dice", fixed),
    Column("Dice on lesion images", lambda b: _lesion(b, "dice_lesion_images"), fixed),
    Column("lesion-free with a false lesion", lambda b: _lesion(b, "false_positive_share"), percent),
    Column("uncertainty AUROC", "shipped.tta.uncertainty_auroc", dec(2)),
    Column("ms/image 1 thread (+ flips)", _flips_ms),
)


def render_bundled(results: str | os.PathLike[str]) -> str:
    """The bundled models (``edge/models``) as their result folders measured them on the validation sets: the shipped
    file with and without test-time flips, against the float model (:func:`munet.benchmarks.analysis.bundled`)."""
    models = bundled(results)
    if not models:
        return "_No bundled model measured yet: `bash benchmarks/reproduce.sh isic-edge`._\n"
    notes = []
    for b in models:
        notes.append(
            f"- `{b.name}`: `bash benchmarks/reproduce.sh {b.folder}` → `results/{b.folder}/accuracy.md` "
            f"(`{b.doc.get('data', '')}`; {b.doc.get('date', '')[:10]}, {_cpu(b.doc)})"
        )
        if b.rescored is not None:
            notes.append(
                f"  - the file as shipped now (uint8 I/O for MediaPipe, rewritten from that int8-I/O file without "
                f"retraining): `STEP=shipped bash benchmarks/reproduce.sh {b.folder}` → `results/{b.folder}/"
                f"{SHIPPED_DIR}/accuracy.md` ({b.rescored.get('date', '')[:10]}, "
                f"{_cpu(b.rescored)}); Dice float and "
                "mask Dice vs float are the converted file's"
            )
    return (
        render(models, BUNDLED_COLUMNS)
        + "\nDice: per-image means on the validation set, masks at the original size; int8: the shipped file; flips: "
        "`--tta flips` (4 passes); uncertainty AUROC: how well the per-image uncertainty score ranks the images with "
        "Dice < 0.7 first; ms: end-to-end `segment` median on the validation images at their original sizes (decode "
        "excluded, resizing included), interleaved with the flips run.\n" + "\n".join(notes) + "\n"
    )


#: The README's results summary: (dataset, label, result folder, model row); a bundled name (``skin``, ``brain``) in
#: its own folder reads the file as shipped (:func:`munet.benchmarks.analysis.summary`).
SUMMARY_ROWS = (
    ("ISIC 2017 skin lesions", "bundled `skin` (`--preset edge`, 128²)", "isic-edge", "skin"),
    ("ISIC 2017 skin lesions", "paper decoder, α=1.0, 128²", "isic128", "munet_int8"),
    ("ISIC 2017 skin lesions", "paper decoder, α=1.0, 192×256", "isic", "munet_int8"),
    ("LGG brain MRI", "previous `brain` (13 patients, until 2026-12-07)", "brain-edge", "brain_int8_kf"),
    ("LGG brain MRI", "previous `brain` on 70 other patients", "cv-brain/bundled-brain-on-70-new-patients", "brain"),
    ("LGG brain MRI", "paper decoder, α=1.0, 256²", "brain", "munet_int8"),
)
#: Where the summary's links point: the results root as seen from the README (the repository root).
SUMMARY_LINK = "benchmarks/results"


def _short_cpu(cpu: str) -> str:
    """``Intel(R) Xeon(R) Processor`` → ``Intel Xeon``."""
    return cpu.replace("(R)", "").replace("(TM)", "").removesuffix(" Processor").strip()


def _where(doc: dict[str, Any]) -> str:
    """``DATE CPU`` with the CPU name shortened."""
    return f"{doc.get('date', '')[:10]} {_short_cpu((doc.get('machine', {}) or {}).get('cpu', '?'))}"


def render_summary(results: str | os.PathLike[str]) -> str:
    """One short table per dataset (:data:`SUMMARY_ROWS`): int8 per-image Dice, file size and end-to-end median ms at
    1 and 2 threads, with where each was measured and the result folder it comes from."""
    tables: dict[str, list[list[Any]]] = {}
    segment = False  # a row timed only by its accuracy pass
    for dataset, label, folder, model in SUMMARY_ROWS:
        if (s := summary(results, folder, model)) is None:
            continue
        shown = [fixed(v, 1) for v in s.ms]
        if s.segment_ms is not None:
            shown[0] = f"{s.segment_ms:.1f}*"  # no latency pass: the accuracy pass's `segment` median
            segment = True
        timed = f"; ms {_where(s.lat)}" if s.lat and any(v is not None for v in s.ms) else ""
        tables.setdefault(dataset, []).append(
            [label, s.acc.get("images"), fixed(s.row.get("per-image", {}).get("dice"), 3)]
            + [f"{s.row['size_bytes'] / 1e6:.2f}", " / ".join(shown), f"Dice {_where(s.acc)}{timed}"]
            + [f"[`{folder}`]({SUMMARY_LINK}/{folder}/accuracy.md)"]
        )
    header = ("model", "images", "int8 Dice", "MB", "ms 1 / 2 threads", "measured", "results")
    out = [f"**{dataset}**\n\n" + render(cells, header) for dataset, cells in tables.items()]
    if not out:
        return "_No committed results yet: `bash benchmarks/reproduce.sh isic-edge`._\n"
    note = (
        "\nDice: per-image mean of the int8 file (a bundled model: the file as shipped), masks at the original size; "
        "ms: end-to-end median (pre-processing + inference + post-processing) of the result set's latency pass, "
        "every model of the set timed round-robin"
    )
    note += "; *: no latency pass, the 1-thread `segment` median of the accuracy pass.\n" if segment else ".\n"
    return "\n".join(out) + note


#: The cross-validation result folders the README summarises: (folder, data label).
CV_SETS = (("cv-isic", "ISIC 2017"), ("cv-brain", "LGG brain MRI"))
CV_LABELS = {
    "dice": "per-image Dice",
    "jaccard": "Jaccard",
    "isic_jaccard": "thresholded Jaccard",
    "patient_dice": "per-patient volume Dice",
    "lesion_dice": "Dice on tumour slices",
    "false_positive_share": "tumour-free slices flagged",
}


def _pm(stat: dict[str, Any] | None, share: bool = False) -> str:
    if not stat or stat.get("mean") is None:
        return "–"
    scale, unit = (100, " %") if share else (1, "")
    sd = f" ± {scale * stat['sd']:.{1 if share else 3}f}" if stat.get("sd") is not None else ""
    return f"{scale * stat['mean']:.{1 if share else 3}f}{sd}{unit}"


def render_cv(results: str | os.PathLike[str]) -> str:
    """The cross-validation estimates (``cv-*/cv.json``): each point's mean ± sd over folds of the int8 files
    converted as shipped, and a lever's paired difference to the baseline (± SE) with the sweep's verdict."""
    from munet.data import read_folds

    out = []
    for folder, label in CV_SETS:
        path = Path(results) / folder / "cv.json"
        if not path.is_file():
            continue
        doc = _load(path)
        cfg, rows = doc["config"], doc["rows"]
        head = cfg.get("headline", "dice")
        metrics = [head] + [m for m in CV_LABELS if m != head and any(m in r["scores"] for r in rows)]
        items = read_folds(cfg["folds"])
        groups = len({i.group for i in items})
        size = f"{len(items):,} images" + (f", {groups} patients" if groups < len(items) else "")
        cells = []
        for p in doc["summary"]:
            diff = (p.get("vs_baseline") or {}).get(head)
            vs = "baseline" if p["point"] == cfg["baseline"] else "–"
            if diff:
                vs = f"{100 * diff['mean']:+.2f} ± {100 * diff['se']:.2f} points: {diff['verdict']}"
            folds = f"{len(p['folds'])} of {cfg['k']}"
            stats = [_pm(p["metrics"].get(m), m == "false_positive_share") for m in metrics]
            cells.append([f"`{p['point']}`", folds, *stats, vs])
        header = ["recipe", "folds", *(CV_LABELS[m] for m in metrics), f"{CV_LABELS[head]} vs `{cfg['baseline']}`"]
        out.append(
            f"**{label}** ({size} in {cfg['k']} folds of `{cfg['folds']}`; "
            f"[`{folder}`]({SUMMARY_LINK}/{folder}/README.md))\n\n" + render(cells, header)
        )
    if not out:
        return "_No cross-validation yet: `munet-bench cv benchmarks/configs/cv_isic.yaml`._\n"
    return "\n".join(out) + (
        "\nEach fold trains on the other folds, converts its last epoch to int8 as the bundled files are and scores "
        "the held-out fold at the original image size; mean ± sd over folds. A lever's difference is paired fold by "
        "fold (± its standard error); it is a gain or a loss only beyond 2 SE.\n"
    )


def render_models(results: str | os.PathLike[str]) -> str:
    """The bundled models as ``munet-run --list-models`` shows them: file size, input, the recipe's cross-validated
    accuracy and the ms of the shipped file on a named CPU (``edge/models/index.json``'s ``measured`` entries,
    written from ``results`` by :func:`munet.benchmarks.model_index.update_index`)."""
    from munet.benchmarks.model_index import measured
    from munet.edge.bundled import PACKAGE_DIR, bundled_models
    from munet.edge.metadata import read_model_info

    cells = []
    for name, model in bundled_models(PACKAGE_DIR).items():
        m = measured(Path(results), EVIDENCE[name]) if name in EVIDENCE else None
        info = read_model_info(model.path) if model.installed else None
        size = f"{model.path.stat().st_size / 1e6:.2f}" if model.installed else "–"
        accuracy = f"{m['metric']} {m['mean']:.3f} ± {m['sd']:.3f} ({m['folds']} folds)" if m else "–"
        ms = f"{m['ms']:.1f} ({_short_cpu(m['cpu'])})" if m and m.get("ms") is not None else "–"
        shape = "x".join(map(str, info.input_size)) if info else "–"
        cells.append([f"`{name}`", size, shape, accuracy, ms, f"[{model.card}](edge/models/{model.card})"])
    header = ("model", "MB", "input", "accuracy: its recipe's CV, int8 as shipped", "ms/image, 1 thread", "card")
    return render(cells, header)


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
    (CV_START, CV_END, render_cv),
    (MODELS_START, MODELS_END, render_models),
)


def update_readme(readme: str | os.PathLike[str], results: str | os.PathLike[str], check: bool = False) -> bool:
    """Regenerate every block whose start marker stands in ``readme`` (an error if none does); whether it changed
    (``check``: do not write)."""
    readme = Path(readme)
    text = new = readme.read_text()
    blocks = [(start, end, block) for start, end, block in BLOCKS if start in text]
    if not blocks:
        raise InputError(f"{readme}: no generated-block markers (e.g. {START} ... {END}); add them where a table goes")
    for start, end, block in blocks:
        new = replace_between_markers(new, block(results), start, end)
    if new != text and not check:
        write_text_atomic(readme, new)
    return new != text


def generated_files(readme: str | os.PathLike[str], results: str | os.PathLike[str]) -> list[Path]:
    """``readme`` and every ``README.md`` under ``results`` that holds the start marker of a generated block."""
    others = sorted(Path(results).rglob("README.md"))
    others = [
        p for p in others if p.resolve() != Path(readme).resolve() and any(s in p.read_text() for s, _, _ in BLOCKS)
    ]
    return [Path(readme), *others]


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
