"""ONNX as a conversion format: a float32 ``.tflite`` -> ``.onnx`` with tf2onnx (the ONNX Runtime peer).

tf2onnx pins its own protobuf/NumPy, so it may live in another Python: this one when it imports
tf2onnx, else ``--onnx-python`` / ``$MUNET_ONNX_PYTHON`` / ``.venv-onnx/bin/python``. Without any, the
one-line error names the install: ``pip install "munet[onnx]"``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from munet.errors import InputError, ModelError

INSTALL_HINT = 'pip install "munet[onnx]"'
DEFAULT_ONNX_PYTHON = Path(".venv-onnx") / "bin" / "python"


def _imports(python: Path, modules: Sequence[str]) -> bool:
    if python == Path(sys.executable):
        return all(importlib.util.find_spec(m) is not None for m in modules)
    code = "; ".join(f"import {m}" for m in modules)
    try:
        return subprocess.run([str(python), "-c", code], capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def onnx_python(python: str | os.PathLike[str] | None = None, need: Sequence[str] = ("tf2onnx",)) -> Path | None:
    """The first Python that imports ``need``: ``python``, ``$MUNET_ONNX_PYTHON``, ``.venv-onnx``, this one."""
    explicit = [c for c in (python, os.environ.get("MUNET_ONNX_PYTHON"), DEFAULT_ONNX_PYTHON) if c]
    for cand in [*(Path(c) for c in explicit if Path(c).is_file()), Path(sys.executable)]:
        if _imports(cand, need):
            return cand
    return None


def require_onnx(python: str | os.PathLike[str] | None = None, need: Sequence[str] = ("tf2onnx",)) -> Path:
    """:func:`onnx_python`, or an :class:`InputError` naming the install."""
    found = onnx_python(python, need)
    if found is None:
        raise InputError(
            f"ONNX needs {' and '.join(need)}: {INSTALL_HINT} (or point --onnx-python / MUNET_ONNX_PYTHON "
            "at a Python that has it)"
        )
    return found


def export_onnx(
    tflite_float32: str | os.PathLike[str],
    out: str | os.PathLike[str],
    python: str | os.PathLike[str] | None = None,
    opset: int = 17,
) -> Path:
    """Convert a float32 ``.tflite`` to ONNX with tf2onnx (run by ``python``, default :func:`require_onnx`)."""
    src, out = Path(tflite_float32), Path(out)
    if not src.is_file():
        raise InputError(f"{src}: no such .tflite file; convert with munet-convert --float32 first")
    py = Path(python) if python else require_onnx()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    cmd = [str(py), "-m", "tf2onnx.convert", "--tflite", str(src), "--output", str(tmp), "--opset", str(opset)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ModelError(f"{src}: tf2onnx could not convert it ({err[:200]})")
    os.replace(tmp, out)  # atomic: a cut-short export leaves no half-written .onnx
    return out
