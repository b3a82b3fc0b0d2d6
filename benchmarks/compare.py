"""The paper's comparison (Tables 1 and 2): every architecture, one training budget, the same metrics.

For each architecture of the registry (MU-Net and the baselines of ``munet.train.models.baselines``):

1. train it through the trainer API (``munet.train.trainer.train``) with the same budget (input
   size, epochs, batch, optimiser, loss, augmentation, training images) and no early stopping;
2. convert ``best.keras`` with ``munet.convert.api.convert`` to float32 and full-int8 TFLite
   (calibration: the training images);
3. segment every validation image with ``munet.edge.runtime.Segmenter`` (masks at the original
   image size, as the ISIC scoring requires) and score it with ``munet.edge.metrics.compute_metrics``
   (the paper's six metrics + mIoU + ISIC thresholded Jaccard, per-image means);
4. count parameters and MACs (``munet.train.models.complexity``);
5. once every row is scored, time one inference of every float32 and int8 model **round-robin in one
   pass** (median, LiteRT, ``threads`` threads). Timing each model right after its own training put
   rows minutes apart under different machine load: two identical int8 graphs once read 7.1 and
   2.4 ms on a shared 2-core machine, and the same at the 10th percentile when interleaved.

An entry of ``--archs`` may name its encoder start, ``munet@none`` (MU-Net from scratch beside the
ImageNet one: how much of the gap is the pretrained encoder) or ``unet-vgg19@imagenet``.

Results go to ``OUT/compare_<name>.json`` (written after every architecture, so a long run that
stops keeps what it finished) and ``OUT/compare_<name>.md`` (a Table 1/2 analogue with the budget,
the exact command, the machine, the date and which models started from ImageNet weights). With
``--reuse`` a finished architecture's scored row, kept in its run folder as ``row.json``, is reused
as it is, so adding a row later retrains and rescores nothing else.

Smoke run (a few minutes on 2 cores)::

    python -m munet.benchmarks.compare --data ../shared/data/isic --name isic-smoke --size 64 \\
        --epochs 1 --train-limit 32 --val-limit 16 --out /tmp/compare --runs-dir /tmp/compare/runs

Paper-style run on a GPU: ``--size 256 --epochs 60`` (the paper's settings) and no limits.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click

from munet.benchmarks.experiment import subset_folder
from munet.errors import InputError, MunetError, cli_errors

#: Table order of the paper (Tables 1 and 2), MU-Net last as "Proposed".
ARCHS = ("unet-vgg19", "segnet", "unet-resnet50", "fcn", "unet", "munet")
LABELS = {
    "unet-vgg19": "U-Net with VGG-19",
    "segnet": "SegNet (upsampling variant)",
    "unet-resnet50": "U-Net with ResNet-50",
    "fcn": "FCNet (FCN-8s)",
    "unet": "U-Net",
    "munet": "MU-Net (proposed)",
}
#: Row names in the paper's tables.
PAPER_LABELS = {
    "unet-vgg19": "U-Net with VGG-19",
    "segnet": "SegNet",
    "unet-resnet50": "U-Net with ResNet-50",
    "fcn": "FCNet",
    "unet": "U-Net-224",
    "munet": "Proposed (MU-Net)",
}
#: The paper's six metrics, in its column order.
PAPER_METRICS = ("accuracy", "recall", "precision", "iou", "tversky", "dice")
#: The paper's published values (%), for the reader's side-by-side (Tables 1 and 2; U-Net = "U-Net-224").
PAPER_TABLES = {
    "isic": {
        "unet-vgg19": (88.94, 70.82, 92.06, 89.92, 72.77, 75.57),
        "segnet": (95.46, 94.28, 91.45, 95.03, 84.08, 82.17),
        "unet-resnet50": (95.35, 95.92, 89.92, 95.64, 92.50, 91.07),
        "fcn": (89.51, 72.04, 93.45, 88.36, 67.26, 65.81),
        "unet": (94.66, 87.50, 95.37, 95.64, 88.79, 90.13),
        "munet": (96.49, 97.99, 91.44, 96.42, 95.16, 93.78),
    },
    "brain": {
        "unet-vgg19": (99.45, 88.51, 90.86, 99.99, 89.13, 89.60),
        "segnet": (98.69, 73.45, 86.75, 97.71, 53.40, 45.85),
        "unet-resnet50": (99.37, 90.02, 87.74, 99.99, 89.26, 88.81),
        "fcn": (96.01, 99.56, 46.90, 93.82, 69.84, 58.40),
        "unet": (99.15, 89.88, 80.91, 98.42, 86.92, 85.11),
        "munet": (99.40, 93.10, 90.06, 99.06, 92.14, 91.54),
    },
}


@dataclass
class Budget:
    """What every architecture gets: the same data, size, epochs and optimiser settings."""

    size: tuple[int, int] = (128, 128)
    epochs: int = 10
    batch: int = 8
    lr: float = 1e-3
    loss: str = "focal-tversky"
    seed: int = 0
    train_limit: int | None = None
    val_limit: int | None = None
    alpha: float = 1.4  # MU-Net only
    calib_count: int = 100
    latency_runs: int = 20
    threads: int = 1

    def describe(self) -> str:
        h, w = self.size
        lim = f"{self.train_limit} training images" if self.train_limit else "all training images"
        val = f"{self.val_limit} validation images" if self.val_limit else "all validation images"
        return (
            f"{h}x{w} inputs, {self.epochs} epochs (no early stopping), batch {self.batch}, Adam lr {self.lr:g}, "
            f"{self.loss} loss, flips + rotation, seed {self.seed}, {lim}, {val}; MU-Net alpha {self.alpha}"
        )


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
    keras_val: dict[str, Any] = field(default_factory=dict)  # trainer's metrics.json (model-size masks)
    float32: dict[str, float] = field(default_factory=dict)  # TFLite float32, original-size masks
    int8: dict[str, float] = field(default_factory=dict)  # TFLite int8, original-size masks
    float32_pixel: dict[str, float] = field(default_factory=dict)  # same masks, counts pooled over images
    int8_dice_drop: float | None = None
    float_ms: float | None = None
    int8_ms: float | None = None
    float_ms_p10: float | None = None
    int8_ms_p10: float | None = None
    float_mb: float | None = None
    int8_mb: float | None = None
    run_dir: str = ""
    error: str | None = None


# ------------------------------------------------------------------------------------------------- data
def resolve_split(data: Path | None, train: Path | None, val: Path | None) -> tuple[Path, Path]:
    """``DATA/train`` + ``DATA/val``, or the explicit ``--train``/``--val`` folders."""
    if data is not None:
        train, val = train or data / "train", val or data / "val"
    if train is None or val is None:
        raise InputError("give --data DIR (with train/ and val/ inside) or both --train DIR and --val DIR")
    for p in (train, val):
        if not p.is_dir():
            raise InputError(f"{p}: no such folder; --data needs train/ and val/ subfolders (or pass --train/--val)")
    return train, val


# ------------------------------------------------------------------------------------------------- steps
def weights_for(arch: str, spec: dict[str, str]) -> str:
    """Encoder weights of ``arch``: ``--weights ARCH=...`` or ``none`` (from scratch)."""
    return spec.get(arch, "none")


def parse_arch(entry: str, spec: dict[str, str]) -> tuple[str, str, str]:
    """``(registry name, encoder weights, row label)`` of an ``--archs`` entry ``ARCH`` or ``ARCH@none|imagenet``."""
    arch, sep, start = entry.partition("@")
    if not sep:
        return arch, weights_for(arch, spec), LABELS.get(arch, arch)
    if start not in ("none", "imagenet"):
        raise MunetError(f"--archs {entry!r}: expected ARCH@none or ARCH@imagenet (weight files go in --weights)")
    return arch, start, f"{LABELS.get(arch, arch)}, {'from scratch' if start == 'none' else 'ImageNet'}"


def train_arch(arch: str, train_dir: Path, val_dir: Path, layout: str, budget: Budget, weights: str, run_dir: Path):
    """Train one architecture with the shared budget; returns the trainer's ``RunResult``."""
    from munet.train.config import TrainConfig
    from munet.train.trainer import train

    config = TrainConfig(
        data=str(train_dir),
        val_data=str(val_dir),
        dataset=layout,
        arch=arch,
        alpha=budget.alpha,
        size=list(budget.size),
        encoder_weights=weights,
        epochs=budget.epochs,
        batch=budget.batch,
        lr=budget.lr,
        loss=budget.loss,
        seed=budget.seed,
        patience=budget.epochs + 1,  # the same number of epochs for everyone
        out=str(run_dir),
    ).validate()
    return train(config, verbose=2)


