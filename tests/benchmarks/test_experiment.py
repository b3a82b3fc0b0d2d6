"""The experiment runner (``munet.benchmarks.experiment``): an interrupted row continues under ``reuse``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from munet.benchmarks.experiment import Point, Setup, interrupted, point_config, run_point, train_point
from tests.conftest import TINY_ALPHA, TINY_SIZE

TINY = {"arch": "munet", "alpha": TINY_ALPHA, "size": list(TINY_SIZE), "encoder_weights": "none", "batch": 8}


def _leave_interrupted(point: Point, setup: Setup, run_dir: Path, epoch: int) -> None:
    """``run_dir`` as a training of ``point`` stopped after ``epoch`` leaves it (config + unfinished progress)."""
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(point_config(point, setup, run_dir).to_yaml())
    (run_dir / "state").mkdir()
    (run_dir / "state" / "progress.json").write_text(json.dumps({"epoch": epoch, "finished": False}))


def test_only_an_unfinished_training_with_the_same_settings_can_be_continued(blob_data: Path, tmp_path: Path) -> None:
    setup = Setup(blob_data, blob_data, tmp_path, reuse=True)
    point = Point("p", TINY | {"epochs": 4})
    run = tmp_path / "p"
    assert interrupted(point, setup, run) is None  # nothing there
    _leave_interrupted(point, setup, run, epoch=2)
    assert interrupted(point, setup, run) == 2
    assert interrupted(Point("p", TINY | {"epochs": 5}), setup, run) is None  # another budget: not this run
    assert interrupted(Point("p", TINY | {"epochs": 4, "lesion_share": 0.5}), setup, run) is None
    (run / "state" / "progress.json").write_text(json.dumps({"epoch": 4, "finished": True}))
    assert interrupted(point, setup, run) is None  # finished: reused as it is, not continued
    (run / "state" / "progress.json").write_text("{not json")
    assert interrupted(point, setup, run) is None  # unreadable state: trained again


@pytest.mark.slow  # a whole training resumed (or two workers): 20-40 s, in make test-slow
def test_an_interrupted_training_continues_from_its_last_epoch_and_counts_both_sittings(
    blob_data: Path, tmp_path: Path
) -> None:
    """A row stopped after epoch 1 of 2 (a sitting's end) trains only epoch 2 under reuse; its row's training time
    is the run's wall time over both sittings, and the run's history keeps epoch 1."""
    pytest.importorskip("tensorflow")
    point = Point("p", TINY | {"epochs": 2, "loss": "bce", "steps_per_epoch": 2}, modes=("float32",))
    setup = Setup(blob_data, blob_data, tmp_path, reuse=True, verbose=0)
    run = tmp_path / "p"
    t0 = time.perf_counter()
    train_point(point, setup, run)  # both epochs, then rolled back to the end of epoch 1
    both_epochs_s = time.perf_counter() - t0
    progress = run / "state" / "progress.json"
    state = json.loads(progress.read_text())
    assert state["finished"] and state["epoch"] == 2
    state |= {"epoch": 1, "finished": False, "wall_s": 1000.0}  # as if the sitting ended after epoch 1
    progress.write_text(json.dumps(state))
    said: list[str] = []
    row = run_point(point, setup, echo=said.append)
    assert any("continuing the interrupted training" in s and "after epoch 1" in s for s in said), said
    after = json.loads(progress.read_text())
    assert after["finished"] and after["epoch"] == 2
    assert row.epochs == 2 and 1000.0 < row.train_s < 1000.0 + both_epochs_s + 60
    assert row.model_path("float32").is_file()


def test_a_training_stopped_by_ctrl_c_stops_the_sweep_without_a_row(
    blob_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The trainer returns normally after a SIGINT (its own tests send real ones); the runner must not convert and
    score that partly trained point as a finished row, which reuse would later take as it is."""
    import munet.train.trainer as trainer
    from munet.benchmarks.experiment import TrainingInterrupted

    def stopped_after_one_epoch(config, resume=False, verbose=None):
        Path(config.out).mkdir(parents=True, exist_ok=True)
        return trainer.RunResult(Path(config.out), 1, 1, 0.5, config.monitor, interrupted=True)

    monkeypatch.setattr(trainer, "train", stopped_after_one_epoch)
    point = Point("p", TINY | {"epochs": 3}, modes=("float32",))
    with pytest.raises(TrainingInterrupted, match=r"interrupted after epoch 1 of 3"):
        run_point(point, Setup(blob_data, blob_data, tmp_path, reuse=True), echo=lambda _: None)
    assert not (tmp_path / "p" / "row.json").exists()
    assert "--reuse continue it" in capsys.readouterr().err
    assert issubclass(TrainingInterrupted, KeyboardInterrupt)  # not caught by a sweep's per-row MunetError handler


def test_a_scored_row_is_reused_whether_it_records_the_weights_path_or_not(tmp_path: Path) -> None:
    """A sweep row records the overrides as given, a cv row without the machine-specific ``encoder_weights`` path
    (``overrides_key``): --reuse takes both; a row of other settings is a one-line error."""
    from munet.benchmarks.experiment import Row, overrides_key, reused_row
    from munet.errors import InputError

    point = Point("fold0", {"epochs": 2, "encoder_weights": "../shared/weights/w.h5"})
    setup = Setup(tmp_path, tmp_path, tmp_path / "runs", reuse=True)
    row_path = tmp_path / "runs" / "fold0" / "row.json"
    row_path.parent.mkdir(parents=True)
    for recorded in (dict(point.overrides), overrides_key(point.overrides)):
        row_path.write_text(json.dumps(Row(point="p", fold=0, overrides=recorded, scores={"dice": 0.9}).to_dict()))
        row = reused_row(point, setup, echo=lambda _m: None)
        assert row is not None and row.scores == {"dice": 0.9}
    row_path.write_text(json.dumps(Row(point="p", fold=0, overrides={"epochs": 3}).to_dict()))
    with pytest.raises(InputError, match="made with other settings"):
        reused_row(point, setup, echo=lambda _m: None)
