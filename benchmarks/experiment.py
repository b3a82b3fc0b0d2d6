"""The one experiment runner under every sweep: a :class:`Point` (a name, ``TrainConfig`` overrides, conversion
modes) -> run folder, TFLite files, scores, one typed :class:`Row` (:func:`run_point`). The one resume rule
(:func:`reused_row`, :func:`ensure_trained`): with ``reuse`` a scored row is taken as it is (refused when made with
other overrides), a finished training is converted and scored again, an interrupted one continues. The one
re-timing path (:func:`time_rows`) times all rows round-robin in one pass, under the same load.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from munet.errors import InputError


@dataclass
class Point:
    """One experiment: a name (its run folder), training-config overrides and the conversion modes."""

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    modes: tuple[str, ...] = ("float32", "int8")


@dataclass
class Row:
    """One result row of every sweep: a trained, converted and scored point (``run_point``) or a cross-validation
    fold (``point`` + ``fold``). ``to_dict`` writes the JSON the results hold (unset fields left out, in this
    order), ``from_dict`` reads it back (keys of older rows it does not know are kept in ``extra``)."""

    name: str | None = None  # a sweep point's run folder
    point: str | None = None  # cross-validation: the point and the held-out fold
    fold: int | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    modes: list[str] | None = None
    run_dir: str | None = None
    epochs: int = 0
    train_s: float = 0.0
    params: int | None = None
    macs: int | None = None
    size_bytes: int | None = None
    val_curve: list[float] | None = None
    keras_val: dict[str, Any] | None = None
    stopped: str | None = None  # the trainer's collapse stop (written for every sweep point, null or not)
    models: dict[str, dict[str, Any]] | None = None  # mode -> {path, size_bytes}
    latency: dict[str, Any] | None = None  # "<mode>@<threads>" -> median/p10/p90/runs ms
    scores: dict[str, Any] | None = None
    agreement: dict[str, Any] | None = None
    split: dict[str, Any] | None = None
    timed_on: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Row:
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        return cls(**{k: v for k, v in d.items() if k in known}, extra={k: v for k, v in d.items() if k not in known})

    def to_dict(self) -> dict[str, Any]:
        out = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "extra" and (getattr(self, f.name) is not None or (f.name == "stopped" and self.name))
        }
        return out | self.extra

    def model_path(self, mode: str) -> Path | None:
        path = (self.models or {}).get(mode, {}).get("path")
        return Path(path) if path else None


@dataclass
class Setup:
    """What every point of a sweep shares: data, where runs go, calibration, scoring threads, reuse."""

    train_dir: Path
    val_dir: Path | None  # None: a final fit (the point sets val_split 0)
    runs_dir: Path
    layout: str = "folder"
    calib_count: int = 64
    threads: int | None = 1
    reuse: bool = False
    verbose: int | None = None
    models_dir: Path | None = None  # default: the point's run folder
    model_stem: str = "model"  # files: <stem>_<mode>.tflite


def load_points(path: str | os.PathLike[str]) -> list[Point]:
    """Points of a YAML file: a list of ``{name: ..., <TrainConfig key>: value, ...}`` (or ``overrides: {...}``)."""
    import yaml

    path = Path(path)
    try:
        items = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: unreadable points file ({str(exc).splitlines()[0]})") from None
    return parse_points(items, path)


def parse_points(items: Any, where: str | os.PathLike[str]) -> list[Point]:
    """Points of a parsed YAML list (``where`` names it in errors)."""
    if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("name") for i in items):
        raise InputError(f"{where}: expected a YAML list of mappings, each with a name, e.g. '- name: slim'")
    points = []
    for item in items:
        item = dict(item)
        name = str(item.pop("name"))
        overrides = dict(item.pop("overrides", {}) or {}) | item
        points.append(Point(name, overrides))
    names = [p.name for p in points]
    if len(set(names)) != len(names):
        raise InputError(f"{where}: point names must be unique (they name the run folders)")
    return points


def _jsonable(d: dict[str, Any]) -> Any:
    return json.loads(json.dumps(d, default=str))


def overrides_key(overrides: dict[str, Any]) -> dict[str, Any]:
    """A point's overrides as results record them (JSON values, without the machine-specific weights path)."""
    return {k: v for k, v in _jsonable(overrides).items() if k != "encoder_weights"}