def complexity_of(keras_path: Path, arch: str, budget: Budget) -> tuple[int, int, int]:
    """(parameters, MACs at the budget size, MACs at 256x256) of the trained model's architecture."""
    import keras

    import munet.train.losses  # noqa: F401  (registers the custom objects in checkpoints)
    import munet.train.metrics  # noqa: F401
    from munet.train.models.complexity import complexity, measure

    c = complexity(keras.models.load_model(keras_path, compile=False))
    kwargs = {"alpha": budget.alpha} if arch == "munet" else {}
    c256 = measure(arch, (256, 256), **kwargs) if c.input_size != (256, 256) else c
    return c.params, c.macs, c256.macs


def evaluate_tflite(
    path: Path, samples: Sequence[tuple[Any, Any]], threads: int
) -> tuple[dict[str, float], dict[str, float]]:
    """(per-image, pixel-pooled) metrics of a TFLite model on (rgb, mask) samples, masks at the original size."""
    from munet.edge.metrics import compute_metrics
    from munet.edge.runtime import Segmenter

    seg = Segmenter(path, threads=threads)
    preds = [seg.segment(rgb).mask for rgb, _ in samples]
    truths = [m for _, m in samples]
    return compute_metrics(preds, truths, reduction="per-image"), compute_metrics(preds, truths, reduction="pixel")


