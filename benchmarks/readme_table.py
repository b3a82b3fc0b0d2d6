"""Everything generated from ``benchmarks/results/`` (no hand-typed numbers): the blocks of :data:`BLOCKS`, each
between its markers in README.md or a study README (:func:`update_all`), formatting the verdicts of
:mod:`munet.benchmarks.analysis`; and the bundled models' measured entries in ``edge/models/index.json``
(:func:`measured`: their recipe's cross-validation, :data:`EVIDENCE`, and the shipped files' times, :data:`TIMED`).
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from munet.atomic import write_text_atomic
from munet.benchmarks.analysis import load, recipe_study
from munet.benchmarks.compare_report import compare_table
from munet.benchmarks.pareto import ALONE_TIMING, DICE, point_columns
from munet.benchmarks.render import Column, dec, fixed, lookup, percent, pm, render, signed, timing_note
from munet.errors import InputError


def markers(name: str) -> tuple[str, str]:
    """The start and end markers of the generated block ``name`` (:data:`BLOCKS`)."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


START, END = markers("results")


def _doc(results: Path | str, name: str) -> dict[str, Any] | None:
    """The results JSON ``name`` under ``results``; None if not committed."""
    return load(Path(results) / name, missing_ok=True)


def _cpu(doc: dict[str, Any]) -> str:
    return (doc.get("machine") or {}).get("cpu", "?")


def _source(where: str, doc: dict[str, Any]) -> str:
    """``- `where`: `command` (date, cpu, N cores)`` (the opening of a provenance line)."""
    cores = (doc.get("machine") or {}).get("cores", "?")
    return f"- `{where}`: `{doc.get('command', '')}` ({doc.get('date', '')[:10]}, {_cpu(doc)}, {cores} cores)"


HEADER = ("result set", "model", "quantization", "MB", "Dice", "IoU", "mIoU", "ISIC Jaccard", "Dice vs float")
HEADER += ("ms (threads)", "× float32 TFLite")


def render_table(results: Path | str) -> str:
    """Every result set (a folder under ``results`` with an ``accuracy.json``: a latency-only folder, e.g. a
    methodology check, has no Dice to show): its models, accuracy ones first, and one provenance line per file."""
    sets: dict[str, dict[str, dict[str, Any]]] = {}  # set name -> {"accuracy": json, "latency": json}
    for kind in ("accuracy", "latency"):
        for path in sorted(Path(results).rglob(f"{kind}.json")):
            sets.setdefault(path.parent.relative_to(results).as_posix(), {})[kind] = load(path)
    if not (sets := dict(sorted((k, v) for k, v in sets.items() if "accuracy" in v))):
        return "_No committed results yet: run `munet-bench accuracy/latency --out benchmarks/results/NAME`._\n"
    rows, sources = [], []
    for name, data in sets.items():
        acc, lat = data["accuracy"].get("models", {}), data.get("latency", {})
        counts = [str(t) for t in lat.get("threads", [])]
        t = "2" if "2" in counts else (counts[-1] if counts else "")
        for model in [*acc, *(m for m in lat.get("variants", {}) if m not in acc)]:
            a, v = acc.get(model, {}), lat.get("variants", {}).get(model, {})
            quant, size = (a.get(k) or v.get(k) for k in ("quantization", "size_bytes"))
            ms = lookup(v, f"results.{t}.stages.e2e_ms.median")
            int8 = bool(v) and quant == "int8" and v.get("kind") == "tflite"
            rows.append(
                [name, model, quant, None if size is None else size / 1e6]
                + [lookup(a, f"per-image.{k}") for k in ("dice", "iou", "miou", "isic_jaccard")]
                + [lookup(a, "agreement_with_float.dice"), None if ms is None else f"{ms:.1f} ({t})"]
                + [lookup(lat, f"ratios.{t}.int8_vs_float32_tflite_e2e") if int8 else None]
            )
        sources += [_source(f"{name}/{kind}.json".removeprefix("./"), doc) for kind, doc in data.items()]
    return (
        render(rows, HEADER)
        + "\n"
        + "".join(s + "\n" for s in sources)
        + "\nDice/IoU/mIoU/ISIC Jaccard: per-image means on the set's images, masks at the original size; "
        "ms: end-to-end median (pre + inference + post) at the given thread count.\n"
    )


