"""The run callback: atomic checkpoints, resumable progress, plateau LR, early stopping, SIGINT, collapse stop.

Everything a resumed run needs lives in ``RUN/state/progress.json`` (completed epochs, best value,
early-stopping and plateau counters, learning rate, the log history) plus ``RUN/last.keras``
(weights and optimizer state). At every epoch end the epoch's checkpoints are written to
``RUN/state/epoch-N.last.keras`` (and ``.best.keras``), then ``progress.json`` (the commit record),
then they replace ``last.keras`` / ``best.keras``. A SIGKILL at any point loses at most the running
epoch, and :func:`recover_checkpoints` (run when a run starts or resumes) makes ``last.keras``,
``best.keras`` and ``progress.json`` agree again: it finishes a committed epoch's move, discards an
uncommitted epoch's files, and removes the temporary files of interrupted atomic writes.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import keras

from munet.atomic import atomic_path, write_text_atomic
from munet.errors import MunetError

PROGRESS_NAME = "state/progress.json"
#: Checkpoint files of epoch N written before the epoch is committed: ``state/epoch-0003.last.keras``.
PENDING_RE = re.compile(r"^epoch-(\d+)\.(last|best)\.keras$")
#: Temporary files of :func:`munet.atomic.atomic_path` (``.NAME.XXXXXXXX.tmp.SUFFIX``) a kill left behind.
STALE_TMP_RE = re.compile(r"^\..+\.tmp(\.[^.]+)?$")


def pending_path(run_dir: Path, epoch: int, name: str) -> Path:
    """Where epoch ``epoch``'s ``name`` (``last.keras`` / ``best.keras``) waits for its commit."""
    return run_dir / "state" / f"epoch-{epoch:04d}.{name}"


def _promote(run_dir: Path, epoch: int) -> list[str]:
    """Move epoch ``epoch``'s committed checkpoints into place (``last`` first); the names moved."""
    moved = []
    for name in ("last.keras", "best.keras"):
        src = pending_path(run_dir, epoch, name)
        if src.is_file():
            os.replace(src, run_dir / name)
            moved.append(name)
    return moved


def recover_checkpoints(run_dir: Path, committed: int) -> list[str]:
    """Make ``last.keras`` / ``best.keras`` agree with ``progress.json`` after a kill; what was done, one line each.

    ``committed`` is the epoch count in ``progress.json``. Checkpoints of an epoch it counts were written and
    committed but not yet moved: they are moved into place. Those of a later epoch were never committed: they
    are deleted (progress.json is the record that counts). Temporary files of interrupted writes are deleted.
    """
    notes = []
    state = run_dir / "state"
    pending = sorted(p for p in state.glob("epoch-*.keras") if PENDING_RE.match(p.name)) if state.is_dir() else []
    for epoch in sorted({int(PENDING_RE.match(p.name).group(1)) for p in pending}):
        if epoch <= committed:
            moved = _promote(run_dir, epoch)
            notes.append(
                f"{run_dir}: epoch {epoch} was committed in {PROGRESS_NAME} but the run stopped before its "
                f"checkpoints were moved into place: {' and '.join(moved)} now hold epoch {epoch}"
            )
        else:
            for path in pending:
                if int(PENDING_RE.match(path.name).group(1)) == epoch:
                    path.unlink()
            notes.append(
                f"{run_dir}: epoch {epoch} was saved but never committed (the run stopped during its save): "
                f"discarded; last.keras and best.keras stay as {PROGRESS_NAME} says (epoch {committed})"
            )
    stale = [p for d in (run_dir, state) if d.is_dir() for p in d.iterdir() if STALE_TMP_RE.match(p.name)]
    if stale:
        size = 0
        for path in stale:
            with contextlib.suppress(OSError):
                size += path.stat().st_size if path.is_file() else 0
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        notes.append(
            f"{run_dir}: removed {len(stale)} temporary file(s) ({size / 1e6:.1f} MB) left by interrupted saves: "
            + ", ".join(p.name for p in stale[:3])
            + (" ..." if len(stale) > 3 else "")
        )
    return notes