SEQUENTIAL_TIMING = "per row, right after its training"  # how results from before the interleaved pass were timed


def time_tflite(path: Path, frame: Any, runs: int, threads: int, warmup: int = 3) -> float:
    """Median milliseconds of one inference (``Segmenter.invoke``, pre/post-processing excluded)."""
    from munet.benchmarks.latency import time_interleaved

    return time_interleaved([path], frame, runs, threads, warmup)[0]["median"]


def retime_rows(rows: list[dict[str, Any]], frame: Any, budget: Budget) -> int:
    """Replace ``float_ms``/``int8_ms`` of every scored row whose model files exist by one interleaved pass.

    Returns how many rows were retimed; rows whose TFLite files are gone keep their own timing.
    """
    todo = []
    for r in rows:
        files = [Path(r.get("run_dir", "")) / f"model_{m}.tflite" for m in ("float32", "int8")]
        if not r.get("error") and all(f.is_file() for f in files):
            todo.append((r, files))
    if not todo:
        return 0
    from munet.benchmarks.latency import time_interleaved

    stats = time_interleaved([f for _, files in todo for f in files], frame, budget.latency_runs, budget.threads)
    for i, (r, _) in enumerate(todo):
        f32, i8 = stats[2 * i], stats[2 * i + 1]
        r["float_ms"], r["int8_ms"] = f32["median"], i8["median"]
        r["float_ms_p10"], r["int8_ms_p10"] = f32["p10"], i8["p10"]
    return len(todo)