def render_compare(results: Path | str) -> str:
    """One table per ``compare_<name>.json`` (paper Tables 1/2): the one of its ``compare_<name>.md``."""
    root, out = Path(results), []
    for path in sorted(root.glob("compare_*.json")):
        doc = load(path)
        out.append(
            f"**{doc['name']}** ({doc['n_train']} training / {doc['n_val']} validation images): {doc['budget_text']}."
            f"\n\n{compare_table(doc)}{_source(path.relative_to(root).as_posix(), doc['provenance'])}; the paper's "
            f"own values are in `{path.with_suffix('.md').name}`; latency timed {doc.get('latency_method', 'not yet')}"
            f"{timing_note(doc)}\n\n"
        )
    if not out:
        return "_No committed comparison yet: run `munet-bench compare` (see `benchmarks/README.md`)._\n"
    return "".join(out) + (
        "Per-image means of the float32 TFLite masks at the original size (0..1); int8: full-int8 TFLite "
        "calibrated on training images; ms: median LiteRT inference (pre/post-processing excluded).\n"
    )


def render_sweep(results: Path | str, name: str, missing: str) -> str:
    """A points or grid sweep (``name``: its ``pareto.json``): the table of its ``pareto.md``
    (:func:`munet.benchmarks.pareto.point_columns`)."""
    if (doc := _doc(results, name)) is None:
        return missing
    plot = f"; plot: `{Path(name).with_name(doc['plot']).as_posix()}`" if doc.get("plot") else ""
    method = doc.get("latency_method", ALONE_TIMING)
    return render(doc["points"], point_columns(doc)) + (
        f"\n{_source(name, doc)}{plot}; int8 ms: end-to-end median, {method}{timing_note(doc)}\n"
    )


render_pareto = partial(
    render_sweep,
    name="pareto/pareto.json",
    missing="_No committed Pareto sweep yet: run `munet-bench pareto` (see `benchmarks/README.md`)._\n",
)
render_decoders = partial(
    render_sweep,
    name="pareto/decoders/pareto.json",
    missing="_No committed decoder sweep yet: `munet-bench sweep benchmarks/configs/pareto_decoders_sweep.yaml`._\n",
)


def _lever_label(lever: dict[str, Any]) -> str:
    parts = [
        f"{k}: {', '.join(f'{kk}={x}' for kk, x in v.items()) if isinstance(v, dict) else v}" for k, v in lever.items()
    ]
    return "; ".join(parts) or "baseline"


#: The recipe study's result sets: ISIC (every lever) and the brain MRI check of the levers that held on ISIC.
RECIPE_SETS = (("recipe", "ISIC 2017"), ("recipe-brain", "LGG brain MRI"))
RECIPE_COLUMNS = (
    Column("point", "point.name"),
    Column("baseline", "reference.name"),
    Column("lever (vs. its baseline)", "lever", _lever_label),
    Column("seed", lambda r: r.point.get("overrides", {}).get("seed", 0)),
    Column("epochs", "point.epochs"),
    Column("train min", lambda r: r.point["seconds"] / 60 if r.point.get("seconds") is not None else None, dec(1)),
    *(Column(h, f"point.{k}", fixed) for h, k in DICE),
)
#: The brain MRI columns (lesion-free images), then the verdict columns.
LESION_COLUMNS = (
    Column("Dice int8, lesion images", "point.dice_lesion_int8", fixed),
    Column("lesion-free with a false lesion", "point.fp_share_int8", percent),
)
VERDICT_COLUMNS = (
    Column("Δ int8 vs baseline mean", "delta", signed),
    Column("outside the seed range", lambda r: r.verdict or ""),
)


def render_recipe(results: Path | str) -> str:
    """The training-recipe study (``recipe/pareto.json``, ``recipe-brain/pareto.json``): each lever against the
    seed-to-seed spread of its baseline (:func:`munet.benchmarks.analysis.recipe_study`)."""
    blocks = []
    for name, label in RECIPE_SETS:
        if (doc := _doc(results, f"{name}/pareto.json")) is None or not doc.get("points"):
            continue
        study = recipe_study(doc["points"])
        ranges = "; ".join(
            f"{n} {r.mean:.4f} (range {r.low:.4f}–{r.high:.4f}, {r.seeds} seed{'s' if r.seeds > 1 else ''})"
            for n, r in study.ranges.items()
        )
        repeated = "; ".join(f"{n} {mean:.4f} ({k} seeds, {delta:+.4f})" for n, mean, k, delta in study.repeated)
        blocks.append(
            f"**{label}**\n\n"
            + render(study.rows, [*RECIPE_COLUMNS, *LESION_COLUMNS[: 2 * study.lesion_free], *VERDICT_COLUMNS])
            + f"\n- baseline int8 Dice over seeds: {ranges}; per-image means on the validation set "
            f"`{doc.get('val_data', '')}`, masks at the original size\n"
            + (f"- levers over their seeds (int8 mean, Δ vs its baseline mean): {repeated}\n" if repeated else "")
            + f"{_source(f'{name}/pareto.json', doc)}; train min: wall-clock on that machine, conversion "
            "and scoring excluded (not a timing result: other jobs may have shared the machine)\n"
        )
    missing = "_No committed recipe study yet: `munet-bench sweep benchmarks/configs/recipe.yaml`._\n"
    return "\n".join(blocks) if blocks else missing


