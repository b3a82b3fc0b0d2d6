"""Trainer: real subprocess runs on tiny synthetic data (alpha 0.35, 64x64).

- SIGKILL after epoch 1, then ``--resume``: the run finishes, the log continues without gaps or
  duplicates and the optimizer state (its step counter) carries over;
- SIGINT: the epoch finishes, the run is saved and summarised, exit code 130 with a resume hint;
  the encoder is unfrozen after ``freeze_encoder_epochs``;
- the ``tf.distribute.MirroredStrategy`` path on two logical CPU devices.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

TINY_ALPHA, TINY_SIZE = 0.35, (64, 64)  # as tests/conftest.py

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0", "CUDA_VISIBLE_DEVICES": ""}
N_IMAGES, BATCH = 20, 4  # 16 training images -> 4 steps per epoch, 4 validation images


def _config(tmp_path: Path, **extra: object) -> Path:
    cfg = {
        "alpha": TINY_ALPHA,
        "size": list(TINY_SIZE),
        "synthetic_count": N_IMAGES,
        "batch": BATCH,
        "encoder_weights": "none",
        "augment": {"rotation_deg": 10.0},
        **extra,
    }
    path = tmp_path / "cfg.yaml"
    path.write_text(json.dumps(cfg))  # JSON is YAML
    return path


def _start(args: list[str]) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "munet.train.cli", *args]
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_epoch(proc: subprocess.Popen, run: Path, epoch: int, timeout: float = 240) -> int:
    progress = run / "state" / "progress.json"
    t0 = time.time()
    while time.time() - t0 < timeout:
        if progress.is_file():
            try:
                done = json.loads(progress.read_text())["epoch"]
            except (ValueError, KeyError):  # never partial (atomic), but be safe
                done = 0
            if done >= epoch:
                return done
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"training ended early ({proc.returncode}):\n{out}\n{err}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("timed out waiting for an epoch")


def _log_epochs(run: Path) -> list[int]:
    with open(run / "log.csv") as fh:
        return [int(float(row["epoch"])) for row in csv.DictReader(fh)]


@pytest.mark.slow
def test_sigkill_then_resume_continues(tmp_path: Path) -> None:
    run = tmp_path / "run"
    proc = _start(["--config", str(_config(tmp_path)), "--epochs", "3", "--out", str(run)])
    killed_after = _wait_for_epoch(proc, run, 1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    committed = [run / "last.keras", run / "state" / f"epoch-{killed_after:04d}.last.keras"]  # moved or not yet
    assert killed_after < 3 and any(p.is_file() for p in committed)
    (run / ".last.k1ll3d00.tmp.keras").write_bytes(b"0" * 1000)  # what a kill during a save leaves
    # log.csv is written just before progress.json, so it may hold one epoch more than the commit point
    assert _log_epochs(run)[:killed_after] == list(range(1, killed_after + 1))

    resumed = subprocess.run(
        [sys.executable, "-m", "munet.train.cli", "--resume", str(run)], env=ENV, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming {run} after epoch {killed_after}" in resumed.stdout
    assert "temporary file(s)" in resumed.stdout and not (run / ".last.k1ll3d00.tmp.keras").exists()
    assert not list((run / "state").glob("epoch-*")) and not list(run.glob(".*.tmp*"))
    assert "SYNTHETIC" in resumed.stdout
    assert _log_epochs(run) == [1, 2, 3]
    progress = json.loads((run / "state" / "progress.json").read_text())
    assert progress["epoch"] == 3 and progress["finished"]
    assert progress["wall_s"] > 0 and "all sessions" in (run / "MODEL_CARD.md").read_text()
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["per-image"]) >= {"dice", "iou", "miou", "isic_jaccard"}
    assert metrics["val_images"] == N_IMAGES // 5
    for name in ("config.yaml", "curves.png", "MODEL_CARD.md"):
        assert (run / name).stat().st_size > 0
    assert "Parameters" in (run / "MODEL_CARD.md").read_text()

    # one config hash: MODEL_CARD.md, metrics.json and the metadata of a model converted from the run
    from munet.convert.api import convert
    from munet.edge.metadata import read_model_info

    digest = read_model_info(convert(run, tmp_path / "m.tflite", mode="float32")).config_hash
    assert len(digest) == 12 and metrics["config_hash"] == digest
    assert f"Config hash: `{digest}`" in (run / "MODEL_CARD.md").read_text()

    # the optimizer state travelled: Adam's step counter = 3 epochs x 4 steps
    import keras

    import munet.train.keras_metrics  # noqa: F401
    import munet.train.losses  # noqa: F401  (registers the custom objects)

    model = keras.models.load_model(run / "last.keras")
    assert int(model.optimizer.iterations.numpy()) == 3 * (N_IMAGES - N_IMAGES // 5) // BATCH

    # a finished run is not overwritten by a new one in the same folder
    again = subprocess.run(
        [sys.executable, "-m", "munet.train.cli", "--epochs", "1", "--out", str(run)],
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 2 and "--resume" in again.stderr and "Traceback" not in again.stderr


def test_a_folder_holding_a_run_is_refused_before_tensorflow_is_imported(tmp_path: Path) -> None:
    """The refusal is a filesystem check: a second, not the ten of importing TensorFlow (and no file is touched)."""
    run = tmp_path / "run"
    (run / "state").mkdir(parents=True)
    (run / "state" / "progress.json").write_text('{"epoch": 1, "finished": true}')
    code = (
        "import sys\nfrom munet.train.cli import main\n"
        f"try:\n    main(['--epochs', '1', '--out', {str(run)!r}])\n"
        "except SystemExit as e:\n    print('exit', e.code)\n"
        "print('tensorflow imported:', 'tensorflow' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True)
    assert "exit 2" in done.stdout and "tensorflow imported: False" in done.stdout, done.stdout + done.stderr
    assert "already holds a run" in done.stderr and "--resume" in done.stderr
    assert sorted(p.name for p in run.rglob("*")) == ["progress.json", "state"]


SIGINT_SCRIPT = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from munet.train.cli import main
main(sys.argv[1:])
"""


@pytest.mark.slow
def test_sigint_saves_and_exits_130_on_mirrored_strategy(tmp_path: Path) -> None:
    """Distributed path (two logical CPU devices), encoder freezing, then SIGINT: clean stop, exit 130."""
    run = tmp_path / "run"
    cfg = _config(tmp_path, freeze_encoder_epochs=1, distribute="mirrored")
    cmd = [sys.executable, "-c", SIGINT_SCRIPT, "--config", str(cfg), "--epochs", "6", "--out", str(run)]
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_epoch(proc, run, 2)  # epoch 1 frozen, epoch 2 after unfreezing + recompiling
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-3000:]
    assert "MirroredStrategy over 2 replicas" in out
    assert "epoch 2: encoder unfrozen" in out
    assert f"resume with munet-train --resume {run}" in err and "Traceback" not in err
    progress = json.loads((run / "state" / "progress.json").read_text())
    assert 2 <= progress["epoch"] < 6 and not progress["finished"]  # the running epoch finished, then stop
    assert _log_epochs(run) == list(range(1, progress["epoch"] + 1))
    assert (run / "metrics.json").is_file() and "(interrupted)" in (run / "MODEL_CARD.md").read_text()
