"""The paper's comparison on a lent GPU machine: Keras on JAX, no TensorFlow, data from a pack.

Every ``--archs`` entry (``ARCH`` or ``ARCH@none|imagenet``, as in ``munet-bench compare``) is built from the
registry and trained with Adam and the project's loss (:func:`munet.train.losses.get_loss`) on a pack
(:mod:`munet.benchmarks.gpu.pack`), with the tf.data pipeline's default flips and rotations done per batch in
NumPy/OpenCV (:mod:`munet.benchmarks.gpu.augment`) and the trainer's default plateau schedule (learning rate
halved after 4 epochs without a better monitored value, down to 1e-6). After every epoch the validation set is
predicted and scored with the one evaluator (:func:`munet.edge.evaluate.evaluate`); the epoch of the best per-image
validation Dice is kept (as ``munet-bench compare`` keeps it). Masks are scored at the pack size, not at the original
image size: a pack holds the images already resized and normalised, not the originals.
Mixed precision follows the trainer: ``mixed_float16`` when a GPU is visible (``--mixed-precision auto``).

``OUT/compare_<name>.json`` has the shape of ``munet-bench compare``'s result (rows of
:class:`munet.benchmarks.compare.ArchResult`, the trivial predictions and ``learned``), written after every
architecture; int8 and latency fields stay empty (see :data:`NOTE`). Each row's best weights are saved as
``<name>_<entry>.weights.h5`` when under ``--weights-mb``, split into ``.partN`` files above ``--part-mb`` (the
run tool returns files of at most 16 MiB; ``cat X.weights.h5.part* > X.weights.h5`` joins them).
``--max-minutes`` bounds the whole run: the architectures train in the given order, each until its epochs are done
or no further epoch fits; those not started are listed in ``not_reached``. ``--previous compare_<name>.json``
(same budget and pack counts: the CPU comparison's rule, :func:`munet.benchmarks.compare.resumable`) keeps its rows
and trains only the entries without a row of all epochs, so runs that each fit one call complete the table across
sessions.

    KERAS_BACKEND=jax python -m munet.benchmarks.gpu.train_compare --pack gpu-pack/isic_256.npz --name isic-gpu \\
        --alpha 1.0 --weights munet=gpu-pack/mobilenet_v2_1.0_imagenet_qat_notop.h5 --max-minutes 5 --out $OUT
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
import numpy as np

from munet.benchmarks.compare import ARCHS, ArchResult, Budget, parse_arch, parse_weights, resumable, table_order
from munet.errors import InputError, cli_errors

NOTE = "trained on GPU with Keras/JAX; int8 and latency: convert the returned weights on the CPU"
#: An architecture is not started with less time left than this (seconds).
MIN_START_S = 30.0
#: Seconds kept back at the end for the last row's scoring and files.
RESERVE_S = 20.0


def load_data(path: Path) -> dict[str, Any]:
    """A pack as training arrays: x float32 in [-1, 1] (:func:`munet.edge.preprocess.preprocess`), y float32
    ``(N, h, w, 1)``; validation masks uint8 ``(N, h, w)`` for scoring."""
    from munet.benchmarks.gpu.pack import load_pack
    from munet.edge.preprocess import preprocess

    pack = load_pack(path)
    size = tuple(pack["meta"]["size"])
    (xt, yt, _), (xv, yv, names) = pack["train"], pack["val"]
    if not len(xt) or not len(xv):
        raise InputError(f"{path}: the pack needs training and validation pairs")

    def norm(images: np.ndarray) -> np.ndarray:
        return np.stack([preprocess(i, size) for i in images])

    return {
        "meta": pack["meta"],
        "size": size,
        "x_train": norm(xt),
        "y_train": yt[..., None].astype(np.float32),
        "x_val": norm(xv),
        "y_val": yv,
        "val_names": names,
    }


def batches(x: np.ndarray, y: np.ndarray, batch: int, seed: int, workers: int) -> Any:
    """A ``keras.utils.PyDataset`` of augmented training batches, reshuffled every epoch."""
    import keras

    from munet.benchmarks.gpu.augment import augment_batch, check_config, epoch_order
    from munet.train.pipeline import AugmentConfig

    config = check_config(AugmentConfig())

    class Batches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__(workers=workers, use_multiprocessing=False, max_queue_size=16)
            self.epoch, self.order = 0, epoch_order(len(x), batch, seed, 0)

        def __len__(self) -> int:
            return len(self.order)

        def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
            idx = self.order[i]
            return augment_batch(x[idx], y[idx], (seed, self.epoch, i), config)

        def on_epoch_end(self) -> None:
            self.epoch += 1
            self.order = epoch_order(len(x), batch, seed, self.epoch)

    return Batches()


def val_scores(model: Any, data: dict[str, Any], budget: Budget) -> dict[str, Any]:
    """The packed validation set predicted (one batched ``predict``) and scored by the one evaluator at the pack
    size: :func:`munet.edge.metrics.score`'s dict (rows named by the pack's ``val_names``)."""
    from munet.edge.evaluate import evaluate

    prob = model.predict(data["x_val"], batch_size=max(32, budget.batch), verbose=0)
    return evaluate(list(prob[..., 0] > 0.5), list(data["y_val"]), data.get("val_names")).scores


def epoch_judge(data: dict[str, Any], budget: Budget, deadline: float, label: str) -> Any:
    """A Keras callback: per-image validation Dice after every epoch, best weights kept, the trainer's plateau
    schedule, and a stop when the next epoch would end after ``deadline`` (``time.monotonic``)."""
    import keras

    from munet.train.config import TrainConfig

    cfg = TrainConfig()

    class Judge(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.best, self.best_epoch, self.best_weights, self.wait = -1.0, 0, None, 0
            self.history: list[dict[str, float]] = []
            self.stopped: str | None = None
            self.started = self.epoch_start = time.monotonic()

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch_start = time.monotonic()

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if time.monotonic() > deadline:
                self.model.stop_training, self.stopped = True, "time limit (mid-epoch)"

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            dice = val_scores(self.model, data, budget)["per-image"]["dice"]
            lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            now = time.monotonic()
            loss = float((logs or {}).get("loss", float("nan")))
            self.history.append({"epoch": epoch + 1, "loss": loss, "val_dice": dice, "lr": lr, "s": now - self.started})
            if dice > self.best:
                self.best, self.best_epoch, self.best_weights, self.wait = dice, epoch + 1, self.model.get_weights(), 0
            else:
                self.wait += 1
                if self.wait >= cfg.lr_patience and lr > cfg.min_lr:
                    self.model.optimizer.learning_rate = max(lr * cfg.lr_factor, cfg.min_lr)
                    self.wait = 0
            took = now - self.epoch_start
            print(
                f"[{label}] epoch {epoch + 1}/{budget.epochs} loss {loss:.4f} val Dice {dice:.4f} "
                f"(best {self.best:.4f} @{self.best_epoch}) lr {lr:.2g} {took:.1f} s",
                flush=True,
            )
            if not self.model.stop_training and epoch + 1 < budget.epochs and now + took > deadline:
                self.model.stop_training, self.stopped = True, f"time limit after {epoch + 1} epochs"

    return Judge()


def gpu_visible() -> bool:
    """Whether Keras' backend sees a GPU (JAX: ``jax.devices()``)."""
    import keras

    if keras.config.backend() != "jax":
        return False
    import jax

    return any(d.platform == "gpu" for d in jax.devices())