#: The cross-validation metrics as the README and the index name them.
LABELS = {
    "dice": "per-image Dice",
    "jaccard": "Jaccard",
    "isic_jaccard": "thresholded Jaccard",
    "patient_dice": "per-patient volume Dice",
    "lesion_dice": "Dice on tumour slices",
    "false_positive_share": "tumour-free slices flagged",
}
#: The cross-validation result folders the README summarises: (folder, data label).
CV_SETS = (("cv-isic", "ISIC 2017"), ("cv-brain", "LGG brain MRI"))


def _vs(baseline: str, head: str, p: dict[str, Any]) -> str:
    from munet.benchmarks.cv import paired_text

    if diff := (p.get("vs_baseline") or {}).get(head):
        return paired_text(diff)
    return "baseline" if p["point"] == baseline else "–"


def render_cv(results: Path | str) -> str:
    """The cross-validation estimates (``cv-*/cv.json``): each point's mean ± sd over folds of the int8 files
    converted as shipped, and a lever's paired difference to the baseline (± SE) with the sweep's verdict (and to its
    reference: the models a derived point scores, or a point's ``compare``)."""
    from munet.benchmarks.cv import ref_text
    from munet.data import read_folds

    out = []
    for folder, label in CV_SETS:
        if (doc := _doc(results, f"{folder}/cv.json")) is None:
            continue
        cfg, head = doc["config"], doc["config"].get("headline", "dice")
        metrics = [head] + [m for m in LABELS if m != head and any(m in r["scores"] for r in doc["rows"])]
        items = read_folds(cfg["folds"])
        groups = len({i.group for i in items})
        size = f"{len(items):,} images" + (f", {groups} patients" if groups < len(items) else "")
        share = partial(pm, digits=1, scale=100, unit=" %")
        cols = [
            Column("recipe", lambda p: f"`{p['point']}`"),
            Column("folds", lambda p, k=cfg["k"]: f"{len(p['folds'])} of {k}"),
            *(Column(LABELS[m], f"metrics.{m}", share if m == "false_positive_share" else pm) for m in metrics),
            Column(f"{LABELS[head]} vs `{cfg['baseline']}` (points)", partial(_vs, cfg["baseline"], head)),
        ]
        if any("vs_ref" in p for p in doc["summary"]):
            cols.append(Column("vs its reference (points)", lambda p: ref_text(p.get("vs_ref"))))
        out.append(
            f"**{label}** ({size} in {cfg['k']} folds of `{cfg['folds']}`; "
            f"[`{folder}`](benchmarks/results/{folder}/README.md))\n\n" + render(doc["summary"], cols)
        )
    if not out:
        return "_No cross-validation yet: `munet-bench cv benchmarks/configs/cv_isic.yaml`._\n"
    return "\n".join(out) + (
        "\nEach fold trains on the other folds, converts its last epoch to int8 as the bundled files are and scores "
        "the held-out fold at the original image size; mean ± sd over folds. A lever's difference is paired fold by "
        "fold (± its standard error); it is a gain or a loss only beyond 2 SE.\n"
    )


def _ms_cpu(m: dict[str, Any]) -> str:
    cpu = m["cpu"].replace("(R)", "").replace("(TM)", "").removesuffix(" Processor").strip()  # Intel Xeon
    return f"{m['ms']:.1f} ({cpu})"


def render_models(results: Path | str) -> str:
    """The bundled models as ``munet-run --list-models`` shows them: file size, input, the recipe's cross-validated
    accuracy and the ms of the shipped file on a named CPU (:func:`measured`)."""
    from munet.edge.bundled import PACKAGE_DIR, bundled_models
    from munet.edge.metadata import read_model_info

    rows = [
        {"name": name, "model": model, "m": measured(Path(results), name)}
        | {"info": read_model_info(model.path) if model.installed else None}
        for name, model in bundled_models(PACKAGE_DIR).items()
    ]
    cols = [
        Column("model", lambda r: f"`{r['name']}`"),
        Column("MB", lambda r: r["model"].path.stat().st_size / 1e6 if r["model"].installed else None, dec(2)),
        Column("input", "info.input_size", lambda v: "x".join(map(str, v))),
        Column(
            "accuracy: its recipe's CV, int8 as shipped", "m", lambda m: f"{m['metric']} {pm(m)} ({m['folds']} folds)"
        ),
        Column("ms/image, 1 thread", lambda r: r["m"] if lookup(r, "m.ms") is not None else None, _ms_cpu),
        Column("card", lambda r: f"[{r['model'].card}](edge/models/{r['model'].card})"),
    ]
    return render(rows, cols)