def run_arch(
    arch: str,
    train_dir: Path,
    val_dir: Path,
    layout: str,
    samples: Sequence[tuple[Any, Any]],
    budget: Budget,
    weights: str,
    run_dir: Path,
    reuse: bool,
) -> ArchResult:
    """Train (or reuse), convert, evaluate and time one architecture (``run_dir/row.json``: the scored row)."""
    from munet.benchmarks.report import write_json
    from munet.convert.api import Converter

    imagenet = weights.lower() not in ("none", "")
    res = ArchResult(arch, LABELS.get(arch, arch), weights, imagenet, run_dir=run_dir.as_posix())
    progress = run_dir / "state" / "progress.json"
    done = progress.is_file() and json.loads(progress.read_text()).get("finished", False)
    saved_row = run_dir / "row.json"
    if reuse and done and saved_row.is_file():
        print(f"[{arch}] reusing the scored row {saved_row}", flush=True)
        return ArchResult(**json.loads(saved_row.read_text()))
    t0 = time.perf_counter()
    if reuse and done:
        print(f"[{arch}] reusing the finished run in {run_dir}", flush=True)
        res.epochs = int(json.loads(progress.read_text()).get("epoch", 0))
    else:
        if run_dir.exists():
            shutil.rmtree(run_dir)
        result = train_arch(arch, train_dir, val_dir, layout, budget, weights, run_dir)
        res.epochs = result.epochs_completed
    res.train_s = round(time.perf_counter() - t0, 1)
    best = run_dir / "best.keras"
    metrics_file = run_dir / "metrics.json"
    if metrics_file.is_file():
        res.keras_val = json.loads(metrics_file.read_text()).get("per-image", {})
    res.params, res.macs, res.macs_256 = complexity_of(best, arch, budget)

    with Converter(run_dir) as conv:  # one SavedModel export for both modes (FCN's takes minutes)
        f32 = conv.convert("float32", run_dir / "model_float32.tflite").path
        conv.set_calibration(train_dir, calib_count=budget.calib_count)
        i8 = conv.convert("int8", run_dir / "model_int8.tflite").path
    res.float_mb = round(f32.stat().st_size / 1e6, 2)
    res.int8_mb = round(i8.stat().st_size / 1e6, 2)
    res.float32, res.float32_pixel = evaluate_tflite(f32, samples, budget.threads)
    res.int8, _ = evaluate_tflite(i8, samples, budget.threads)
    res.int8_dice_drop = res.float32["dice"] - res.int8["dice"]
    frame = samples[0][0]
    res.float_ms = round(time_tflite(f32, frame, budget.latency_runs, budget.threads), 2)
    res.int8_ms = round(time_tflite(i8, frame, budget.latency_runs, budget.threads), 2)
    write_json(saved_row, asdict(res))
    return res


# ------------------------------------------------------------------------------------------------- report
def _pct(v: float | None) -> str:
    """A 0..1 value as a percentage with two decimals (the paper's tables)."""
    return "–" if v is None else f"{100.0 * v:.2f}"