@dataclass
class Progress:
    """Resume state, written as ``RUN/state/progress.json`` at each epoch end."""

    epoch: int = 0  # completed epochs
    best: float | None = None
    best_epoch: int | None = None
    wait: int = 0  # epochs without improvement (early stopping)
    plateau_wait: int = 0  # epochs without improvement since the last LR cut
    lr: float | None = None
    stopped_early: bool = False
    collapsed: str | None = None  # why training stopped on a collapse to empty masks (see RunCallback)
    finished: bool = False
    wall_s: float = 0.0  # training wall time over all sessions, up to the last completed epoch
    history: list[dict[str, float]] = field(default_factory=list)

    @classmethod
    def load(cls, run_dir: Path) -> Progress:
        path = run_dir / PROGRESS_NAME
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text())
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def save(self, run_dir: Path) -> None:
        write_text_atomic(run_dir / PROGRESS_NAME, json.dumps(asdict(self), indent=1) + "\n")


class InterruptFlag:
    """Counts SIGINTs while installed: 1 = stop after this epoch, 2 = stop after this batch, 3 = abort."""

    def __init__(self) -> None:
        self.count = 0
        self._previous: Any = None

    def _handler(self, signum: int, frame: Any) -> None:
        self.count += 1
        if self.count == 1:
            print(
                "\ninterrupted: finishing this epoch, then saving (Ctrl-C again to stop after the current batch)",
                file=sys.stderr,
                flush=True,
            )
        elif self.count == 2:
            print("\ninterrupted again: stopping after the current batch", file=sys.stderr, flush=True)
            signal.signal(signal.SIGINT, signal.default_int_handler)

    def __enter__(self) -> InterruptFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


COLLAPSE_PEAK = 0.2  # training Dice the run must have reached ...
COLLAPSE_FLOOR = 0.01  # ... before an epoch below this counts as a collapse


def collapse_reason(history: list[dict[str, float]], key: str = "dice") -> str | None:
    """Why the last epoch looks like a collapse to empty masks, or None.

    A region loss on sigmoid probabilities (focal Tversky, Dice) has no gradient once the sigmoid
    saturates at 0: a run that had learned (training Dice >= 0.2) and then scores < 0.01 for a whole
    epoch will not come back. Seen on LGG brain MRI (73 % tumour-free slices) with Adam 5e-4: training
    Dice 0.70 at epoch 2, 0.00 from epoch 5 on. Runs that never found the foreground are not flagged.
    """
    values = [row[key] for row in history if key in row]
    if len(values) < 2 or values[-1] >= COLLAPSE_FLOOR:
        return None
    peak = max(values[:-1])
    if peak < COLLAPSE_PEAK:
        return None
    at = values.index(peak) + 1
    return (
        f"training Dice fell to {values[-1]:.3f} after {peak:.2f} at epoch {at}: the model collapsed to empty "
        "masks and cannot recover (a saturated sigmoid has no gradient)"
    )


def current_lr(optimizer: Any) -> float:
    """The optimizer's learning rate now, rounded to float32 precision (1e-3, not 0.0010000000474974513)."""
    return float(f"{float(keras.ops.convert_to_numpy(optimizer.learning_rate)):.7g}")


def write_log_csv(path: Path, history: list[dict[str, float]]) -> None:
    """``log.csv`` rewritten from the history (so it always matches the completed epochs)."""
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k not in keys]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys)
    writer.writeheader()
    writer.writerows(history)
    write_text_atomic(path, buf.getvalue())