#: Each bundled model's cross-validation result folder (cv.json, under ``benchmarks/results``) and its point that is
#: the shipped recipe.
EVIDENCE = {"skin": ("cv-isic", "photometric-16ep-bce-dice-enc0.3"), "brain": ("cv-brain", "lesion_share-enc0.3")}
#: The latency result folder that timed the shipped files, each under its bundled name.
TIMED = "bundled"


def measured(results: Path, name: str) -> dict[str, Any] | None:
    """The ``measured`` entry of the bundled model ``name`` (None without evidence or until every fold of its
    cross-validation is in)."""
    if name not in EVIDENCE:
        return None
    folder, recipe = EVIDENCE[name]
    cv = load(results / folder / "cv.json", missing_ok=True) or {}
    metric = cv.get("config", {}).get("headline", "dice")
    point = next((p for p in cv.get("summary", []) if p.get("point") == recipe), None)
    stat = (point or {}).get("metrics", {}).get(metric)
    if stat is None or stat.get("folds") != cv.get("config", {}).get("k"):
        return None  # no estimate until every fold is in
    entry: dict[str, Any] = {
        "metric": LABELS.get(metric, metric),
        "mean": round(stat["mean"], 6),  # 6 digits: shown rounded to 3 exactly as the CV tables show them
        "sd": round(stat["sd"], 6),
        "folds": stat["folds"],
        "cv_source": f"benchmarks/results/{folder}",
    }
    lat = load(results / TIMED / "latency.json", missing_ok=True) or {}
    if (ms := lookup(lat, f"variants.{name}.results.1.stages.e2e_ms.median")) is not None:
        entry |= {
            "ms": round(ms, 2),
            "threads": 1,
            "cpu": lat.get("machine", {}).get("cpu", "?"),
            "ms_source": f"benchmarks/results/{TIMED}, {str(lat.get('date', ''))[:10]}",
        }
        entry["cpu_int8"] = lat["machine"]["int8"]
    return entry


def update_index(index: Path | str, results: Path | str, check: bool = False) -> bool:
    """Write each bundled model's ``measured`` entry into ``index``; with ``check`` only report whether it is
    up to date (True) without writing."""
    index, results = Path(index), Path(results)
    if (doc := load(index, missing_ok=True)) is None:
        raise InputError(f"{index}: no index of bundled models")
    new = json.loads(json.dumps(doc))
    for name, entry in new.get("models", {}).items():
        entry.pop("measured", None)
        if (value := measured(results, name)) is not None:
            entry["measured"] = value
    if new == doc:
        return True
    if not check:
        write_text_atomic(index, json.dumps(new, indent=2, ensure_ascii=False) + "\n")
    return False


#: Every generated block by name, with its renderer (each block must stand in one of the files).
BLOCKS = {
    "results": render_table,
    "compare": render_compare,
    "pareto": render_pareto,
    "decoders": render_decoders,
    "recipe": render_recipe,
    "cv": render_cv,
    "models": render_models,
}


def update_readme(readme: Path | str, results: Path | str, check: bool = False) -> bool:
    """Regenerate every block whose start marker stands in ``readme`` (an error if none does); whether it changed
    (``check``: do not write)."""
    readme = Path(readme)
    text = new = readme.read_text()
    if not (names := [name for name in BLOCKS if markers(name)[0] in text]):
        raise InputError(f"{readme}: no generated-block markers (e.g. {START} ... {END}); add them where a table goes")
    for name in names:
        (start, end), block = markers(name), BLOCKS[name](results)
        if (j := new.find(end)) < (i := new.find(start)):
            raise InputError(f"{readme}: markers {start} ... {end} not found; add them where the generated table goes")
        new = new[: i + len(start)] + "\n" + block.rstrip("\n") + "\n" + new[j:]
    if new != text and not check:
        write_text_atomic(readme, new)
    return new != text


def update_all(readme: Path | str, results: Path | str, check: bool = False) -> dict[Path, bool]:
    """Regenerate the blocks of ``readme`` and of every ``README.md`` under ``results`` that holds a start marker;
    ``{file: changed}`` (``check``: write nothing). Every block of :data:`BLOCKS` must stand in one of these files,
    so a block whose markers were lost in a move is an error, not a silently unchecked table."""
    starts = [markers(name)[0] for name in BLOCKS]
    texts = {Path(readme): Path(readme).read_text()}
    for path in sorted(Path(results).rglob("README.md")):
        if path.resolve() != Path(readme).resolve() and any(s in (text := path.read_text()) for s in starts):
            texts[path] = text
    if missing := [" ... ".join(markers(n)) for n in BLOCKS if not any(markers(n)[0] in t for t in texts.values())]:
        names = ", ".join(p.as_posix() for p in texts)
        raise InputError(f"markers {'; '.join(missing)} not found in {names}; add them where the generated table goes")
    return {path: update_readme(path, results, check=check) for path in texts}
