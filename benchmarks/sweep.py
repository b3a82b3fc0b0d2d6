"""One sweep engine: every study is a YAML file under ``benchmarks/configs/`` run by ``munet-bench sweep CONFIG``,
naming its ``kind`` (:data:`KINDS`: ``points`` named overrides, ``grid`` alphas x sizes, ``cv`` K-fold paired to a
baseline, ``compare`` the paper's architectures) and that study's settings. Every kind runs through the one
experiment runner (:mod:`munet.benchmarks.experiment`); an unknown key or kind is a one-line error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from munet.benchmarks.experiment import Point, Row, load_points, parse_points
from munet.errors import InputError

__all__ = ["KINDS", "Row", "SweepConfig", "load_sweep", "run_sweep"]

COMMON = ("kind", "name", "data", "runs_dir", "out", "threads", "points")
KINDS: dict[str, tuple[str, ...]] = {
    "points": ("val_data", "epochs", "batch", "runs", "limit", "weights"),
    "grid": ("val_data", "epochs", "batch", "runs", "limit", "weights", "alphas", "sizes"),
    "cv": ("folds", "baseline", "headline", "ship"),
    "compare": ("archs", "budget", "weights", "paper_table", "layout", "folds", "val_fold"),
}


@dataclass
class SweepConfig:
    """A study: its kind, where its data, runs and results are, and the settings of its kind."""

    kind: str
    name: str
    source: Path  # the YAML file (named in errors)
    data: list[Path]
    out: Path
    runs_dir: Path
    threads: int = 2
    points: list[Point] = field(default_factory=list)
    val_data: Path | None = None
    epochs: int = 10
    batch: int = 8
    runs: int = 30
    limit: int | None = None
    weights: Any = None  # points/grid: the alpha=1.0 ImageNet .h5; compare: {arch: imagenet|none|FILE.h5}
    alphas: list[float] = field(default_factory=list)
    sizes: list[tuple[int, int]] = field(default_factory=list)
    archs: list[str] = field(default_factory=list)
    paper_table: str | None = None
    layout: str = "auto"
    settings: dict[str, Any] = field(default_factory=dict)  # cv: folds/baseline/headline/ship; compare: budget


def _size(value: Any) -> tuple[int, int]:
    from munet.edge.preprocess import parse_size

    return tuple(value) if isinstance(value, list) else parse_size(str(value))  # type: ignore[return-value]


def load_sweep(path: str | Path) -> SweepConfig:
    """Read a sweep config; an unknown kind or key, or a missing one, is a one-line :class:`InputError`."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: unreadable sweep config ({str(exc).splitlines()[0]})") from None
    if isinstance(raw, list):
        raise InputError(f"{path}: a points list, not a sweep config; name it in a config's 'points:' (kind: points)")
    if not isinstance(raw, dict):
        raise InputError(f"{path}: a sweep config is a mapping with a kind ({' | '.join(KINDS)})")
    kind = raw.get("kind", "cv" if "folds" in raw else None)  # the cv configs came first, without a kind
    if kind not in KINDS:
        raise InputError(f"{path}: kind {kind!r}: write 'kind: {' | '.join(KINDS)}'")
    known = (*COMMON, *KINDS[kind])
    if unknown := sorted(set(raw) - set(known)):
        raise InputError(f"{path}: unknown key(s) {', '.join(unknown)} for kind {kind}; known: {', '.join(known)}")
    needs = {"points": ("data", "points"), "grid": ("data", "alphas", "sizes"), "compare": ("data", "archs")}
    needs["cv"] = ("folds", "data", "baseline", "points")
    if missing := [k for k in needs[kind] if k not in raw]:
        raise InputError(f"{path}: kind {kind} needs {', '.join(missing)}")
    name = str(raw.get("name") or path.stem)
    data = raw["data"] if isinstance(raw["data"], list) else [raw["data"]]
    points = raw.get("points") or []
    default_out = {"cv": f"benchmarks/results/cv-{name}", "compare": "benchmarks/results"}
    default_runs = {"cv": f"runs/cv/{name}", "compare": "runs/compare"}
    cfg = SweepConfig(
        kind=kind,
        name=name,
        source=path,
        data=[Path(d) for d in data],
        out=Path(raw.get("out") or default_out.get(kind, f"benchmarks/results/{name}")),
        runs_dir=Path(raw.get("runs_dir") or default_runs.get(kind, f"runs/{name}")),
        threads=int(raw.get("threads", 2)),
        points=load_points(points) if isinstance(points, str) else parse_points(points, path) if points else [],
        val_data=Path(raw["val_data"]) if raw.get("val_data") else None,
        epochs=int(raw.get("epochs", 10)),
        batch=int(raw.get("batch", 8)),
        runs=int(raw.get("runs", 30)),
        limit=raw.get("limit"),
        weights=raw.get("weights"),
        alphas=[float(a) for a in raw.get("alphas", [])],
        sizes=[_size(s) for s in raw.get("sizes", [])],
        archs=[str(a) for a in raw.get("archs", [])],
        paper_table=raw.get("paper_table"),
        layout=str(raw.get("layout", "auto")),
        settings={k: raw[k] for k in ("folds", "val_fold", "baseline", "headline", "ship", "budget") if k in raw},
    )
    if kind == "cv":
        cv_config(cfg)  # its own checks now (ship keys, headline, baseline among the points)
    if kind == "compare":
        budget_of(cfg)
        if "val_fold" in raw and "folds" not in raw:
            raise InputError(f"{path}: val_fold needs folds: (the fold file that the pooled data is split by)")
    return cfg