def train_entry(
    entry: str, data: dict[str, Any], budget: Budget, start: str, deadline: float, mixed: bool, workers: int
) -> tuple[dict[str, Any], Any]:
    """Train and score one ``--archs`` entry; returns (its row, the model with its best epoch's weights)."""
    import keras

    from munet.benchmarks.compare import macs_256
    from munet.train.losses import get_loss
    from munet.train.models import build_model
    from munet.train.models.complexity import complexity

    arch = entry.partition("@")[0]
    keras.config.set_dtype_policy("mixed_float16" if mixed else "float32")
    keras.utils.set_random_seed(budget.seed)
    extra = {"alpha": budget.alpha} if arch == "munet" else {}
    try:
        model = build_model(arch, input_shape=(*data["size"], 3), encoder_weights=start, **extra)
    finally:
        keras.config.set_dtype_policy("float32")
    model.compile(optimizer=keras.optimizers.Adam(budget.lr), loss=get_loss(budget.loss))
    judge = epoch_judge(data, budget, deadline, entry)
    t0 = time.monotonic()
    train = batches(data["x_train"], data["y_train"], budget.batch, budget.seed, workers)
    model.fit(train, epochs=budget.epochs, callbacks=[judge], verbose=0)
    train_s = time.monotonic() - t0
    if judge.best_weights is not None:
        model.set_weights(judge.best_weights)
    scores = val_scores(model, data, budget)
    size = complexity(model)
    row = ArchResult(
        entry,
        "",
        start,
        start.lower() not in ("none", ""),
        params=size.params,
        macs=size.macs,
        macs_256=macs_256(arch, data["size"], budget.alpha, size.macs),
        train_s=round(train_s, 1),
        epochs=len(judge.history),
        keras_val=scores["per-image"],
        float32=scores["per-image"],
        float32_pixel=scores["pixel"],
    )
    extra_keys = {"best_epoch": judge.best_epoch, "stopped": judge.stopped, "history": judge.history, "note": NOTE}
    return asdict(row) | extra_keys, model


