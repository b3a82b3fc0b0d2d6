"""Multi-worker training: ``TF_CONFIG`` selects MultiWorkerMirroredStrategy; only the chief writes the run folder.

Two real worker processes on localhost (gRPC on free ports) train the tiny MU-Net (alpha 0.35, 64x64) for one
short epoch. Each records a digest of its final trainable weights (a wrapper around ``keras.Model.fit`` in the
launched script); both must agree with each other and with the chief's ``last.keras``.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from munet.errors import MunetError
from munet.train.trainer import tf_config_workers

TINY_ALPHA, TINY_SIZE = 0.35, (64, 64)  # as tests/conftest.py

WORKER_SCRIPT = """
import hashlib, os, sys
import keras
fit = keras.Model.fit
def recording_fit(self, *args, **kwargs):
    history = fit(self, *args, **kwargs)
    weights = b"".join(keras.ops.convert_to_numpy(v).tobytes() for v in self.trainable_weights)
    with open(os.environ["MUNET_TEST_DIGEST"], "w") as f:
        f.write(hashlib.sha256(weights).hexdigest())
    return history
keras.Model.fit = recording_fit
from munet.train.cli import main
main(sys.argv[1:])
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tf_config_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert tf_config_workers() == 0
    cluster = {"chief": ["a:1"], "worker": ["b:1", "c:1"], "ps": ["d:1"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 1}}))
    assert tf_config_workers() == 3  # chief + workers; parameter servers do not train
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(MunetError, match="TF_CONFIG.*expected JSON with a cluster"):
        tf_config_workers()


@pytest.mark.slow  # a whole training resumed (or two workers): 20-40 s, in make test-slow
def test_two_workers_agree_and_only_the_chief_writes(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        json.dumps(
            {
                "alpha": TINY_ALPHA,
                "size": list(TINY_SIZE),
                "encoder_weights": "none",
                "synthetic_count": 16,  # 12 training images
                "batch": 4,  # global batch: 2 per worker
                "steps_per_epoch": 3,
                "epochs": 1,
                "workers": 1,
                "distribute": "auto",  # picked from TF_CONFIG
            }
        )
    )
    cluster = {"worker": [f"localhost:{_free_port()}", f"localhost:{_free_port()}"]}
    procs = []
    for index in range(2):
        tmp = tmp_path / f"tmp{index}"  # each worker's TMPDIR: the non-chief's temporary run folder goes here
        tmp.mkdir()
        env = {
            **os.environ,
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "TF_ENABLE_ONEDNN_OPTS": "0",
            "CUDA_VISIBLE_DEVICES": "",
            "TMPDIR": str(tmp),
            "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
            "MUNET_TEST_DIGEST": str(tmp_path / f"digest{index}"),
        }
        # Different --out per worker, as on two machines: worker 1 must not create its own.
        cmd = [sys.executable, "-c", WORKER_SCRIPT, "--config", str(cfg), "--out", str(tmp_path / f"run{index}")]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=240)[0])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for index, (proc, out) in enumerate(zip(procs, outputs, strict=True)):
        assert proc.returncode == 0, f"worker {index}:\n{out[-3000:]}"
        assert "distributed: MultiWorkerMirroredStrategy over 2 replicas" in out, out[-3000:]
    assert "worker 1: not the chief" in outputs[1] and "not the chief" not in outputs[0]

    # the same final weights on both workers, and in the chief's checkpoint
    digests = [(tmp_path / f"digest{i}").read_text() for i in range(2)]
    assert digests[0] == digests[1]
    model = keras.models.load_model(tmp_path / "run0" / "last.keras", compile=False)
    weights = b"".join(keras.ops.convert_to_numpy(v).tobytes() for v in model.trainable_weights)
    assert hashlib.sha256(weights).hexdigest() == digests[0]
    # the same (all-reduced) validation score in both summaries
    best = [next(line for line in out.splitlines() if "best val_dice" in line).split("best ")[1] for out in outputs]
    assert best[0].split(" at")[0] == best[1].split(" at")[0]

    # only the chief wrote a run folder; the worker's temporary one is gone
    for name in ("config.yaml", "best.keras", "last.keras", "log.csv", "MODEL_CARD.md", "state/progress.json"):
        assert (tmp_path / "run0" / name).is_file(), name
    assert not (tmp_path / "run1").exists()
    assert list((tmp_path / "tmp1").iterdir()) == []