class RunCallback(keras.callbacks.Callback):
    """Checkpointing, resumable counters, plateau LR reduction, early stopping and SIGINT handling.

    Args:
        run_dir: the run folder.
        progress: state to continue from (fresh for a new run).
        monitor: log key to watch (``val_dice``, ``val_loss``...); ``*loss*`` is minimised, others maximised.
        patience: early-stopping patience in epochs.
        plateau: reduce the LR by ``lr_factor`` after ``lr_patience`` epochs without improvement.
        interrupt: the :class:`InterruptFlag` set by SIGINT.
        warmup_until: epoch count up to which the LR warms up: no plateau cuts, and their counter starts after it.
        ema: the optimizer keeps a weight EMA: validation runs on the averaged weights, ``best.keras`` holds them
            (``last.keras`` keeps the raw weights and the optimizer with the average, for resuming).
        precise_bn: called before each validation (after the EMA swap) to recompute the BatchNorm statistics
            (:mod:`munet.train.precise_bn`), so validation and both checkpoints carry them.
    """

    def __init__(
        self,
        run_dir: Path,
        progress: Progress,
        monitor: str,
        patience: int,
        plateau: bool,
        lr_patience: int,
        lr_factor: float,
        min_lr: float,
        interrupt: InterruptFlag,
        wall_base: float = 0.0,
        session_start: float | None = None,
        warmup_until: float = 0.0,
        ema: bool = False,
        precise_bn: Callable[[], int] | None = None,
    ) -> None:
        super().__init__()
        self.warmup_until, self.ema, self.precise_bn = warmup_until, ema, precise_bn
        self._ema_swap: contextlib.ExitStack | None = None
        self.wall_base = wall_base
        self.session_start = time.perf_counter() if session_start is None else session_start
        self.run_dir, self.progress, self.monitor = run_dir, progress, monitor
        self.minimise = "loss" in monitor
        self.patience, self.plateau = patience, plateau
        self.lr_patience, self.lr_factor, self.min_lr = lr_patience, lr_factor, min_lr
        self.interrupt = interrupt
        self.partial_epoch = False

    def _improved(self, value: float) -> bool:
        best = self.progress.best
        if best is None or math.isnan(best):
            return not math.isnan(value)
        return value < best if self.minimise else value > best

    def _save(self, path: Path) -> None:
        with atomic_path(path) as tmp:
            self.model.save(tmp)

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.ema and self._ema_swap is None:  # validate the averaged weights
            from munet.train.optim import ema_weights_swapped

            self._ema_swap = contextlib.ExitStack()
            self._ema_swap.enter_context(ema_weights_swapped(self.model))
        if self.precise_bn is not None:
            self.precise_bn()

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._ema_swap is not None:
            self._ema_swap.close()  # the raw weights back for training
            self._ema_swap = None

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.interrupt.count >= 2:
            self.partial_epoch = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.partial_epoch:  # stopped mid-epoch: not a completed epoch, keep the previous checkpoint
            return
        logs = {k: float(v) for k, v in (logs or {}).items()}
        p = self.progress
        lr = current_lr(self.model.optimizer)
        p.history.append({"epoch": epoch + 1, "lr": lr, **logs})
        if self.monitor not in logs:
            valid = ", ".join(k for k in logs if k.startswith("val_"))
            raise MunetError(f"monitor {self.monitor!r} is not a validation log key; choose one of: {valid}")
        value = logs[self.monitor]
        improved = self._improved(value)
        if improved:
            p.best, p.best_epoch, p.wait, p.plateau_wait = value, epoch + 1, 0, 0
        else:
            p.wait += 1
            p.plateau_wait += 1
            if epoch + 1 <= self.warmup_until:
                p.plateau_wait = 0
            elif self.plateau and p.plateau_wait >= self.lr_patience and lr > self.min_lr:
                new_lr = max(lr * self.lr_factor, self.min_lr)
                self.model.optimizer.learning_rate = new_lr
                print(f"epoch {epoch + 1}: {self.monitor} flat for {p.plateau_wait} epochs, lr -> {new_lr:.3g}")
                p.plateau_wait = 0
        p.lr = current_lr(self.model.optimizer)
        p.epoch = epoch + 1
        p.wall_s = round(self.wall_base + time.perf_counter() - self.session_start, 1)
        if p.wait >= self.patience:
            p.stopped_early = True
            self.model.stop_training = True
            print(f"epoch {epoch + 1}: early stop, {self.monitor} has not improved for {p.wait} epochs")
        reason = collapse_reason(p.history)
        if reason and not p.collapsed:
            p.collapsed, p.stopped_early = f"epoch {epoch + 1}: {reason}", True
            self.model.stop_training = True
            print(
                f"epoch {epoch + 1}: stopped, {reason}; best.keras (epoch {p.best_epoch}) is kept. "
                "Rerun with a lower --lr (e.g. a fifth) or --loss bce-dice",
                file=sys.stderr,
                flush=True,
            )
        # The epoch's checkpoints and the log first, progress.json (the commit record) next, then the checkpoints
        # into place: a kill anywhere leaves files that recover_checkpoints() reconciles with progress.json.
        last = pending_path(self.run_dir, p.epoch, "last.keras")
        self._save(last)
        if improved and self.ema:
            from munet.train.optim import ema_weights_swapped

            with ema_weights_swapped(self.model):
                self._save(pending_path(self.run_dir, p.epoch, "best.keras"))
        elif improved:
            best = pending_path(self.run_dir, p.epoch, "best.keras")
            try:
                os.link(last, best)  # the same bytes; replacing last.keras later does not touch them
            except OSError:
                shutil.copyfile(last, best)
        write_log_csv(self.run_dir / "log.csv", p.history)
        p.save(self.run_dir)
        _promote(self.run_dir, p.epoch)
        if self.interrupt.count >= 1:
            self.model.stop_training = True