def has_run(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a scored row or a finished training that ``--reuse`` would take."""
    return (run_dir / "row.json").is_file() or _finished(run_dir) is not None


def _progress(run_dir: Path) -> dict[str, Any] | None:
    """The trainer's ``state/progress.json`` of ``run_dir`` (None: no training there)."""
    progress = run_dir / "state" / "progress.json"
    return json.loads(progress.read_text()) if progress.is_file() else None


def _finished(run_dir: Path) -> dict[str, Any] | None:
    state = _progress(run_dir)
    return state if state and state.get("finished") else None


def point_config(point: Point, setup: Setup, run_dir: Path) -> Any:
    """The ``TrainConfig`` that trains ``point`` into ``run_dir`` (no early stopping unless it sets patience)."""
    from munet.train.config import make_config

    base = {"data": str(setup.train_dir), "dataset": setup.layout}
    if setup.val_dir is not None:
        base["val_data"] = str(setup.val_dir)
    cfg = make_config(overrides={**base, **point.overrides, "out": str(run_dir)})
    if "patience" not in point.overrides:  # the same number of epochs for every point
        cfg = dataclasses.replace(cfg, patience=cfg.epochs + 1).validate()
    return cfg


def interrupted(point: Point, setup: Setup, run_dir: Path) -> int | None:
    """The epochs an interrupted training of ``point`` in ``run_dir`` completed, when it can be continued: its
    ``state/progress.json`` is unfinished and its saved config is the one ``point`` trains with (None otherwise)."""
    from munet.train.config import config_from_run

    try:
        state = _progress(run_dir)
        if state is None or state.get("finished") or not (run_dir / "config.yaml").is_file():
            return None
        saved = config_from_run(run_dir)
    except (OSError, ValueError, InputError):
        return None
    if dataclasses.asdict(saved) != dataclasses.asdict(point_config(point, setup, run_dir)):
        return None
    return int(state.get("epoch", 0))


class TrainingInterrupted(KeyboardInterrupt):
    """A point's training stopped on Ctrl-C (SIGINT) after a finished epoch: the whole sweep stops, nothing of the
    point is converted or scored, and ``reuse`` continues its training next time."""


def train_point(point: Point, setup: Setup, run_dir: Path, resume: bool = False) -> int:
    """Train ``point`` into ``run_dir`` from scratch (or continue it: ``resume``); returns the epochs completed.

    Raises :class:`TrainingInterrupted` when the trainer stopped early on SIGINT (a partly trained point must not
    become a row that ``reuse`` would later take as finished).
    """
    from munet.train.trainer import train

    cfg = point_config(point, setup, run_dir)
    kw = {} if setup.verbose is None else {"verbose": setup.verbose}
    result = train(cfg, resume=resume, **kw)
    if result.interrupted:
        message = (
            f"[{point.name}] interrupted after epoch {result.epochs_completed} of {cfg.epochs}, not converted or "
            f"scored; {run_dir} keeps the finished epochs (compare/pareto with --reuse continue it)"
        )
        print(message, file=sys.stderr, flush=True)
        raise TrainingInterrupted(message)
    return int(result.epochs_completed)


def convert_point(best: Path, point: Point, setup: Setup, run_dir: Path) -> dict[str, Path]:
    """Every mode of ``point`` from one traced model (int8 calibrated on the training images)."""
    from munet.convert.api import Converter

    folder = setup.models_dir or run_dir
    paths: dict[str, Path] = {}
    with Converter(best) as conv:
        for mode in point.modes:
            if mode == "int8":
                conv.set_calibration(setup.train_dir, calib_count=setup.calib_count)
            paths[mode] = conv.convert(mode, folder / f"{setup.model_stem}_{mode}.tflite").path
    return paths


def complexity_of(best: Path) -> tuple[int, int]:
    """(parameters, MACs at the trained input size) of a ``.keras`` model."""
    import keras

    import munet.train.keras_metrics  # noqa: F401
    import munet.train.losses  # noqa: F401  (registers the custom objects in checkpoints)
    import munet.train.models.layers  # noqa: F401
    from munet.train.models.complexity import complexity

    c = complexity(keras.models.load_model(best, compile=False))
    return int(c.params), int(c.macs)


def score_models(models: dict[str, Path], samples: Sequence[Any], threads: int | None) -> dict[str, Any]:
    """``{"scores": {mode: score}, "agreement": {mode: vs float32}, "split": {mode: lesion split}}`` of TFLite models
    on (image, truth) samples: each model through the edge Segmenter (its metadata's threshold and post-processing,
    masks at the original size) and the one evaluator (:mod:`munet.edge.evaluate`; ``split``: its lesion split)."""
    from munet.edge.evaluate import SegmenterPredictor, evaluate, run_predictor

    images, truths, names = [s.image for s in samples], [s.truth for s in samples], [s.name for s in samples]
    preds = {mode: run_predictor(SegmenterPredictor(path, threads=threads), images) for mode, path in models.items()}
    out: dict[str, Any] = {"scores": {}, "agreement": {}, "split": {}}
    for mode, p in preds.items():
        ref = preds["float32"] if mode != "float32" and "float32" in preds else None
        ev = evaluate(p, truths, names, reference=ref)
        out["scores"][mode] = ev.scores
        out["split"][mode] = ev.split  # tumour-free slices apart (brain MRI)
        if ev.agreement is not None:
            out["agreement"][mode] = {k: ev.agreement[k] for k in ("dice", "pooled_dice", "empty_mismatches")}
    return out


def reused_row(point: Point, setup: Setup, echo: Callable[[str], None] = print) -> Row | None:
    """With ``reuse``, the scored row of ``point`` in ``runs_dir/<name>/row.json`` (refused when it was made with
    other overrides); None when there is none to take."""
    row_path = setup.runs_dir / point.name / "row.json"
    if not (setup.reuse and row_path.is_file()):
        return None
    raw = json.loads(row_path.read_text())
    overrides = _jsonable(point.overrides)
    # a sweep row records the overrides as given, a cv row without the machine-specific weights path
    if "overrides" in raw and raw["overrides"] not in (overrides, overrides_key(point.overrides)):
        raise InputError(
            f"{row_path}: made with other settings ({raw['overrides']} vs {overrides}); "
            "drop --reuse or use another --runs-dir"
        )
    echo(f"[{point.name}] reusing the scored row {row_path}")
    return Row.from_dict(raw)


def ensure_trained(point: Point, setup: Setup, echo: Callable[[str], None] = print) -> tuple[int, float]:
    """The one resume rule of every sweep: train ``point`` into ``runs_dir/<name>``, or with ``reuse`` take its
    finished training as it is, or continue its interrupted one (same settings); returns (epochs, training s)."""
    run_dir = setup.runs_dir / point.name
    t0 = time.perf_counter()
    state = _finished(run_dir) if setup.reuse else None
    if state is not None:
        echo(f"[{point.name}] reusing the finished run in {run_dir}")
        epochs = int(state.get("epoch", 0))
    elif setup.reuse and (done := interrupted(point, setup, run_dir)) is not None:
        echo(f"[{point.name}] continuing the interrupted training in {run_dir} after epoch {done}")
        epochs = train_point(point, setup, run_dir, resume=True)
        state = _finished(run_dir)
    else:
        if run_dir.exists():
            echo(f"[{point.name}] {run_dir} holds no training these settings can continue: starting it again")
            shutil.rmtree(run_dir)
        echo(f"[{point.name}] training {_jsonable(point.overrides)}")
        epochs = train_point(point, setup, run_dir)
    train_s = round(time.perf_counter() - t0, 1)
    if state is not None and state.get("wall_s") is not None:  # a reused/continued training: its own wall time
        train_s = round(float(state["wall_s"]), 1)
    return epochs, train_s


def trained_checkpoint(
    point: Point, setup: Setup, echo: Callable[[str], None] = print, checkpoint: str = "best.keras"
) -> tuple[Path, int, float]:
    """:func:`ensure_trained`, then the run's ``checkpoint`` (``best.keras``; cross-validation: ``last.keras``);
    returns (its path, epochs, training s)."""
    epochs, train_s = ensure_trained(point, setup, echo)
    path = setup.runs_dir / point.name / checkpoint
    if not path.is_file():
        raise InputError(f"{path.parent}: training left no {checkpoint} (interrupted before its first epoch?)")
    return path, epochs, train_s


def run_point(
    point: Point, setup: Setup, samples: Sequence[Any] | None = None, echo: Callable[[str], None] = print
) -> Row:
    """Train (or reuse), convert, score one point; its row (also in ``runs_dir/<name>/row.json``)."""
    from munet.atomic import write_json

    if (row := reused_row(point, setup, echo)) is not None:
        return row
    run_dir = setup.runs_dir / point.name
    best, epochs, train_s = trained_checkpoint(point, setup, echo)
    params, macs = complexity_of(best)
    models = convert_point(best, point, setup, run_dir)
    metrics = run_dir / "metrics.json"
    row = Row(
        name=point.name,
        overrides=_jsonable(point.overrides),
        modes=list(point.modes),
        run_dir=run_dir.as_posix(),
        epochs=epochs,
        train_s=train_s,
        params=params,
        macs=macs,
        keras_val=json.loads(metrics.read_text()).get("per-image", {}) if metrics.is_file() else {},
        stopped=(_progress(run_dir) or {}).get("collapsed"),  # the trainer's collapse stop: fewer epochs
        models={m: {"path": p.as_posix(), "size_bytes": p.stat().st_size} for m, p in models.items()},
        latency={},
    )
    if samples is not None:
        scored = score_models(models, samples, setup.threads)
        row.scores, row.agreement, row.split = scored["scores"], scored["agreement"], scored["split"]
    write_json(run_dir / "row.json", row.to_dict())
    return row


def time_rows(
    rows: Sequence[Row], variants: Sequence[tuple[str, int]], frame: Any, runs: int, end_to_end: bool = False
) -> dict[str, Any] | None:
    """The one re-timing path of every sweep: each row's ``(mode, threads)`` variants timed round-robin in one pass
    into ``row.latency`` (``"<mode>@<threads>"``: median/p10/p90/runs ms). Rows whose model files are gone keep
    their timing. Returns the pass's machine record and busy reasons (None when nothing could be timed)."""
    from munet.benchmarks.workers import timed_pass

    todo = [
        (r, f"{mode}@{threads}", path, threads)
        for r in {id(r): r for r in rows}.values()  # a row shared by several entries (one untrained copy) once
        for mode, threads in variants
        if (path := r.model_path(mode)) is not None and path.is_file()
    ]
    if not todo:
        return None
    res = timed_pass([(p, t) for _, _, p, t in todo], frame, runs, end_to_end=end_to_end)
    for (r, key, _, _), stats in zip(todo, res["results"], strict=True):
        r.latency = {**(r.latency or {}), key: stats}
    return {"machine": res["machine"], "busy": res["busy"], "end_to_end": end_to_end, "runs": runs}


#: ``timed_on`` of a row timed on an untrained copy of its architecture (its trained models were gone).
UNTRAINED = "untrained copy"


#: The config keys that fix a network's graph (and so its LiteRT time); training keys do not.
ARCH_KEYS = ("arch", "alpha", "input_size", "decoder_upsample", "decoder_conv", "decoder_filters", "decoder_head")


def untrained_copy(
    name: str,
    overrides: dict[str, Any],
    setup: Setup,
    cache: dict[str, Row],
    modes: Sequence[str],
    echo: Callable[[str], None] = print,
) -> Row:
    """A timing row for a kept row whose models are gone: its architecture (``overrides``) built untrained and
    converted like a run into ``runs_dir/arch-<n>/``, once per architecture (``cache``). LiteRT's time does not
    depend on the weights; an untrained encoder has the ImageNet one's graph and needs no weight file."""
    from munet.benchmarks.retime import architecture_models
    from munet.train.config import make_config

    untrained = {**overrides, "encoder_weights": "none"}
    cfg = make_config(overrides={"data": str(setup.train_dir), **untrained})
    key = json.dumps({k: getattr(cfg, k) for k in ARCH_KEYS}, default=str, sort_keys=True)
    if key not in cache:
        folder = setup.runs_dir / f"arch-{len(cache)}"
        echo(f"[{name}] timing an untrained copy of its architecture ({folder})")
        kw = {"modes": tuple(modes), "calib_count": setup.calib_count}
        paths = architecture_models(untrained, setup.train_dir, folder, **kw)
        models = {m: {"path": p.as_posix()} for m, p in paths.items()}
        cache[key] = Row(name=folder.name, models=models, timed_on=UNTRAINED)
    return cache[key]
