"""munet.convert.options: the formats table, ConvertOptions checked once, and every format through convert_all."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from munet.convert.options import BY_NAME, FORMATS, MODES, ConvertOptions, get_format
from munet.errors import InputError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_mediapipe import MP_PYTHON, NO_MP  # noqa: E402


def test_formats_table_names_files_and_needs() -> None:
    assert [f.name for f in FORMATS] == ["float32", "fp16", "dynamic", "int8", "onnx", "mediapipe"]
    assert MODES == ("float32", "fp16", "dynamic", "int8")
    assert [f.name for f in FORMATS if f.calibration] == ["int8"]
    assert {f.name: f.dependency for f in FORMATS if f.dependency} == {"onnx": "tf2onnx", "mediapipe": "mediapipe"}
    assert all(f.install for f in FORMATS if f.dependency)
    src = Path("run/munet_float32.tflite")
    assert BY_NAME["onnx"].derived_path(src) == Path("run/munet_float32.onnx")
    assert BY_NAME["mediapipe"].derived_path(src) == Path("run/munet_float32_mediapipe.tflite")
    assert get_format("--INT8") is BY_NAME["int8"]
    assert ConvertOptions(formats=("float32", "onnx")).calibrated == []
    assert ConvertOptions(formats="dynamic,int8").calibrated == ["int8"]


@pytest.mark.parametrize(
    ("formats", "modes", "derived", "default"),
    [
        ((), ["int8"], [], True),
        (("fp16", "float32", "fp16"), ["fp16", "float32"], [], False),
        ("int8,onnx", ["int8", "float32"], ["onnx"], False),
        (("onnx",), ["int8", "float32"], ["onnx"], True),  # as munet-convert --onnx: the default int8 + its float32
        (("mediapipe", "float32"), ["float32"], ["mediapipe"], False),
        (("mediapipe", "onnx"), ["int8", "float32"], ["onnx", "mediapipe"], True),
    ],
)
def test_modes_and_derived_formats(formats, modes, derived, default) -> None:
    opts = ConvertOptions(formats=formats).validate()
    assert opts.modes == modes and [f.name for f in opts.derived] == derived
    assert opts.default_mode == default


def test_io_defaults_to_uint8_for_mediapipe_int8_only() -> None:
    assert ConvertOptions().io_type == "int8"
    assert ConvertOptions(formats=("int8", "mediapipe")).io_type == "uint8"
    assert ConvertOptions(formats=("float32", "mediapipe")).io_type == "int8"
    assert ConvertOptions(formats=("int8", "mediapipe"), io="float32").validate().io_type == "float32"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"formats": ("int9",)}, "format 'int9': did you mean 'int8'? choose from float32, fp16"),
        ({"formats": "float32,mediapip"}, "did you mean 'mediapipe'?"),
        ({"formats": ("tensorrt",)}, "format 'tensorrt': choose from"),
        ({"formats": ("--fp61",)}, "format 'fp61': did you mean 'fp16'?"),
        ({"formats": ("mediapipe",), "io": "int8"}, "--mediapipe: MediaPipe's ImageSegmenter takes uint8 or float32"),
        ({"io": "int4"}, "--io 'int4': choose one of int8, uint8, float32"),
        ({"formats": ("float32",), "keep_float": ("TRANSPOSE_CONV",)}, "--keep-float applies to int8 only"),
        ({"formats": ("fp16",), "auto_keep_float": True}, "--auto-keep-float applies to int8 only"),
        ({"calib_count": 0}, "--calib-count 0"),
        ({"postproc_count": 0}, "--postproc-count 0"),
        ({"min_agreement": 1.5}, "--min-agreement 1.5"),
        ({"max_dice_drop": float("nan")}, "--max-dice-drop"),
        ({"out": "model.onnx"}, "--out model.onnx: give a .tflite file name or a folder"),
        ({"formats": ("mediapipe",), "mediapipe_python": "no/such/python"}, "mediapipe_python no/such/python"),
        ({"formats": ("onnx",), "onnx_opset": 5}, "ONNX opset 5"),
    ],
)
def test_validate_refuses_with_one_line(kwargs, message) -> None:
    with pytest.raises(InputError) as err:
        ConvertOptions(**kwargs).validate()
    assert message in str(err.value) and "\n" not in str(err.value)


def test_cli_bad_combination_is_one_line_exit_2(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from munet.convert.cli import main

    res = CliRunner().invoke(main, [str(tmp_path / "m.keras"), "--float32", "--keep-float", "X"])
    assert res.exit_code == 2 and res.output.startswith("error: --keep-float applies to int8 only"), res.output
    assert res.output.strip().count("\n") == 0


# ------------------------------------------------------------------------------- derived formats through the API
def _fake_tf2onnx(path: Path) -> Path:
    """A Python that 'imports tf2onnx' and writes a stand-in .onnx: the API's ONNX plumbing without tf2onnx."""
    body = (
        "import sys\n"
        "a = sys.argv\n"
        "if '-c' in a: sys.exit(0)\n"
        "assert a[a.index('--opset') + 1] == '13', a\n"
        "open(a[a.index('--output') + 1], 'wb').write(b'onnx ' + open(a[a.index('--tflite') + 1], 'rb').read()[:8])"
    )
    path.write_text(f"#!{sys.executable}\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_onnx_through_the_api_adds_float32_and_writes_next_to_it(trained_run: Path, tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    from munet.convert.api import convert_all

    said: list[str] = []
    opts = ConvertOptions(
        formats=("float32", "onnx"), out=tmp_path, gate=False, onnx_python=_fake_tf2onnx(tmp_path / "py"), onnx_opset=13
    )
    results = convert_all(trained_run, opts, echo=said.append)
    assert [(r.mode, r.source) for r in results] == [("float32", None), ("onnx", "float32")]
    tflite, onnx = results[0].path, results[1].path
    assert onnx == tmp_path / "munet_float32.onnx" and onnx.read_bytes() == b"onnx " + tflite.read_bytes()[:8]
    assert f"ONNX model: {onnx}" in said and results[1].size_bytes == onnx.stat().st_size


def test_onnx_through_the_api_without_tf2onnx_fails_before_loading(tmp_path: Path, monkeypatch) -> None:
    from munet.convert import onnx as onnx_mod
    from munet.convert.api import convert_all

    monkeypatch.setattr(onnx_mod, "onnx_python", lambda *a, **k: None)
    with pytest.raises(InputError, match=r'ONNX needs tf2onnx: pip install "munet\[onnx\]"'):
        convert_all(tmp_path / "missing.keras", ConvertOptions(formats=("onnx",)))


@pytest.mark.skipif(MP_PYTHON is None, reason=NO_MP)
def test_mediapipe_through_the_api_int8_with_uint8_io(trained_run: Path, blob_data: Path, tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    from munet.convert.api import convert_all
    from munet.edge.integrity import check_digest
    from munet.edge.metadata import read_model_info

    said: list[str] = []
    opts = ConvertOptions(
        formats=("int8", "mediapipe"),
        out=tmp_path / "m.tflite",
        calib_data=blob_data,
        calib_count=16,
        gate=False,
        mediapipe_python=MP_PYTHON,
    )
    results = convert_all(trained_run, opts, echo=said.append)
    assert [(r.mode, r.source) for r in results] == [("int8", None), ("mediapipe", "int8")]
    assert said[0].startswith("note: --mediapipe converts int8 with --io uint8")
    mp = results[1].path
    assert mp == tmp_path / "m_mediapipe.tflite" and b"TFLITE_METADATA" in mp.read_bytes()
    assert read_model_info(results[0].path).io_dtype == "uint8" and results[1].info.io_dtype == "uint8"
    assert check_digest(mp.read_bytes(), mp.name)
    assert f"MediaPipe ImageSegmenter model: {mp}" in said


def test_rewrite_io_through_the_api(tiny_tflites: dict[str, Path], tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    from munet.convert.api import rewrite_io
    from munet.edge.metadata import read_model_info

    said: list[str] = []
    paths = rewrite_io(tiny_tflites["int8"], tmp_path / "u.tflite", echo=said.append)
    assert paths == [tmp_path / "u.tflite"] and read_model_info(paths[0]).io_dtype == "uint8"
    assert said == [f"uint8 I/O model: {paths[0]}"]
    if MP_PYTHON is not None:
        paths = rewrite_io(tiny_tflites["int8"], tmp_path / "v.tflite", mediapipe=True, mediapipe_python=MP_PYTHON)
        assert paths == [tmp_path / "v.tflite", tmp_path / "v_mediapipe.tflite"] and paths[1].is_file()
