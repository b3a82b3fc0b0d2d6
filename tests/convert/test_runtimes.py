"""Every mode loads and runs in ai-edge-litert, and in tflite-runtime 2.14 (separate NumPy-1 venv)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
TFLRT_PYTHON = REPO / ".venv-tflrt" / "bin" / "python"

SCRIPT = """
import sys, numpy as np
from tflite_runtime.interpreter import Interpreter
for path in sys.argv[1:]:
    it = Interpreter(model_path=path)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
    it.invoke()
    out = it.get_tensor(it.get_output_details()[0]["index"])
    print("OK", path, out.shape)
"""


def test_litert_runs_every_mode(converted: dict[str, Path]) -> None:
    from munet.convert.gate import tflite_predictions

    image = np.full((48, 80, 3), 128, np.uint8)  # not the model size: masks come back at the image's size
    ref = tflite_predictions(converted["float32"], [image])[0]
    for mode, path in converted.items():
        pred = tflite_predictions(path, [image])[0]
        assert pred.prob.shape == (64, 64) and pred.mask.shape == (48, 80)
        assert np.abs(pred.prob - ref.prob).mean() < 0.05, mode


def test_tflite_runtime_214_runs_every_mode(converted: dict[str, Path]) -> None:
    if not TFLRT_PYTHON.exists():
        pytest.skip("no .venv-tflrt (python3.11 -m venv .venv-tflrt; pip install tflite-runtime==2.14.0 'numpy<2')")
    paths = [str(converted[m]) for m in ("float32", "fp16", "dynamic", "int8")]
    proc = subprocess.run([str(TFLRT_PYTHON), "-c", SCRIPT, *paths], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("OK") == 4