def cv_config(cfg: SweepConfig) -> Any:
    """The :class:`munet.benchmarks.cv.CVConfig` of a ``kind: cv`` sweep."""
    from munet.benchmarks.cv import METRICS, SHIP_KEYS, CVConfig, check_points

    s, where = cfg.settings, cfg.source
    ship = dict(s.get("ship") or {})
    if unknown := sorted(set(ship) - set(SHIP_KEYS)):
        raise InputError(f"{where}: unknown ship key(s) {', '.join(unknown)}")
    if s.get("headline", "dice") not in METRICS:
        raise InputError(f"{where}: headline {s['headline']!r}: choose one of {', '.join(METRICS)}")
    out = CVConfig(
        name=cfg.name,
        folds=Path(s["folds"]),
        data=cfg.data,
        points=cfg.points,
        baseline=str(s["baseline"]),
        headline=str(s.get("headline", "dice")),
        keep_float=list(ship.get("keep_float") or []),
        calibrate_postproc=bool(ship.get("calibrate_postproc", False)),
        calibrate_threshold=bool(ship.get("calibrate_threshold", False)),
        calib_count=int(ship.get("calib_count", 200)),
    )
    out.point(out.baseline)
    check_points(out, where)
    return out


def budget_of(cfg: SweepConfig) -> Any:
    """The :class:`munet.benchmarks.compare.Budget` of a ``kind: compare`` sweep (its ``budget:`` mapping)."""
    from dataclasses import fields

    from munet.benchmarks.compare import Budget

    raw = dict(cfg.settings.get("budget") or {})
    known = [f.name for f in fields(Budget)]
    if unknown := sorted(set(raw) - set(known)):
        raise InputError(f"{cfg.source}: unknown budget key(s) {', '.join(unknown)}; known: {', '.join(known)}")
    if "size" in raw:
        raw["size"] = _size(raw["size"])
    return Budget(**raw)


def run_sweep(
    cfg: SweepConfig,
    reuse: bool = False,
    only_points: Sequence[str] = (),
    only_folds: Sequence[int] = (),
    report_only: bool = False,
    echo: Callable[[str], None] = print,
    command: str | None = None,
    redo: Sequence[str] = (),
) -> dict[str, Any]:
    """Run (or, ``report_only``, re-render) the study of ``cfg``; returns its results JSON as a dict.

    ``only_points``: the points (compare: the archs) to run now; a compare keeps its other committed rows, a
    points sweep refuses it (its table is rewritten whole: run all with ``--reuse``). ``only_folds``: cv only.
    ``redo``: compare archs trained again although ``reuse`` would keep them (their model changed).
    """
    if only_folds and cfg.kind != "cv":
        raise InputError(f"--fold: only cv sweeps have folds ({cfg.source} is kind {cfg.kind})")
    if cfg.kind == "cv":
        from munet.benchmarks.cv import run_cv

        kw = {"only_points": only_points, "only_folds": only_folds, "reuse": reuse, "threads": cfg.threads}
        return run_cv(cv_config(cfg), cfg.out, cfg.runs_dir, echo=echo, report_only=report_only, **kw)
    if only_points and cfg.kind != "compare":
        raise InputError(f"--point: {cfg.source} is one table, rewritten whole; run it all with --reuse instead")
    if report_only:
        return _report(cfg)
    if cfg.kind == "compare":
        return _compare(cfg, reuse, only_points, command, redo)
    from munet.benchmarks.pareto import grid_points, run_pareto

    kw = {k: getattr(cfg, k) for k in ("epochs", "batch", "limit", "weights", "threads", "runs", "out", "runs_dir")}
    points = cfg.points or grid_points(cfg.alphas, cfg.sizes)
    return run_pareto(cfg.data[0], cfg.val_data, points, reuse=reuse, echo=echo, command=command, **kw)


def _report(cfg: SweepConfig) -> dict[str, Any]:
    """Write a points/grid/compare sweep's Markdown (and plot) again from its results JSON; nothing is trained."""
    from munet.benchmarks.analysis import load
    from munet.benchmarks.compare_report import compare_markdown
    from munet.benchmarks.pareto import _write
    from munet.benchmarks.records import write_markdown

    path = cfg.out / (f"compare_{cfg.name}.json" if cfg.kind == "compare" else "pareto.json")
    if (result := load(path, missing_ok=True)) is None:
        raise InputError(f"{path}: no results to report; run the sweep first")
    if cfg.kind == "compare":
        write_markdown(path.with_suffix(".md"), compare_markdown(result))
    else:
        _write(result, cfg.out)
    return result


def _compare(
    cfg: SweepConfig, reuse: bool, only: Sequence[str], command: str | None, redo: Sequence[str]
) -> dict[str, Any]:
    from munet.benchmarks.compare import compare, resolve_split

    if stray := [a for a in only if a not in cfg.archs]:
        raise InputError(f"--point {stray[0]}: not among the archs of {cfg.source} ({', '.join(cfg.archs)})")
    weights = {str(k): str(v) for k, v in (cfg.weights or {}).items()}
    kw = {"layout": cfg.layout, "out_dir": cfg.out, "runs_dir": cfg.runs_dir, "paper_table": cfg.paper_table}
    kw |= {"reuse": reuse, "command": command, "redo": list(redo)}
    if folds := cfg.settings.get("folds"):  # the pooled data split by a committed fold file (one held-out fold)
        from munet.benchmarks.cv import fold_split

        k = int(cfg.settings.get("val_fold", 0))
        split, kw["layout"] = fold_split(cfg.data, Path(folds), k, cfg.runs_dir / cfg.name / "_data"), "folder"
    else:
        split = resolve_split(cfg.data[0])
    return compare(*split, cfg.name, list(only) or cfg.archs, budget_of(cfg), weights, **kw)