def save_weights(model: Any, out: Path, stem: str, max_mb: float, part_mb: float) -> list[str]:
    """``out/<stem>.weights.h5`` of ``model``'s weights without its optimizer's state, split into ``.partN`` files
    above ``part_mb`` MiB; the names written ([] when the weights are over ``max_mb`` MiB)."""
    import keras

    weights = model.get_weights()
    if sum(w.nbytes for w in weights) > max_mb * 2**20:
        return []
    clean = keras.Model.from_config(model.get_config())  # not compiled: no optimizer state in its file
    clean.set_weights(weights)
    path = out / f"{stem}.weights.h5"
    clean.save_weights(path)
    blob, step = path.read_bytes(), int(part_mb * 2**20)
    if len(blob) <= step:
        return [path.name]
    path.unlink()
    names = []
    for k in range(0, len(blob), step):
        part = out / f"{path.name}.part{k // step}"
        part.write_bytes(blob[k : k + step])
        names.append(part.name)
    return names


def previous_rows(path: Path | None, budget: Budget, n_train: int, n_val: int) -> dict[str, Any]:
    """An earlier result's rows by entry when it was made with the same budget and pack counts (else an error): the
    CPU comparison's rule (:func:`munet.benchmarks.compare.resumable`)."""
    if path is None:
        return {}
    old = resumable(Path(path), budget, n_train, n_val, fix="drop --previous") or {}
    rows = {r["arch"]: r for r in old.get("models", [])}
    return {"rows": rows, "provenance": old.get("provenance", {}), "earlier": old.get("earlier", [])}


def done(row: dict[str, Any] | None, budget: Budget) -> bool:
    """Whether a row finished all of the budget's epochs without an error."""
    return bool(row) and not row.get("error") and row.get("epochs", 0) >= budget.epochs


