"""K-fold cross-validation: how recipe decisions are made (a ``kind: cv`` sweep; ``munet-bench cv-folds``).

One 200-image validation set cannot resolve a point of Dice, so a lever is judged over K folds of ALL development
data, paired with a baseline trained on the same folds. The folds are a committed CSV (``benchmarks/folds/*.csv``,
:func:`munet.data.make_folds`, grouped: no patient on both sides). Each fold of each point is trained on the
other folds (the sweeps' one resume rule, :func:`munet.benchmarks.experiment.ensure_trained`), its LAST epoch
converted to int8 as the bundled models are (``ship``: float-kept layers, post-processing calibrated on the fold's
training images) and scored at the original size (:func:`fold_scores`). :func:`summarise` gives each point's
mean +- sd over folds and its paired difference to the baseline (+- SE): a gain or a loss only beyond 2 SE. Rows are
saved after every fold, so ``--reuse`` resumes fold by fold, also from the committed results on a fresh machine.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from munet.benchmarks.experiment import Point, Row, overrides_key
from munet.data import Pair, assign_pairs, pooled_pairs, read_folds, subset_folder
from munet.errors import InputError

#: Metrics of a fold row, in report order (``patient_*`` and ``lesion_*`` only on grouped sets such as brain MRI).
METRICS = ("dice", "jaccard", "isic_jaccard", "patient_dice", "lesion_dice", "false_positive_share")
RESULTS_NAME = "cv.json"
#: Keys of a cv point that are not training settings: ``models`` (score another point's fold models: an inference
#: or conversion lever, trained nothing), ``tta`` (the held-out images segmented with test-time flips, as
#: ``munet-run --tta``), ``ship`` (this point's conversion settings over the config's) and ``postproc`` (the
#: mask clean-up of ``munet-run --keep-largest --fill-holes``) and ``compare`` (another point this one is paired
#: with in the report, besides the baseline: e.g. a distilled recipe with the same recipe untaught).
POINT_KEYS = ("models", "tta", "ship", "postproc", "compare")
SHIP_KEYS = ("keep_float", "calibrate_postproc", "calibrate_threshold", "calib_count")
POSTPROC_KEYS = ("keep_largest", "fill_holes")


# ------------------------------------------------------------------------------------------------------- scoring
def fold_scores(
    masks: Sequence[Any], truths: Sequence[np.ndarray], names: Sequence[str], groups: Sequence[str]
) -> dict[str, Any]:
    """A fold's scores (masks or :class:`munet.edge.evaluate.Prediction` s, through the one evaluator): per-image
    Dice, Jaccard and ISIC thresholded Jaccard; on grouped data (several images per group: brain MRI) also the mean
    per-patient volume Dice (each patient's slices pooled), Dice on the images with a lesion and the share of
    lesion-free images given any lesion pixel."""
    from munet.edge.evaluate import evaluate

    ev = evaluate(masks, truths, names, groups)
    s = ev.per_image
    out: dict[str, Any] = {
        "images": len(masks),
        "dice": s["dice"],
        "jaccard": s["iou"],
        "isic_jaccard": s["isic_jaccard"],
    }
    if ev.grouped:
        out |= {
            "patients": ev.patients["patients"],
            "patient_dice": ev.patients["patient_dice"],
            "lesion_dice": ev.split["dice_lesion_images"],
            "false_positive_share": ev.split["false_positive_share"],
        }
    return out


def paired(values: Sequence[float], baseline: Sequence[float]) -> dict[str, Any]:
    """Mean fold-by-fold difference ``values - baseline``, its standard error (sd / sqrt(n), sd with n - 1) and
    the verdict: ``gain``/``loss`` when the mean is more than 2 SE from 0, else ``no difference``."""
    d = np.asarray(values, float) - np.asarray(baseline, float)
    n = len(d)
    mean = float(d.mean()) if n else math.nan
    se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    verdict = "too few folds"
    if n > 1:
        verdict = "gain" if mean > 2 * se else "loss" if mean < -2 * se else "no difference"
    return {"folds": n, "mean": mean, "se": se, "verdict": verdict}


def mean_sd(values: Sequence[float]) -> dict[str, Any]:
    v = np.asarray([x for x in values if x is not None], float)
    return {
        "folds": len(v),
        "mean": float(v.mean()) if len(v) else None,
        "sd": float(v.std(ddof=1)) if len(v) > 1 else None,
    }


# ------------------------------------------------------------------------------------------------------ the sweep
@dataclass
class CVConfig:
    """A cross-validation sweep (``benchmarks/configs/cv_<set>.yaml``): the folds, the pooled data, the points
    (the baseline among them), the headline metric and how each fold's model is converted (``ship``)."""

    name: str
    folds: Path
    data: list[Path]
    points: list[Point]
    baseline: str
    headline: str = "dice"
    keep_float: list[str] = field(default_factory=list)
    calibrate_postproc: bool = False
    calibrate_threshold: bool = False
    calib_count: int = 200

    def point(self, name: str) -> Point:
        for p in self.points:
            if p.name == name:
                return p
        raise InputError(f"{self.name}: no point {name!r}; choose one of: {', '.join(p.name for p in self.points)}")


def training_overrides(point: Point) -> dict[str, Any]:
    """The settings ``point`` trains with (without its :data:`POINT_KEYS`)."""
    return {k: v for k, v in point.overrides.items() if k not in POINT_KEYS}


def teacher_names(overrides: dict[str, Any]) -> list[str]:
    """The teacher points a point names (``teacher: NAME`` or ``[NAME, ...]``; none: [])."""
    names = overrides.get("teacher") or []
    return [names] if isinstance(names, str) else list(names)


def with_teachers(
    cfg: CVConfig, overrides: dict[str, Any], fit: str, setup: Any, echo: Callable[[str], None] = print
) -> dict[str, Any]:
    """``overrides`` with its ``teacher`` points (distillation) replaced by their models of the same fit (``fold<k>``
    or ``final``: trained on exactly the student's images, so a fold's teacher never saw its held-out images),
    each trained first when missing. ``setup`` is the student's :class:`~munet.benchmarks.experiment.Setup`."""
    from munet.benchmarks.experiment import Setup, trained_checkpoint

    if not (names := teacher_names(overrides)):
        return overrides
    paths = []
    for name in names:
        teacher = cfg.point(name)
        # a teacher is trained once (continued when interrupted), never again: reuse
        mine = Setup(
            setup.train_dir, setup.val_dir, setup.runs_dir.parent / name, "auto", threads=setup.threads, reuse=True
        )
        fit_point = Point(fit, training_overrides(teacher) | ({"val_split": 0} if fit == "final" else {}))
        paths.append(str(trained_checkpoint(fit_point, mine, echo, "last.keras")[0]))
    return overrides | {"teacher": paths}


def check_points(cfg: CVConfig, where: str | Path) -> None:
    """One-line :class:`InputError` for a point's ``models`` that names no training point (or comes with
    training settings of its own), a ``teacher`` that is no other training point, a ``compare`` that is no other
    point (or comes with ``models``), an unknown ``tta``, ``ship`` or ``postproc`` key."""
    from munet.edge.tta import TTA_CHOICES

    for p in cfg.points:
        o = p.overrides
        if "models" in o:
            src = next((q for q in cfg.points if q.name == o["models"] and "models" not in q.overrides), None)
            if src is None:
                raise InputError(f"{where}: point {p.name}: models: {o['models']!r} is no training point of this file")
            if own := sorted(training_overrides(p)):
                raise InputError(
                    f"{where}: point {p.name} scores {src.name}'s models and trains nothing: drop {', '.join(own)}"
                )
        if "compare" in o:
            if "models" in o:
                raise InputError(
                    f"{where}: point {p.name} scores {o['models']}'s models and is paired with them: drop compare"
                )
            if o["compare"] == p.name or not any(q.name == o["compare"] for q in cfg.points):
                raise InputError(f"{where}: point {p.name}: compare {o['compare']!r} is no other point of this file")
        for name in teacher_names(o):
            t = next((q for q in cfg.points if q.name == name), None)
            if t is None or "models" in t.overrides or t is p:
                raise InputError(f"{where}: point {p.name}: teacher {name!r} is no other training point of this file")
        if o.get("tta", "none") not in TTA_CHOICES:
            raise InputError(f"{where}: point {p.name}: tta {o['tta']!r}: choose one of {', '.join(TTA_CHOICES)}")
        if unknown := sorted(set(o.get("ship") or {}) - set(SHIP_KEYS)):
            raise InputError(f"{where}: point {p.name}: unknown ship key(s) {', '.join(unknown)}")
        if unknown := sorted(set(o.get("postproc") or {}) - set(POSTPROC_KEYS)):
            raise InputError(
                f"{where}: point {p.name}: unknown postproc key(s) {', '.join(unknown)}: "
                f"choose from {', '.join(POSTPROC_KEYS)}"
            )


def _fold_dirs(folds: dict[int, list[Pair]], k: int, dest: Path) -> tuple[Path, Path]:
    """Fold ``k``'s training (the other folds) and held-out folders of links.

    Made under a lock and kept when they already link exactly these pairs: points run in parallel processes (one
    per point) share them, and one must never empty a folder that another is training from or scoring."""
    train = [p for f, ps in folds.items() if f != k for p in ps]
    dest.mkdir(parents=True, exist_ok=True)
    with _locked(dest / ".lock"):
        return _linked(train, dest / "train"), _linked(folds[k], dest / "val")


def fold_split(data: Sequence[Path], folds_csv: Path, k: int, dest: Path) -> tuple[Path, Path]:
    """Fold ``k`` of the committed fold file over the pooled ``data`` as two folders of links under ``dest/foldK``:
    the other folds (training) and fold ``k`` (held out), no patient on both sides. A ``kind: compare`` config with
    ``folds:`` trains and scores its architectures on this split instead of a ``train/`` + ``val/`` folder."""
    folds = assign_pairs(pooled_pairs(data), read_folds(folds_csv), str(folds_csv))
    if k not in folds:
        raise InputError(f"val_fold {k}: {folds_csv} has folds 0..{len(folds) - 1}")
    return _fold_dirs(folds, k, dest / f"fold{k}")


def _linked(pairs: Sequence[Pair], dest: Path) -> Path:
    """``dest`` as it is when it links exactly ``pairs`` (images and masks), else made afresh."""
    expected = {p.image.name: p.image.resolve() for p in pairs}
    images, masks = dest / "images", dest / "masks"
    if images.is_dir() and masks.is_dir() and len(list(masks.iterdir())) == len(pairs):
        found = {f.name: f.resolve() for f in images.iterdir()}
        if found == expected:
            return dest
    return subset_folder(pairs, None, 0, dest)[0]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` between processes (POSIX ``flock``; no lock where there is none)."""
    try:
        import fcntl
    except ImportError:  # Windows: run one process per fold folder there
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _val_curve(run_dir: Path, key: str = "val_dice_per_image") -> list[float]:
    """Float Keras validation Dice by epoch on the held-out fold (the trainer's log): the epoch-count evidence."""
    log = run_dir / "log.csv"
    if not log.is_file():
        return []
    rows = list(csv.DictReader(log.read_text().splitlines()))
    return [round(float(r[key]), 4) for r in rows if r.get(key)]


def ship_options(cfg: CVConfig, out: Path, calib_data: Path, gate: bool = True, point: Point | None = None) -> Any:
    """The int8 conversion of a fold's or a final fit's model: the config's ``ship`` settings (with ``point``'s own
    ``ship`` over them), calibrated on its training images (a fold's gate is off: its held-out images must choose
    nothing)."""
    from munet.convert.options import ConvertOptions

    ship = {k: getattr(cfg, k) for k in SHIP_KEYS} | dict((point.overrides.get("ship") if point else None) or {})
    return ConvertOptions(
        formats=("int8",),
        out=out,
        calib_data=calib_data,
        calib_count=int(ship["calib_count"]),
        keep_float=tuple(ship["keep_float"] or ()),
        gate=gate,
        calibrate_postproc=bool(ship["calibrate_postproc"]),
        calibrate_threshold=bool(ship["calibrate_threshold"]),
    )


def run_fold(
    cfg: CVConfig,
    point: Point,
    k: int,
    folds: dict[int, list[Any]],
    groups: dict[str, str],
    runs_dir: Path,
    reuse: bool,
    threads: int | None,
    echo: Callable[[str], None] = print,
) -> Row:
    """Train (or reuse) fold ``k`` of ``point``, convert its last epoch as shipped, score the held-out fold.

    A point with ``models: SOURCE`` trains nothing: it takes SOURCE's fold training as it is (training it first
    only if it is missing), converts it with its own ``ship`` settings (or takes SOURCE's int8 file when it has
    none) and scores it with its own ``tta`` and ``postproc``."""
    from munet.atomic import write_json
    from munet.benchmarks.experiment import Setup, reused_row, trained_checkpoint
    from munet.convert.api import convert_all
    from munet.data import load_pairs
    from munet.edge.evaluate import SegmenterPredictor, run_predictor

    # `compare` only changes the report: a fold row is the same with or without it
    scored = {key: v for key, v in point.overrides.items() if key != "compare"}
    fold_point = Point(f"fold{k}", scored, modes=("int8",))
    data = runs_dir / "_data" / f"fold{k}"
    setup = Setup(data / "train", data / "val", runs_dir / point.name, layout="auto", threads=threads, reuse=reuse)
    if (row := reused_row(fold_point, setup, echo)) is not None:
        return row  # scored already: its fold folders are not linked again
    train_dir, val_dir = _fold_dirs(folds, k, data)
    run_dir = setup.runs_dir / fold_point.name
    source = cfg.point(point.overrides["models"]) if "models" in point.overrides else point
    trainer = setup  # a derived point takes its source's fold training as it is (never trained again)
    if source is not point:
        trainer = Setup(setup.train_dir, setup.val_dir, runs_dir / source.name, "auto", threads=threads, reuse=True)
    overrides = with_teachers(cfg, training_overrides(source), fold_point.name, trainer, echo)
    trained = Point(fold_point.name, overrides, modes=("int8",))
    last, epochs, train_s = trained_checkpoint(trained, trainer, echo, "last.keras")
    model = run_dir / "model_int8.tflite"
    if source is not point and "ship" not in point.overrides:
        model = trainer.runs_dir / fold_point.name / "model_int8.tflite"  # the source's file, converted as shipped
    if not model.is_file() or model.parent == run_dir:
        run_dir.mkdir(parents=True, exist_ok=True)
        convert_all(last, ship_options(cfg, model, train_dir, gate=False, point=point), echo=lambda _m: None)
    samples = load_pairs(val_dir)
    clean_up = {k: bool(v) for k, v in (point.overrides.get("postproc") or {}).items()}
    predictor = SegmenterPredictor(model, threads=threads, tta=point.overrides.get("tta", "none"), **clean_up)
    preds = run_predictor(predictor, [s.image for s in samples])
    row = Row(
        point=point.name,
        fold=k,
        overrides=overrides_key(scored),
        epochs=epochs,
        train_s=train_s if source is point else 0.0,  # a derived point trained nothing of its own
        size_bytes=model.stat().st_size,
        val_curve=_val_curve(run_dir),
        scores=fold_scores(
            preds, [s.truth for s in samples], [s.name for s in samples], [groups[s.name] for s in samples]
        ),
    )
    write_json(run_dir / "row.json", row.to_dict())
    return row


def final_fit(
    cfg: CVConfig, point_name: str, runs_dir: Path, reuse: bool = False, echo: Callable[[str], None] = print
) -> Path:
    """Fit ``point_name`` on ALL the config's data (``val_split`` 0: nothing held out; its last epoch, as the folds
    chose nothing either) into ``runs_dir/<point>/final`` and convert it as the folds were; returns the int8 file.

    What it does on unseen data is the point's cross-validated estimate, not anything this run measures. With
    ``reuse`` a finished fit is converted again without training, an interrupted one continues. A point with
    ``models: SOURCE`` converts SOURCE's final fit (trained first if missing) with its own ``ship`` settings.
    """
    from munet.benchmarks.experiment import Setup, trained_checkpoint
    from munet.convert.api import convert_all

    point = cfg.point(point_name)
    source = cfg.point(point.overrides["models"]) if "models" in point.overrides else point
    pairs = pooled_pairs(cfg.data)
    data = subset_folder(pairs, None, 0, runs_dir / "_data" / "all")[0]
    echo(f"[{point.name}/final] {len(pairs)} images, nothing held out")
    setup = Setup(data, None, runs_dir / source.name, layout="auto", reuse=reuse or source is not point)
    overrides = with_teachers(cfg, training_overrides(source) | {"val_split": 0}, "final", setup, echo)
    final = Point("final", overrides, modes=("int8",))
    last, _, _ = trained_checkpoint(final, setup, echo, "last.keras")
    model = runs_dir / point.name / final.name / "model_int8.tflite"
    model.parent.mkdir(parents=True, exist_ok=True)
    convert_all(last, ship_options(cfg, model, data, point=point), echo=echo)
    return model


def load_results(path: Path) -> dict[tuple[str, int], Row]:
    """The fold rows of a results JSON (empty when there is none yet)."""
    from munet.benchmarks.analysis import load

    rows = (load(path, missing_ok=True) or {}).get("rows", [])
    return {(str(r["point"]), int(r["fold"])): Row.from_dict(r) for r in rows}


def summarise(cfg: CVConfig, rows: dict[tuple[str, int], Row], k: int | None = None) -> list[dict[str, Any]]:
    """Per point: mean +- sd of every metric over its folds and, for each metric, the paired difference to the
    baseline over the folds both have. With ``k`` (the fold count) a lever paired on fewer than ``k`` folds gets no
    gain/loss verdict yet: a sweep still running must not decide. A point naming ``models`` or ``compare`` is paired
    with that point too (``vs_ref``: the headline metric)."""
    out = []
    base = {f: r.scores or {} for (p, f), r in rows.items() if p == cfg.baseline}

    def pair(mine: dict[int, dict], theirs: dict[int, dict], metric: str) -> dict[str, Any]:
        both = sorted(set(mine) & set(theirs))
        diff = paired([mine[f][metric] for f in both], [theirs[f][metric] for f in both])
        if k is not None and len(both) < k:
            diff["verdict"] = f"no verdict yet ({len(both)} of {k} folds)"
        return diff

    for point in cfg.points:
        done = {f: r for (p, f), r in sorted(rows.items()) if p == point.name}
        mine = {f: r.scores or {} for f, r in done.items()}
        if not mine:
            continue
        metrics = [m for m in METRICS if all(s.get(m) is not None for s in mine.values())]
        entry: dict[str, Any] = {
            "point": point.name,
            "folds": sorted(mine),
            "train_s": sum(float(r.train_s) for r in done.values()),
            "size_bytes": max(int(r.size_bytes or 0) for r in done.values()),
            "metrics": {m: mean_sd([s[m] for s in mine.values()]) for m in metrics},
        }
        # the lever itself: a derived point paired with the models it scores, a training point with its `compare`
        if src := point.overrides.get("models") or point.overrides.get("compare"):
            theirs = {f: r.scores or {} for (p, f), r in rows.items() if p == src}
            head = cfg.headline
            if (both := set(mine) & set(theirs)) and all(theirs[f].get(head) is not None for f in both):
                entry["vs_ref"] = {"point": src} | pair(mine, theirs, head)
        if point.name != cfg.baseline:
            common = set(mine) & set(base)
            entry["vs_baseline"] = {
                m: pair(mine, base, m) for m in metrics if all(base[f].get(m) is not None for f in common)
            }
        out.append(entry)
    return out


def run_cv(
    cfg: CVConfig,
    out: Path,
    runs_dir: Path,
    only_points: Sequence[str] = (),
    only_folds: Sequence[int] = (),
    reuse: bool = False,
    threads: int | None = 2,
    echo: Callable[[str], None] = print,
    report_only: bool = False,
) -> dict[str, Any]:
    """Run the points x folds of ``cfg`` (or the chosen ones) and write ``out/cv.json`` + ``out/README.md`` after
    every fold. Rows already in ``out/cv.json`` with the same overrides are kept as they are with ``reuse``;
    ``report_only`` trains nothing and writes the report of the rows there are."""
    if report_only:
        rows = load_results(out / RESULTS_NAME)
        if not rows:
            raise InputError(f"{out / RESULTS_NAME}: no fold results to report; run the sweep first")
        return write_results(cfg, out, rows, len({i.fold for i in read_folds(cfg.folds)}))
    items = read_folds(cfg.folds)
    folds = assign_pairs(pooled_pairs(cfg.data), items, str(cfg.folds))
    groups = {i.name: i.group for i in items}
    points = [cfg.point(n) for n in only_points] if only_points else cfg.points
    chosen = list(only_folds) or sorted(folds)
    if bad := [k for k in chosen if k not in folds]:
        raise InputError(f"--fold {bad[0]}: {cfg.folds} has folds 0..{len(folds) - 1}")
    results = out / RESULTS_NAME
    rows = load_results(results)
    for point in points:
        for k in chosen:
            done = rows.get((point.name, k))
            if reuse and done is not None and done.overrides == overrides_key(point.overrides):
                echo(f"[{point.name}/fold{k}] kept from {results}")
                continue
            echo(f"[{point.name}/fold{k}] {len(folds[k])} held-out images")
            rows[(point.name, k)] = run_fold(cfg, point, k, folds, groups, runs_dir, reuse, threads, echo)
            write_results(cfg, out, rows, len(folds))
    return write_results(cfg, out, rows, len(folds))


def write_results(cfg: CVConfig, out: Path, rows: dict[tuple[str, int], Row], k: int) -> dict[str, Any]:
    """``out/cv.json`` (config, summary, fold rows, provenance) and its Markdown ``out/README.md``."""
    from munet.atomic import write_json
    from munet.benchmarks.records import write_markdown
    from munet.device import provenance

    result = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items() if k != "points"}
        | {
            "data": [str(d) for d in cfg.data],
            "k": k,
            "points": {p.name: overrides_key(p.overrides) for p in cfg.points},
        },
        "summary": summarise(cfg, rows, k),
        "rows": [rows[k].to_dict() for k in sorted(rows)],
        "provenance": provenance(),
    }
    write_json(out / RESULTS_NAME, result)
    write_markdown(out / "README.md", cv_markdown(result))
    return result


# ------------------------------------------------------------------------------------------------------- report
def paired_text(d: dict[str, Any] | None) -> str:
    """A paired difference (:func:`paired`, in memory or read back from JSON, where NaN is null) in points:
    ``+0.12 ± 0.34 (no difference)``; ``–`` without common folds."""
    if not d or not d.get("folds"):
        return "–"
    se = "" if d.get("se") is None or math.isnan(d["se"]) else f" ± {d['se'] * 100:.2f}"
    return f"{d['mean'] * 100:+.2f}{se} ({d['verdict']})"


def ref_text(d: dict[str, Any] | None) -> str:
    """A point's paired difference to its reference (the models it scores, or its ``compare`` point), naming it."""
    return f"{paired_text(d)} vs `{d['point']}`" if d else "–"


def cv_markdown(result: dict[str, Any]) -> str:
    """The CV table: per point mean ± sd over folds of the int8 scores, and the paired difference (points, ± SE)
    of the headline metric to the baseline; each fold's scores; the validation curves."""
    from munet.benchmarks.records import provenance_markdown
    from munet.benchmarks.render import Column, dec, pm, render

    cfg, head = result["config"], result["config"]["headline"]
    metrics = [m for m in METRICS if any(m in s["metrics"] for s in result["summary"])]
    points = [
        *(Column("point", "point"), Column("folds done", lambda s: len(s["folds"]))),
        *(Column(m, f"metrics.{m}", pm) for m in metrics),
        Column(
            f"Δ {head} (pts)",
            lambda s: "baseline" if s["point"] == cfg["baseline"] else paired_text(s.get("vs_baseline", {}).get(head)),
        ),
        *(
            [Column(f"Δ {head} vs its reference (pts)", lambda s: ref_text(s.get("vs_ref")))]
            if any("vs_ref" in s for s in result["summary"])
            else []
        ),
        Column("train min (wall)", lambda s: s["train_s"] / 60, dec(0)),
        Column("int8 MB", lambda s: s["size_bytes"] / 1e6, dec(2)),
    ]
    folds = [
        *(Column("point", "point"), Column("fold", "fold"), Column("images", "scores.images")),
        *(Column(m, f"scores.{m}", dec(3)) for m in metrics),
        Column("epochs", "epochs"),
    ]
    return (
        f"# Cross-validation: {cfg['name']}\n\n{cfg['k']}-fold CV on {', '.join(cfg['data'])} (folds: "
        f"`{cfg['folds']}`). Each fold's model is trained on the other folds, its last epoch converted to int8 as the "
        f"bundled models are (float-kept: {', '.join(cfg['keep_float']) or 'none'}; post-processing calibrated on the "
        f"fold's training images: {'yes' if cfg['calibrate_postproc'] else 'no'}) and scored at the original image "
        f"size. Mean ± sd over folds; Δ {head}: paired difference to `{cfg['baseline']}` in points ± its standard "
        f"error (a gain needs more than 2 SE).{_derived_text(result)}\n\n{render(result['summary'], points)}\n\n"
        f"{_curves_markdown(result['rows'])}## Folds\n\n{render(result['rows'], folds)}\n\n"
        f"{provenance_markdown(result['provenance'])}\n"
    )


def _derived_text(result: dict[str, Any]) -> str:
    """What the points that score another point's fold models change (trained nothing of their own), and which
    trained points name a ``compare`` point."""
    points = result["config"]["points"]
    derived = {n: o for n, o in points.items() if "models" in o}
    compared = {n: o["compare"] for n, o in points.items() if "compare" in o}
    text = ""
    if derived:
        what = [
            f"`{n}` = `{o['models']}`'s models"
            + "".join(f", {k} {o[k]}" for k in ("tta", "ship", "postproc") if k in o)
            for n, o in derived.items()
        ]
        text += (
            " Points that score another point's fold models train nothing; their last Δ column pairs them with those "
            f"models: {'; '.join(what)}."
        )
    if compared:
        text += (
            " Trained points paired with another point (`compare`) as well: "
            + "; ".join(f"`{n}` with `{c}`" for n, c in compared.items())
            + "."
        )
    return text


def _curves_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """Float validation Dice by epoch on the held-out folds, averaged over each point's folds: the evidence for
    the epoch count of a final fit on all data (a final fit has no held-out images to choose an epoch)."""
    by_point: dict[str, list[list[float]]] = {}
    for r in rows:
        if r.get("val_curve"):
            by_point.setdefault(r["point"], []).append(r["val_curve"])
    if not by_point:
        return ""
    out = "## Validation Dice by epoch\n\nFloat Keras, per-image, model size, mean over the point's folds.\n\n"
    for point, curves in by_point.items():
        mean = np.mean([c[: min(map(len, curves))] for c in curves], axis=0)
        out += f"- {point} ({len(curves)} folds): " + " ".join(f"{v:.3f}" for v in mean) + "\n"
    return out + "\n"
