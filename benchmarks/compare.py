"""The paper's comparison (Tables 1 and 2), a ``kind: compare`` sweep: every ``archs`` entry (``ARCH`` or
``ARCH@none|imagenet``) is one experiment point trained with the one :class:`Budget`, converted, scored at the
original size and timed with the others in one pass, into ``OUT/compare_<name>.{json,md}``. ``--reuse`` resumes the
committed JSON made with the same budget (:func:`resumable`); rows whose models are gone are timed on an untrained
copy of their architecture. A row is **learned** when its float32 Dice clears both trivial predictions
(:func:`trivial_dice`, :func:`munet.benchmarks.analysis.is_learned`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from munet.benchmarks.analysis import TRIVIAL, is_learned, load
from munet.benchmarks.compare_report import ARCHS, compare_markdown
from munet.benchmarks.experiment import UNTRAINED, Point, Row, Setup, run_point, time_rows, untrained_copy
from munet.data import subset_folder
from munet.errors import InputError, MunetError

#: Row labels of the comparison (an ``ARCH@none|imagenet`` entry adds its encoder start).
LABELS = {
    "unet-vgg19": "U-Net with VGG-19",
    "segnet": "SegNet",
    "unet-resnet50": "U-Net with ResNet-50",
    "fcn": "FCNet (FCN-8s)",
    "unet": "U-Net",
    "munet": "MU-Net (proposed)",
}
#: The TFLite variants of every architecture (scored, and timed in one pass).
MODES = ("float32", "int8")
#: Budget fields that change neither training nor scoring (every row is timed again in each run's pass), so a
#: committed comparison whose budget differs only in them is resumed with ``--reuse``.
TIMING_ONLY = ("latency_runs", "threads")
_say = partial(print, flush=True)


@dataclass
class Budget:
    """What every architecture gets: the same data, size, epochs and optimiser settings."""

    size: tuple[int, int] = (128, 128)
    epochs: int = 10
    batch: int = 8
    lr: float = 1e-3
    loss: str = "focal-tversky"
    lesion_share: float = 0.0  # share of each batch drawn from lesion images (0: the data's own share)
    seed: int = 0
    train_limit: int | None = None
    val_limit: int | None = None
    alpha: float = 1.4  # MU-Net only
    calib_count: int = 100
    latency_runs: int = 20
    threads: int = 1
    monitor: str = "val_dice_per_image"  # the kept epoch: by the Dice the table reports (per image)
    # training batches whose BatchNorm statistics replace the moving ones before each validation (0: off): rows
    # whose moving statistics lag their weights otherwise validate, checkpoint and convert a collapsed network
    precise_bn: int = 0

    def describe(self) -> str:
        (h, w), share = self.size, self.lesion_share
        draws = f"{share:.0%} of draws from images with a lesion, " if share else ""
        images = [
            f"{n} {what} images" if n else f"all {what} images"
            for n, what in ((self.train_limit, "training"), (self.val_limit, "validation"))
        ]
        return (
            f"{h}x{w} inputs, {self.epochs} epochs (no early stopping), batch {self.batch}, Adam lr {self.lr:g}, "
            f"{self.loss} loss, {draws}flips + rotation, seed {self.seed}, {', '.join(images)}; "
            f"MU-Net alpha {self.alpha}; epoch kept by {self.monitor}"
            + (f"; precise BN over {self.precise_bn} training batches before validation" if self.precise_bn else "")
        )

    def overrides(self) -> dict[str, Any]:
        """The training-config keys every architecture shares (the runner sets patience: no early stopping)."""
        keys = ("alpha", "epochs", "batch", "lr", "loss", "seed", "monitor")
        optional = ("lesion_share", "precise_bn")  # only when set: older rows' overrides stay equal
        extra = {k: getattr(self, k) for k in optional if getattr(self, k)}
        return {"size": list(self.size), **{k: getattr(self, k) for k in keys}, **extra}


@dataclass
class ArchResult:
    """One row of the comparison."""

    arch: str
    label: str
    encoder_weights: str
    imagenet: bool
    params: int = 0
    macs: int = 0
    macs_256: int = 0
    train_s: float = 0.0
    epochs: int = 0
    keras_val: dict[str, Any] = field(default_factory=dict)  # trainer's metrics.json (older rows: model size)
    float32: dict[str, float] = field(default_factory=dict)  # TFLite float32, original-size masks
    int8: dict[str, float] = field(default_factory=dict)  # TFLite int8, original-size masks
    float32_pixel: dict[str, float] = field(default_factory=dict)  # same masks, counts pooled over images
    # float32 masks on lesion and lesion-free images apart (munet.benchmarks.accuracy.lesion_split)
    lesion_split: dict[str, Any] = field(default_factory=dict)
    int8_dice_drop: float | None = None
    float_ms: float | None = None
    int8_ms: float | None = None
    float_ms_p10: float | None = None
    int8_ms_p10: float | None = None
    float_mb: float | None = None
    int8_mb: float | None = None
    run_dir: str = ""
    timed_on: str | None = None  # UNTRAINED when timed on an untrained copy of the architecture (models gone)
    error: str | None = None
    learned: bool | None = None  # float32 Dice >= LEARNED_MARGIN above both trivial predictions (None: not judged)
    stopped: str | None = None  # why training ended before the budget's epochs (the trainer's collapse stop)


def resolve_split(data: Path) -> tuple[Path, Path]:
    """``DATA/train`` + ``DATA/val`` of a compare config's ``data``."""
    train, val = data / "train", data / "val"
    for p in (train, val):
        if not p.is_dir():
            raise InputError(f"{p}: no such folder; a compare config's data needs train/ and val/ subfolders")
    return train, val


