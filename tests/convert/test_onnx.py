"""munet.convert.onnx: finding a Python with tf2onnx, the one-line install error, atomic export plumbing."""

from __future__ import annotations

import importlib.util
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from munet.convert.onnx import INSTALL_HINT, export_onnx, onnx_python, require_onnx
from munet.errors import InputError, ModelError


def _fake_python(path: Path, body: str) -> Path:
    """An executable that runs ``body`` (Python) with the real interpreter, standing in for another venv."""
    path.write_text(f"#!{sys.executable}\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_explicit_python_is_used_when_it_has_the_modules(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MUNET_ONNX_PYTHON", raising=False)
    monkeypatch.chdir(tmp_path)
    py = _fake_python(tmp_path / "py", "import runpy, sys; sys.argv = sys.argv[1:]; exec(sys.argv[-1])")
    assert onnx_python(py, need=("json",)) == py
    assert onnx_python(None, need=("json",)) == Path(sys.executable)
    assert onnx_python(py, need=("no_such_module_xyz",)) is None
    with pytest.raises(InputError, match=r'no_such_module_xyz: pip install "munet\[onnx\]"'):
        require_onnx(need=("no_such_module_xyz",))


@pytest.mark.skipif(importlib.util.find_spec("tf2onnx") is not None, reason="tf2onnx is installed here")
def test_convert_onnx_without_tf2onnx_is_one_line_exit_2(tmp_path: Path, monkeypatch) -> None:
    from munet.convert.cli import main

    monkeypatch.delenv("MUNET_ONNX_PYTHON", raising=False)
    monkeypatch.chdir(tmp_path)  # no .venv-onnx here
    res = CliRunner().invoke(main, [str(tmp_path / "model.keras"), "--float32", "--onnx", "--no-gate"])
    assert res.exit_code == 2 and INSTALL_HINT in res.output
    assert "Traceback" not in res.output and not list(tmp_path.iterdir())


def test_export_writes_atomically_and_reports_failures(tmp_path: Path) -> None:
    src = tmp_path / "m_float32.tflite"
    with pytest.raises(InputError, match="munet-convert --float32"):
        export_onnx(src, tmp_path / "m.onnx", python=sys.executable)
    src.write_bytes(b"tflite")
    writer = "import sys; a = sys.argv; open(a[a.index('--output') + 1], 'wb').write(b'onnx')"
    assert export_onnx(src, tmp_path / "o" / "m.onnx", _fake_python(tmp_path / "ok", writer)).read_bytes() == b"onnx"
    failing = _fake_python(tmp_path / "bad", "import sys; sys.exit('boom: unsupported op')")
    with pytest.raises(ModelError, match="tf2onnx could not convert it .boom: unsupported op"):
        export_onnx(src, tmp_path / "x.onnx", failing)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad", "m_float32.tflite", "o", "ok"]