def better(new: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    """The row to keep of a new one and an earlier one: the one with more epochs, a row over a failure."""
    if old is None or old.get("error") or new.get("epochs", 0) >= old.get("epochs", 0):
        return new
    return old


def train_compare(
    pack: Path,
    name: str,
    archs: Sequence[str],
    budget: Budget,
    out: Path,
    weights: dict[str, str] | None = None,
    max_minutes: float = 9.0,
    previous: Path | None = None,
    mixed_precision: str = "auto",
    workers: int = 1,
    weights_mb: float = 30.0,
    part_mb: float = 15.0,
    paper_table: str | None = None,
) -> dict[str, Any]:
    """Train ``archs`` on ``pack`` within ``max_minutes``; write and return ``out/compare_<name>.json``."""
    import keras

    from munet.benchmarks.learned import mark_learned, trivial_dice
    from munet.benchmarks.records import markdown_table, provenance, write_json
    from munet.train.models import get_builder

    deadline = time.monotonic() + 60.0 * max_minutes - RESERVE_S
    entries = {e: parse_arch(e, weights or {}) for e in archs}
    for arch, _, _ in entries.values():
        get_builder(arch)
    data = load_data(pack)
    if tuple(budget.size) != data["size"]:
        raise InputError(f"--size {budget.size[0]}x{budget.size[1]}: the pack is {data['size']}; pack it again")
    n_train, n_val = len(data["x_train"]), len(data["x_val"])
    old = previous_rows(previous, budget, n_train, n_val)
    mixed = mixed_precision == "on" or (mixed_precision == "auto" and gpu_visible())
    backend = keras.config.backend()
    device = f"Keras {keras.__version__} on {backend} {_version(backend)} ({'GPU' if gpu_visible() else 'CPU'})"
    precision = "mixed_float16" if mixed else "float32"
    result: dict[str, Any] = {
        "name": name,
        "train": data["meta"]["source"]["train"],
        "val": data["meta"]["source"]["val"],
        "n_train": n_train,
        "n_val": n_val,
        "budget": asdict(budget),
        "budget_text": f"{budget.describe()}; {device}, {precision}, epoch of the best per-image validation Dice, "
        f"plateau LR; masks scored at the pack size {data['size'][0]}x{data['size'][1]}",
        "paper_table": paper_table,
        "provenance": provenance(),
        "note": NOTE,
        "latency_method": f"not timed ({NOTE})",
        "pack": {"file": Path(pack).name, **data["meta"]},
        "models": [],
        "not_reached": [],
    }
    if old:
        result["earlier"] = [*old["earlier"], old["provenance"]]
    rows: dict[str, dict[str, Any]] = dict(old.get("rows", {}))
    trivial = trivial_dice(list(data["y_val"]))
    out.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        result["models"] = sorted(rows.values(), key=table_order)
        mark_learned(result, trivial)
        write_json(out / f"compare_{name}.json", result)

    for entry, (_, start, label) in entries.items():
        if done(rows.get(entry), budget):
            print(f"[{entry}] kept from {previous}", flush=True)
            continue
        if time.monotonic() > deadline - MIN_START_S:
            result["not_reached"].append(entry)
            continue
        try:
            row, model = train_entry(entry, data, budget, start, deadline, mixed, workers)
            stem = f"{name}_{entry.replace('@', '-')}"
            row["weights_files"] = save_weights(model, out, stem, weights_mb, part_mb)
            del model
        except Exception as exc:  # one architecture failing (out of memory, no weights) keeps the others
            traceback.print_exc()
            msg = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
            row = asdict(ArchResult(entry, label, start, False, error=msg)) | {"note": NOTE}
        row["label"] = label
        rows[entry] = better(row, rows.get(entry))
        keras.backend.clear_session()
        save()
    save()
    table = [
        [r["label"], r["epochs"], _dice(r), r.get("learned"), r.get("error") or r.get("stopped") or ""]
        for r in result["models"]
    ]
    print(markdown_table(["model", "epochs", "Dice (per image)", "learned", "note"], table), flush=True)
    if result["not_reached"]:
        print(f"not reached within --max-minutes: {', '.join(result['not_reached'])}", flush=True)
    return result


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def _dice(row: dict[str, Any]) -> str:
    dice = (row.get("float32") or {}).get("dice")
    return "–" if dice is None else f"{dice:.4f}"


@click.command("train-compare", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--pack", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--name", required=True, help="Writes OUT/compare_<name>.json.")
@click.option("--archs", default=",".join(ARCHS), show_default=True, help="Comma-separated; ARCH@none|imagenet.")
@click.option("--size", default="256", show_default=True, help="Input size N or HxW (the pack's).")
@click.option("--epochs", default=60, show_default=True)
@click.option("--batch", default=8, show_default=True)
@click.option("--lr", default=1e-3, show_default=True)
@click.option("--loss", default="focal-tversky", show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--alpha", default=1.4, show_default=True, help="MU-Net width multiplier.")
@click.option("--weights", multiple=True, help="ARCH=imagenet|none|FILE.h5 (repeat); default: none (from scratch).")
@click.option("--max-minutes", default=9.0, show_default=True, help="Bound on the whole run.")
@click.option("--previous", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@click.option("--mixed-precision", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True)
@click.option("--workers", default=min(8, os.cpu_count() or 1), show_default=True, help="Augmentation threads.")
@click.option("--weights-mb", default=30.0, show_default=True, help="Save weights of models up to this size.")
@click.option("--part-mb", default=15.0, show_default=True, help="Split weight files above this size.")
@click.option("--paper-table", type=click.Choice(["isic", "brain"]), default=None)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@cli_errors
def train_compare_command(**kw: Any) -> None:
    """Train the comparison's architectures on a pack with Keras (JAX on a GPU); rows like munet-bench compare."""
    from munet.edge.preprocess import parse_size

    keys = ("epochs", "batch", "lr", "loss", "seed", "alpha")
    budget = Budget(size=parse_size(kw["size"]), **{k: kw[k] for k in keys})
    archs = [a.strip() for a in kw["archs"].split(",") if a.strip()]
    keys = ("max_minutes", "previous", "mixed_precision", "workers", "weights_mb", "part_mb", "paper_table")
    train_compare(
        kw["pack"], kw["name"], archs, budget, kw["out"], parse_weights(kw["weights"]), **{k: kw[k] for k in keys}
    )
    click.echo(f"wrote {kw['out']}/compare_{kw['name']}.json")


if __name__ == "__main__":
    train_compare_command()