def _num(v: float | None, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def compare_markdown(result: dict[str, Any]) -> str:
    """The Table 1/2 analogue with budget, provenance and weights."""
    from munet.benchmarks.report import markdown_table, provenance_markdown

    rows, header = (
        [],
        [
            "Model",
            "Accuracy",
            "Recall",
            "Precision",
            "IoU",
            "Tversky",
            "Dice",
            "mIoU",
            "ISIC Jaccard",
            "Params",
            f"GMACs @{result['budget']['size'][0]}",
            "GMACs @256",
            "float32 ms",
            "int8 ms",
            "int8 Dice",
            "Dice drop",
            "Encoder init",
            "Train s",
        ],
    )
    for r in result["models"]:
        if r.get("error"):
            rows.append([r["label"], *(["–"] * 15), r["encoder_weights"], f"failed: {r['error']}"])
            continue
        f, q = r["float32"], r["int8"]
        rows.append(
            [
                r["label"],
                *(_pct(f[m]) for m in PAPER_METRICS),
                _pct(f["miou"]),
                _pct(f["isic_jaccard"]),
                f"{r['params']:,}",
                _num(r["macs"] / 1e9),
                _num(r["macs_256"] / 1e9),
                _num(r["float_ms"], 1),
                _num(r["int8_ms"], 1),
                _pct(q["dice"]),
                _pct(r["int8_dice_drop"]),
                "ImageNet" if r["imagenet"] else "from scratch",
                _num(r["train_s"], 0),
            ]
        )
    name = result["name"]
    lines = [
        f"# Architecture comparison: {name}",
        "",
        f"Paper Tables 1/2 analogue. Budget: {result['budget_text']}.",
        f"Training data: `{result['train']}` ({result['n_train']} images); validation: `{result['val']}` "
        f"({result['n_val']} images).",
        "Metrics (%): per-image means on the validation set, float32 TFLite masks at the original image size "
        "(`munet.edge.metrics`, threshold 0.5); int8 = full-int8 TFLite calibrated on the training images; "
        f"latency: median of {result['budget']['latency_runs']} LiteRT inferences, "
        f"{result['budget']['threads']} thread(s), pre/post-processing excluded, "
        f"{result.get('latency_method', SEQUENTIAL_TIMING)}. Pixel-pooled metrics "
        "(counts summed over all images) are in the JSON as `float32_pixel`.",
        "Encoder init: 'ImageNet' where pretrained encoder weights were loaded, otherwise trained from scratch. "
        "SegNet uses nearest-neighbour upsampling instead of max-unpooling indices (not expressible in builtin "
        "TFLite ops).",
        "",
        markdown_table(header, rows),
    ]
    paper = PAPER_TABLES.get(result.get("paper_table") or "")
    if paper:
        prow = [[PAPER_LABELS[a], *(f"{v:.2f}" for v in paper[a])] for a in ARCHS if a in paper]
        lines += [
            f"Paper values (Table {'1' if result['paper_table'] == 'isic' else '2'}, 256x256, 60 epochs; "
            "its 'IOU' column is not comparable to a per-image lesion IoU):",
            "",
            markdown_table(["Model", "Accuracy", "Recall", "Precision", "IOU", "Tversky", "Dice"], prow),
        ]
    lines += ["## Provenance", "", provenance_markdown(result["provenance"])]
    return "\n".join(lines)


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
) -> dict[str, Any]:
    """Run the comparison and write ``out_dir/compare_<name>.{json,md}``; returns the JSON dict."""
    from munet.benchmarks.report import provenance, write_json, write_markdown
    from munet.train.datasets import find_pairs, load_pair
    from munet.train.models import get_builder

    budget = budget or Budget()
    weights = dict(weights or {})
    entries = {entry: parse_arch(entry, weights) for entry in archs}
    for arch in [*(a for a, _, _ in entries.values()), *weights]:
        get_builder(arch)  # unknown names fail now, with the did-you-mean list
    base = runs_dir / name
    train_pairs = find_pairs(train_dir, layout)
    val_pairs = find_pairs(val_dir, layout)
    run_layout = layout
    if budget.train_limit or budget.val_limit:  # seeded subsets, both linked in the "folder" layout
        n_train = budget.train_limit if budget.train_limit and budget.train_limit < len(train_pairs) else None
        n_val = budget.val_limit if budget.val_limit and budget.val_limit < len(val_pairs) else None
        train_dir, train_pairs = subset_folder(train_pairs, n_train, budget.seed, base / "data" / "train")
        val_dir, val_pairs = subset_folder(val_pairs, n_val, budget.seed, base / "data" / "val")
        run_layout = "folder"
    samples = [load_pair(p) for p in val_pairs]
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
        "models": [],
    }
    json_path, md_path = out_dir / f"compare_{name}.json", out_dir / f"compare_{name}.md"
    for entry, (arch, start, label) in entries.items():
        print(f"[{entry}] training {budget.describe()}", flush=True)
        try:
            row = run_arch(arch, train_dir, val_dir, run_layout, samples, budget, start, base / entry, reuse)
            row.arch, row.label = entry, label
        except MunetError as exc:  # one architecture failing (e.g. no ImageNet download) keeps the others
            row = ArchResult(entry, label, start, False, error=str(exc))
        result["models"].append(asdict(row))
        write_json(json_path, result)
        write_markdown(md_path, compare_markdown(result))
        print(
            f"[{entry}] done: {json.dumps({k: asdict(row)[k] for k in ('params', 'float_ms', 'int8_ms')})}", flush=True
        )
    n = retime_rows(result["models"], samples[0][0], budget)
    result["latency_method"] = (
        f"interleaved: {n} row(s) timed round-robin in one pass after all training" if n else SEQUENTIAL_TIMING
    )
    print(f"[compare] {result['latency_method']}", flush=True)
    write_json(json_path, result)
    write_markdown(md_path, compare_markdown(result))
    return result


