"""Commands that need TensorFlow say so in one line in an install without it (edge-only), and create nothing.

The install without TensorFlow is simulated in a subprocess: a meta path finder makes ``import tensorflow`` and
``import keras`` raise ModuleNotFoundError, as they do when the ``train`` extra is not installed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from munet.errors import NEEDS_TENSORFLOW
from tests.tf_block import NO_TENSORFLOW

BLOCK = (
    NO_TENSORFLOW
    + """
import importlib
module, func = sys.argv.pop(1).split(":")
sys.argv[0] = module
getattr(importlib.import_module(module), func)()
"""
)


def _run(entry: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", BLOCK, entry, *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize(
    ("entry", "args", "creates"),
    [
        ("munet.train.cli:main", ["--epochs", "1", "--out", "run"], "run"),
        ("munet.train.cli:main", ["--resume", "run"], "run"),
        ("munet.convert.cli:main", ["model.keras", "--float32"], "model_float32.tflite"),
        ("munet.benchmarks.cli:main", ["flow", "--out", "report"], "report"),
    ],
)
def test_commands_needing_tensorflow_print_the_install_line(
    entry: str, args: list[str], creates: str, tmp_path: Path
) -> None:
    res = _run(entry, *args, cwd=tmp_path)
    assert res.returncode == 2, res.stderr[-2000:]
    assert res.stderr.strip() == f"error: {NEEDS_TENSORFLOW}"
    assert not (tmp_path / creates).exists() and list(tmp_path.iterdir()) == []


def test_help_works_without_tensorflow(tmp_path: Path) -> None:
    res = _run("munet.train.cli:main", "--help", cwd=tmp_path)
    assert res.returncode == 0 and "--arch" in res.stdout, res.stderr[-2000:]


def test_the_block_is_real(tmp_path: Path) -> None:
    """The finder above really hides TensorFlow (else the tests prove nothing)."""
    code = NO_TENSORFLOW + "import keras\n"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 1 and "ModuleNotFoundError" in res.stderr