def parse_arch(entry: str, spec: dict[str, str]) -> tuple[str, str, str]:
    """``(registry name, encoder weights, row label)`` of an ``archs`` entry ``ARCH`` or ``ARCH@none|imagenet``."""
    arch, sep, start = entry.partition("@")
    if not sep:
        return arch, spec.get(arch, "none"), LABELS.get(arch, arch)
    if start not in ("none", "imagenet"):
        raise MunetError(f"archs {entry!r}: expected ARCH@none or ARCH@imagenet (weight files go in weights:)")
    return arch, start, f"{LABELS.get(arch, arch)}, {'from scratch' if start == 'none' else 'ImageNet'}"


def table_order(row: dict[str, Any]) -> tuple[int, bool]:
    """Sort key of a row: its architecture's place in the paper's tables (:data:`ARCHS`), plain entry first."""
    arch, sep, _ = row["arch"].partition("@")
    return (ARCHS.index(arch) if arch in ARCHS else len(ARCHS), bool(sep))


def resumable(path: Path, budget: Budget, n_train: int, n_val: int) -> dict[str, Any] | None:
    """The committed comparison at ``path`` when it was made with ``budget`` on as many images (None: no file): the
    table-level half of the one resume rule (its rows are then kept by entry).

    Budgets are compared without :data:`TIMING_ONLY`; another budget or image count raises :class:`InputError`.
    """
    if (old := load(path, missing_ok=True)) is None:
        return None
    made = {**asdict(Budget()), **old.get("budget", {})}  # a field added since then had its default

    def training(b: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        kept = {k: v for k, v in json.loads(json.dumps(b)).items() if k not in TIMING_ONLY}
        return kept | {"n_train": result.get("n_train"), "n_val": result.get("n_val")}

    now, then = training(asdict(budget), {"n_train": n_train, "n_val": n_val}), training(made, old)
    if now != then:
        diff = ", ".join(f"{k} {then.get(k)} -> {v}" for k, v in now.items() if then.get(k) != v)
        fix = "give the config another name or drop --reuse"
        raise InputError(f"{path}: made with another budget or data ({diff}); {fix}")
    return old


def trivial_dice(truths: Sequence[Any]) -> dict[str, float]:
    """``{"all-empty": ..., "all-full": ...}``: the per-image mean Dice of the rows' scorer
    (:func:`munet.edge.evaluate.evaluate`) for every mask predicted empty / full. An empty prediction of an empty
    truth scores 1, so on brain MRI "all-empty" scores the share of tumour-free slices (e.g. 0.66), not 0."""
    import numpy as np

    from munet.edge.evaluate import evaluate

    masks = [np.asarray(t) for t in truths]
    if not masks:
        raise InputError("no validation masks to score the trivial predictions on")
    return {
        name: evaluate([np.full(m.shape, fill, dtype=bool) for m in masks], masks).per_image["dice"]
        for name, fill in zip(TRIVIAL, (False, True), strict=True)
    }


def mark_learned(result: dict[str, Any], trivial: dict[str, float]) -> dict[str, Any]:
    """``result`` with ``trivial`` stored and ``learned`` set on every row (in place; returned for chaining)."""
    result["trivial"] = {k: float(trivial[k]) for k in TRIVIAL}
    for row in result["models"]:
        row["learned"] = is_learned(row, result["trivial"])
    return result


def macs_256(arch: str, size: Sequence[int], alpha: float, macs: int) -> int:
    """MACs of ``arch`` at the paper's 256x256 (``macs`` itself when it was trained at that size)."""
    if tuple(size) == (256, 256):
        return macs
    from munet.train.models.complexity import measure

    return int(measure(arch, (256, 256), **({"alpha": alpha} if arch == "munet" else {})).macs)


def latency_of(row: Row | None, threads: int) -> dict[str, float]:
    """``float_ms``/``int8_ms`` and their 10th percentiles from a row's timing pass (empty when not timed)."""
    out: dict[str, float] = {}
    for mode, key in (("float32", "float"), ("int8", "int8")):
        if stats := ((row and row.latency) or {}).get(f"{mode}@{threads}"):
            out |= {f"{key}_ms": stats["median"], f"{key}_ms_p10": stats["p10"]}
    return out


def arch_result(row: Row, entry: str, label: str, threads: int) -> ArchResult:
    """The comparison's row of an experiment row (:func:`~munet.benchmarks.experiment.run_point`'s scores,
    models, latency)."""
    o, f, q, models = row.overrides, row.scores["float32"], row.scores["int8"], row.models or {}
    start = str(o["encoder_weights"])
    return ArchResult(
        entry,
        label,
        start,
        start.lower() not in ("none", ""),
        params=row.params or 0,
        macs=row.macs or 0,
        macs_256=macs_256(o["arch"], o["size"], o["alpha"], row.macs or 0),
        train_s=row.train_s,
        epochs=row.epochs,
        keras_val=row.keras_val or {},
        float32=f["per-image"],
        int8=q["per-image"],
        float32_pixel=f["pixel"],
        lesion_split=(row.split or {}).get("float32", {}),
        int8_dice_drop=f["per-image"]["dice"] - q["per-image"]["dice"],
        float_mb=round(models["float32"]["size_bytes"] / 1e6, 2),
        int8_mb=round(models["int8"]["size_bytes"] / 1e6, 2),
        run_dir=row.run_dir or "",
        stopped=row.stopped,
        **latency_of(row, threads),
    )


def compare(
    train_dir: Path,
    val_dir: Path,
    name: str,
    archs: Sequence[str] = ARCHS,
    budget: Budget | None = None,
    weights: dict[str, str] | None = None,
    layout: str = "auto",
    out_dir: Path = Path("benchmarks/results"),
    runs_dir: Path = Path("runs/compare"),
    reuse: bool = False,
    paper_table: str | None = None,
    command: str | None = None,
    redo: Sequence[str] = (),
) -> dict[str, Any]:
    """Run the comparison and write ``out_dir/compare_<name>.{json,md}``; returns the JSON dict.

    ``redo``: entries of ``archs`` trained again although ``reuse`` would keep them (their model changed); their
    committed row and run folder are replaced.
    """
    from munet.atomic import write_json
    from munet.benchmarks.records import write_markdown
    from munet.data import LoadedPair, find_pairs, load_pair
    from munet.device import provenance
    from munet.train.models import get_builder

    budget, weights = budget or Budget(), dict(weights or {})
    entries = {entry: parse_arch(entry, weights) for entry in archs}
    if stray := [e for e in redo if e not in entries]:
        raise InputError(f"--redo {','.join(stray)}: not among the archs ({','.join(entries)})")
    for arch in [*(a for a, _, _ in entries.values()), *weights]:
        get_builder(arch)  # unknown names fail now, with the did-you-mean list
    base = runs_dir / name
    train_pairs, val_pairs = find_pairs(train_dir, layout), find_pairs(val_dir, layout)
    if budget.train_limit or budget.val_limit:  # seeded subsets, both linked in the "folder" layout
        (train_dir, train_pairs), (val_dir, val_pairs) = (
            subset_folder(pairs, limit if limit and limit < len(pairs) else None, budget.seed, base / "data" / part)
            for pairs, limit, part in ((train_pairs, budget.train_limit, "train"), (val_pairs, budget.val_limit, "val"))
        )
        layout = "folder"
    samples = [LoadedPair(Path(p.image).stem, *load_pair(p)) for p in val_pairs]
    trivial = {k: float(v) for k, v in trivial_dice([s.truth for s in samples]).items()}
    setup = Setup(train_dir, val_dir, base, layout, budget.calib_count, budget.threads, reuse=reuse, verbose=2)
    result: dict[str, Any] = {
        "name": name,
        "train": str(train_dir),
        "val": str(val_dir),
        "n_train": len(train_pairs),
        "n_val": len(val_pairs),
        "budget": asdict(budget),
        "budget_text": budget.describe(),
        "paper_table": paper_table,
        "provenance": provenance(command),
        "trivial": trivial,
        "models": [],
    }
    json_path = out_dir / f"compare_{name}.json"
    old = resumable(json_path, budget, len(train_pairs), len(val_pairs)) if reuse else None
    resumed = {r["arch"]: r for r in (old or {}).get("models", []) if r["arch"] not in redo}
    for entry, (_, start, _) in entries.items():
        then = resumed.get(entry, {})
        if not then.get("error") and then.get("encoder_weights", start) != start:
            raise InputError(
                f"{json_path}: its {entry} row started from {then['encoder_weights']!r}, this run from {start!r}; "
                "give the config another name, drop --reuse or give the same weights"
            )
    if old is not None and any(e not in entries or not r.get("error") for e, r in resumed.items()):  # carried
        result |= {k: old[k] for k in ("latency_method", "load", "busy") if k in old}  # until this run's pass
        result["earlier"] = [*old.get("earlier", []), old.get("provenance", {})]  # the runs they came from
    result["models"] = [r for e, r in resumed.items() if e not in entries]  # other entries stay in the table
    # Rows of this run's entries already in the JSON (--redo ones included) stay in it until their entry is done:
    # a sweep that crashes or is stopped half-way must not drop committed rows (hours of training) from the file.
    pending = {r["arch"]: r for r in (old or {}).get("models", []) if r["arch"] in entries}

    def save() -> None:
        result["models"].sort(key=table_order)
        saved = mark_learned(
            result | {"models": sorted([*result["models"], *pending.values()], key=table_order)}, trivial
        )
        write_json(json_path, saved)
        write_markdown(json_path.with_suffix(".md"), compare_markdown(saved))

    rows: dict[str, Row] = {}  # entry -> the runner's row, for the timing pass
    for entry, (arch, start, label) in entries.items():
        pending.pop(entry, None)
        if entry in resumed and not resumed[entry].get("error"):
            result["models"].append(resumed[entry])
            save()
            _say(f"[{entry}] resumed from {json_path.name}")
            continue
        point = Point(entry, {"arch": arch, "encoder_weights": start, **budget.overrides()}, MODES)
        try:
            row = run_point(point, replace(setup, reuse=False) if entry in redo else setup, samples, echo=_say)
            res = arch_result(row, entry, label, budget.threads)
        except MunetError as exc:  # one architecture failing (e.g. no ImageNet download) keeps the others
            res = ArchResult(entry, label, start, False, error=str(exc))
        else:
            rows[entry] = row
        result["models"].append(asdict(res))
        save()
        _say(f"[{entry}] done: {json.dumps({k: getattr(res, k) for k in ('params', 'int8_dice_drop')})}")
    copies: dict[str, Row] = {}  # resumed rows: timed in the same pass, on an untrained copy where models are gone
    for r in result["models"]:
        if not r.get("error") and r["arch"] not in rows:
            files = {m: Path(r.get("run_dir") or "-") / f"model_{m}.tflite" for m in MODES}
            if all(p.is_file() for p in files.values()):
                rows[r["arch"]] = Row(models={m: {"path": p.as_posix()} for m, p in files.items()})
            else:
                arch = {"arch": r["arch"].partition("@")[0], "alpha": budget.alpha, "size": list(budget.size)}
                rows[r["arch"]] = untrained_copy(r["arch"], arch, setup, copies, MODES, _say)
    timing = time_rows(list(rows.values()), [(m, budget.threads) for m in MODES], samples[0].image, budget.latency_runs)
    for r in result["models"]:
        if latency := latency_of(rows.get(r["arch"]), budget.threads):
            r |= latency | {"timed_on": rows[r["arch"]].timed_on}
    n = sum(bool(latency_of(row, budget.threads)) for row in rows.values())
    method = f"interleaved: {n} row(s) timed round-robin in one pass after all training" if n else "none timed"
    if copies := [r["label"] for r in result["models"] if r.get("timed_on") == UNTRAINED]:
        method += (
            f"; {', '.join(copies)} on an untrained copy of the architecture (their trained models were from an "
            "earlier session; LiteRT's latency does not depend on the weights' values)"
        )
    result["latency_method"] = method
    if timing is not None:
        result["load"], result["busy"] = timing["machine"], timing["busy"]
    _say(f"[compare] {method}" + (f"; BUSY: {'; '.join(timing['busy'])}" if timing and timing["busy"] else ""))
    save()
    return result