# ------------------------------------------------------------------------------------------------- CLI
def _parse_weights(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        arch, sep, value = item.partition("=")
        if not sep or not arch or not value:
            raise MunetError(f"--weights {item!r}: expected ARCH=imagenet|none|FILE.h5, e.g. munet=weights.h5")
        out[arch.strip()] = value.strip()
    return out


@click.command("compare", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Folder with train/ + val/."
)
@click.option("--train", "train_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None)
@click.option("--val", "val_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None)
@click.option("--name", required=True, help="Result name: writes compare_<name>.json/.md (e.g. isic, brain).")
@click.option("--layout", default="auto", show_default=True, help="Dataset layout (auto|isic|lgg|figshare|folder).")
@click.option(
    "--archs",
    default=",".join(ARCHS),
    show_default=True,
    help="Comma-separated registry names; ARCH@none / ARCH@imagenet overrides one row's encoder start.",
)
@click.option("--size", default="128", show_default=True, help="Input size N or HxW (multiples of 32).")
@click.option("--epochs", default=10, show_default=True)
@click.option("--batch", default=8, show_default=True)
@click.option("--lr", default=1e-3, show_default=True)
@click.option("--loss", default="focal-tversky", show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--alpha", default=1.4, show_default=True, help="MU-Net width multiplier.")
@click.option("--train-limit", type=int, default=None, help="Use N training images (seeded sample).")
@click.option("--val-limit", type=int, default=None, help="Use N validation images (seeded sample).")
@click.option("--weights", multiple=True, help="ARCH=imagenet|none|FILE.h5 (repeat); default: none (from scratch).")
@click.option("--calib-count", default=100, show_default=True, help="int8 calibration images.")
@click.option("--latency-runs", default=20, show_default=True)
@click.option("--threads", default=1, show_default=True, help="LiteRT threads for evaluation and latency.")
@click.option("--paper-table", type=click.Choice(["isic", "brain"]), default=None, help="Add the paper's table.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("benchmarks/results"), show_default=True)
@click.option("--runs-dir", type=click.Path(path_type=Path), default=Path("runs/compare"), show_default=True)
@click.option("--reuse", is_flag=True, help="Skip training where runs-dir already holds a finished run.")
@cli_errors
def compare_command(**kw: Any) -> None:
    """Train every architecture with one budget; paper metrics, params, MACs, float/int8 latency, int8 Dice drop.

    Example: munet-bench compare --data ../shared/data/isic --name isic --paper-table isic --size 128 --epochs 10
    """
    import os
    import shlex
    import sys

    from munet.benchmarks.report import command_line
    from munet.edge.preprocess import parse_size

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    train_dir, val_dir = resolve_split(kw["data"], kw["train_dir"], kw["val_dir"])
    budget = Budget(
        size=parse_size(kw["size"]),
        epochs=kw["epochs"],
        batch=kw["batch"],
        lr=kw["lr"],
        loss=kw["loss"],
        seed=kw["seed"],
        train_limit=kw["train_limit"],
        val_limit=kw["val_limit"],
        alpha=kw["alpha"],
        calib_count=kw["calib_count"],
        latency_runs=kw["latency_runs"],
        threads=kw["threads"],
    )
    archs = [a.strip() for a in kw["archs"].split(",") if a.strip()]
    result = compare(
        train_dir,
        val_dir,
        kw["name"],
        archs,
        budget,
        _parse_weights(kw["weights"]),
        kw["layout"],
        kw["out"],
        kw["runs_dir"],
        kw["reuse"],
        kw["paper_table"],
        command_line()
        if not sys.argv[0].endswith("compare.py")
        else shlex.join(["python", "-m", "munet.benchmarks.compare", *sys.argv[1:]]),
    )
    click.echo(compare_markdown(result))
    click.echo(f"wrote {kw['out']}/compare_{kw['name']}.json and .md")


if __name__ == "__main__":
    compare_command()
