"""RunCallback's counters on a tiny Dense model: best/last checkpoints, plateau LR, early stop, resume state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
keras = pytest.importorskip("keras")

from munet.errors import MunetError  # noqa: E402
from munet.train.callbacks import InterruptFlag, Progress, RunCallback  # noqa: E402


def _callback(run: Path, progress: Progress, **kw: object) -> RunCallback:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    args = dict(monitor="val_dice", patience=3, plateau=True, lr_patience=2, lr_factor=0.5, min_lr=1e-4)
    args.update(kw)
    cb = RunCallback(run, progress, interrupt=InterruptFlag(), **args)  # type: ignore[arg-type]
    cb.set_model(model)
    return cb


def test_best_plateau_and_early_stop(tmp_path: Path) -> None:
    cb = _callback(tmp_path, Progress())
    dice = [0.5, 0.6, 0.55, 0.58, 0.59]  # best at epoch 2, then 3 epochs without improvement
    for epoch, value in enumerate(dice):
        cb.on_epoch_end(epoch, {"loss": 1.0, "val_dice": value})
    p = json.loads((tmp_path / "state" / "progress.json").read_text())
    assert p["epoch"] == 5 and p["best_epoch"] == 2 and p["best"] == pytest.approx(0.6)
    # plateau: 2 flat epochs (3, 4) -> lr halved once; early stop after 3 flat epochs (3, 4, 5)
    assert [row["lr"] for row in p["history"]] == [1e-3, 1e-3, 1e-3, 1e-3, 5e-4]
    assert p["lr"] == 5e-4 and p["stopped_early"] and cb.model.stop_training
    assert (tmp_path / "best.keras").is_file() and (tmp_path / "last.keras").is_file()
    assert (tmp_path / "log.csv").read_text().count("\n") == 6  # header + 5 epochs
    # the counters come back for a resumed run
    again = Progress.load(tmp_path)
    assert (again.wait, again.best_epoch, len(again.history)) == (3, 2, 5)


def test_loss_monitor_is_minimised_and_unknown_monitor_fails(tmp_path: Path) -> None:
    cb = _callback(tmp_path, Progress(), monitor="val_loss")
    cb.on_epoch_end(0, {"val_loss": 0.5})
    cb.on_epoch_end(1, {"val_loss": 0.4})
    assert cb.progress.best_epoch == 2
    bad = _callback(tmp_path / "b", Progress(), monitor="val_dcie")
    with pytest.raises(MunetError, match="val_dcie.*val_loss"):
        bad.on_epoch_end(0, {"val_loss": 0.5})


def test_interrupts(tmp_path: Path) -> None:
    cb = _callback(tmp_path, Progress())
    cb.interrupt.count = 1  # first Ctrl-C: finish and record the epoch, then stop
    cb.on_train_batch_end(0)
    assert not cb.model.stop_training
    cb.on_epoch_end(0, {"val_dice": 0.3})
    assert cb.model.stop_training and cb.progress.epoch == 1
    cb2 = _callback(tmp_path / "b", Progress())
    cb2.interrupt.count = 2  # second Ctrl-C: stop after this batch; the partial epoch is not recorded
    cb2.on_train_batch_end(0)
    cb2.on_epoch_end(0, {"val_dice": 0.3})
    assert cb2.model.stop_training and cb2.progress.epoch == 0 and not (tmp_path / "b" / "last.keras").exists()


def test_collapse_reason_flags_only_a_run_that_had_learned() -> None:
    from munet.train.callbacks import collapse_reason

    brain = [{"dice": d} for d in (0.08, 0.70, 0.62, 0.39, 0.0)]  # the LGG run at Adam 5e-4
    reason = collapse_reason(brain)
    assert reason and "0.000 after 0.70 at epoch 2" in reason
    assert collapse_reason(brain[:4]) is None  # still learning (0.39)
    assert collapse_reason([{"dice": d} for d in (0.0, 0.05, 0.0)]) is None  # never found the foreground
    assert collapse_reason([{"loss": 0.5}, {"loss": 0.4}]) is None  # no Dice logged


def test_collapse_stops_the_run_and_keeps_the_best_checkpoint(tmp_path: Path, capsys) -> None:
    cb = _callback(tmp_path, Progress(), patience=10)
    for epoch, (dice, val) in enumerate([(0.3, 0.5), (0.7, 0.64), (0.4, 0.56)]):
        cb.on_epoch_end(epoch, {"dice": dice, "val_dice": val})
    assert not cb.model.stop_training and cb.progress.collapsed is None
    cb.on_epoch_end(3, {"dice": 0.0, "val_dice": 0.0})
    assert cb.model.stop_training and cb.progress.stopped_early
    assert cb.progress.collapsed.startswith("epoch 4: training Dice fell to 0.000")
    assert "best.keras (epoch 2) is kept" in capsys.readouterr().err and (tmp_path / "best.keras").is_file()
    assert Progress.load(tmp_path).collapsed == cb.progress.collapsed  # a resumed run knows why it stopped


def test_model_card_says_the_run_collapsed(tmp_path: Path) -> None:
    from munet.train.model_card import write_model_card

    info = dict(arch="munet", alpha=1.0, size=[64, 64], threshold=0.5, encoder_weights="none", params=10, macs=None)
    info |= dict(config_hash="x", munet_version="0", train_source="a", val_source="b", n_train=1, n_val=1)
    info |= dict(epochs_completed=5, epochs=15, stopped_early=True, interrupted=False, loss="focal-tversky", lr=5e-4)
    info |= dict(batch=8, best_epoch=2, monitor="val_dice", best=0.64, wall_s=1.0, device="CPU")
    info["collapsed"] = "epoch 5: training Dice fell to 0.000 after 0.70 at epoch 2"
    card = write_model_card(tmp_path / "MODEL_CARD.md", info, "lr: 5e-4\n", None).read_text()
    assert "**Stopped on a collapse**, epoch 5: training Dice fell to 0.000" in card
    metrics = {"dice_per_image": 0.9, "masks_at": "original size"}  # the trainer's final metrics (one evaluator)
    card = write_model_card(tmp_path / "MODEL_CARD.md", info, "lr: 5e-4\n", metrics).read_text()
    assert "## Validation metrics (best.keras, thresholded masks at the original image size)" in card
    assert "Distilled" not in card
    info |= dict(teacher=["runs/a/last.keras"], teacher_weight=0.25, teacher_tta="hflip")
    card = write_model_card(tmp_path / "MODEL_CARD.md", info, "lr: 5e-4\n", metrics).read_text()
    assert (
        "- Distilled: the training targets were 0.75 x mask + 0.25 x the mean probability of `runs/a/last.keras` "
        "over their `hflip` flips (validation used the true masks)" in card
    )


def _mark(cb: RunCallback, value: float) -> None:
    """Set every weight of the tiny model to ``value`` (identifies which epoch a checkpoint holds)."""
    cb.model.set_weights([np.full(w.shape, value, w.dtype) for w in cb.model.get_weights()])


def _held(path: Path) -> float:
    return float(keras.models.load_model(path, compile=False).get_weights()[0].ravel()[0])


class Killed(Exception):
    """Stands for a SIGKILL at one point of the epoch-end save."""


def test_kill_before_the_commit_keeps_checkpoints_as_progress_says(tmp_path: Path, monkeypatch) -> None:
    from munet.train.callbacks import recover_checkpoints

    cb = _callback(tmp_path, Progress())
    _mark(cb, 1.0)
    cb.on_epoch_end(0, {"val_dice": 0.5})

    def killed(self, run_dir):
        raise Killed

    monkeypatch.setattr(Progress, "save", killed)
    _mark(cb, 2.0)
    with pytest.raises(Killed):  # epoch 2 improved, its checkpoints are written, then the kill
        cb.on_epoch_end(1, {"val_dice": 0.6})
    monkeypatch.undo()
    progress = Progress.load(tmp_path)
    assert (progress.epoch, progress.best_epoch) == (1, 1)
    assert _held(tmp_path / "best.keras") == 1.0 and _held(tmp_path / "last.keras") == 1.0
    notes = recover_checkpoints(tmp_path, progress.epoch)
    assert len(notes) == 1 and "epoch 2 was saved but never committed" in notes[0]
    assert not list((tmp_path / "state").glob("epoch-*")) and _held(tmp_path / "best.keras") == 1.0


def test_kill_after_the_commit_is_finished_on_resume(tmp_path: Path, monkeypatch) -> None:
    import munet.train.callbacks as callbacks
    from munet.train.callbacks import recover_checkpoints

    cb = _callback(tmp_path, Progress())
    _mark(cb, 1.0)
    cb.on_epoch_end(0, {"val_dice": 0.5})
    monkeypatch.setattr(callbacks, "_promote", lambda run_dir, epoch: [])  # killed right after the commit
    _mark(cb, 2.0)
    cb.on_epoch_end(1, {"val_dice": 0.6})
    monkeypatch.undo()
    assert Progress.load(tmp_path).best_epoch == 2 and _held(tmp_path / "best.keras") == 1.0
    notes = recover_checkpoints(tmp_path, Progress.load(tmp_path).epoch)
    assert len(notes) == 1 and "last.keras and best.keras now hold epoch 2" in notes[0]
    assert _held(tmp_path / "best.keras") == 2.0 and _held(tmp_path / "last.keras") == 2.0
    _mark(cb, 3.0)  # a later epoch that does not improve replaces last.keras only
    cb.on_epoch_end(2, {"val_dice": 0.55})
    assert _held(tmp_path / "best.keras") == 2.0 and _held(tmp_path / "last.keras") == 3.0


def test_stale_temporary_files_are_removed(tmp_path: Path) -> None:
    from munet.atomic import atomic_path
    from munet.train.callbacks import recover_checkpoints

    (tmp_path / "state").mkdir()
    keep = [tmp_path / "log.csv", tmp_path / ".hidden", tmp_path / "state" / "progress.json"]
    for path in keep:
        path.write_text("x")
    stale = []
    for target in (tmp_path / "last.keras", tmp_path / "state" / "progress.json", tmp_path / "state" / "e.last.keras"):
        with pytest.raises(Killed), atomic_path(target) as tmp:  # the names atomic_path really uses
            tmp.write_bytes(b"0" * 1000)
            (tmp.parent / ("copy" + tmp.name)).write_bytes(tmp.read_bytes())
            stale.append(tmp.parent / tmp.name)
            raise Killed
    for path in stale:
        (path.parent / ("copy" + path.name)).rename(path)  # as a SIGKILL would have left them
    notes = recover_checkpoints(tmp_path, 0)
    assert len(notes) == 1 and "removed 3 temporary file(s)" in notes[0]
    assert not any(p.exists() for p in stale) and all(p.exists() for p in keep)
