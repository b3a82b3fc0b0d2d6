"""Bundled ready-to-run models: name resolution (a file wins), one-line errors, --list-models, munet-run NAME IMAGE,
a TensorFlow-free process, the packaged files themselves (when present) and the wheel's package data.

The tests point ``$MUNET_MODELS_DIR`` at a temporary folder holding the packaged ``index.json`` and the suite's
tiny int8 model under the ``skin`` file name (``brain`` left not installed), so they need no real model files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from munet.edge.bundled import INDEX_NAME, MAX_BYTES, MODELS_ENV, PACKAGE_DIR, bundled_models, resolve_model
from munet.edge.cli import main
from munet.edge.metadata import find_model_info
from munet.edge.runtime import Segmenter
from munet.errors import ModelError
from munet.imageio import list_images, load_image
from tests.tf_block import NO_TENSORFLOW

REPO = Path(__file__).resolve().parents[2]
PACKAGED = bundled_models(PACKAGE_DIR)


@pytest.fixture
def models_folder(tmp_path: Path, tiny_int8: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$MUNET_MODELS_DIR``: the packaged index and cards, ``skin`` = the tiny int8 model, ``brain`` absent."""
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(PACKAGE_DIR / INDEX_NAME, folder / INDEX_NAME)
    for model in PACKAGED.values():
        shutil.copy(model.card_path, folder / model.card)
    shutil.copy(tiny_int8, folder / PACKAGED["skin"].file)
    monkeypatch.setenv(MODELS_ENV, str(folder))
    monkeypatch.chdir(tmp_path)
    return folder


def test_packaged_index_names_skin_and_brain_with_cards_and_terms() -> None:
    assert list(PACKAGED) == ["skin", "brain"]
    for name, model in PACKAGED.items():
        assert model.file == f"{name}.tflite" and model.card == f"{name}.md"
        card = model.card_path.read_text()
        assert "not for diagnosis" in card.lower() and "Licence" in card
        assert "not diagnosis" in model.intended_use
        assert model.licence and model.citation and model.description and model.training_data
    assert "ISIC" in PACKAGED["skin"].training_data and "Codella" in PACKAGED["skin"].citation
    assert "CC BY-NC-SA 4.0" in PACKAGED["brain"].licence and "Buda" in PACKAGED["brain"].citation


def test_bundled_name_resolves_to_the_folder_file(models_folder: Path) -> None:
    assert resolve_model("skin") == models_folder / "skin.tflite"
    seg = Segmenter("skin", threads=1)
    assert seg.model_path == models_folder / "skin.tflite" and seg.info.io_dtype == "int8"


def test_an_existing_path_wins_over_a_bundled_name(models_folder: Path, tiny_float: Path) -> None:
    shutil.copy(tiny_float, "skin")  # a file called "skin" in the working directory
    assert resolve_model("skin") == Path("skin")
    assert Segmenter("skin", threads=1).info.io_dtype == "float32"  # the local float model, not the bundled int8
    assert Segmenter(Path("skin"), threads=1).model_path == Path("skin")


def test_a_folder_named_like_a_bundled_model_does_not_shadow_it(models_folder: Path) -> None:
    Path("skin").mkdir()  # e.g. a folder of skin images next to the user
    assert resolve_model("skin") == models_folder / "skin.tflite"


def test_unknown_name_lists_the_bundled_names(models_folder: Path) -> None:
    with pytest.raises(ModelError) as err:
        resolve_model("skn")
    msg = str(err.value)
    assert "\n" not in msg and "'skn'" in msg and "did you mean 'skin'?" in msg and "skin, brain" in msg
    with pytest.raises(ModelError, match=r"^'lung': neither a model file nor a bundled model; bundled models: skin"):
        Segmenter("lung")
    with pytest.raises(ModelError, match=r"^runs/m_int8\.tflite: no such model file; check the path"):
        resolve_model("runs/m_int8.tflite")
    with pytest.raises(ModelError, match="is a folder, not a .tflite model"):
        resolve_model(models_folder)


def test_bundled_name_without_its_file_says_it_is_not_installed(models_folder: Path) -> None:
    with pytest.raises(ModelError) as err:
        Segmenter("brain")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("bundled model 'brain'")
    assert f"{models_folder / 'brain.tflite'} is not installed" in msg
    res = CliRunner().invoke(main, ["brain", "x.jpg"])
    assert res.exit_code == 2 and "error: bundled model 'brain'" in res.output and "Traceback" not in res.output


def test_broken_index_is_one_line(models_folder: Path) -> None:
    (models_folder / INDEX_NAME).write_text("{not json")
    with pytest.raises(ModelError, match=rf"{INDEX_NAME} \(\${MODELS_ENV}\): unreadable index of bundled models"):
        resolve_model("skin")
    (models_folder / INDEX_NAME).write_text(json.dumps({"models": {"skin": {"file": "skin.tflite"}}}))
    with pytest.raises(ModelError, match="bundled model 'skin' lacks description"):
        resolve_model("skin")
    (models_folder / INDEX_NAME).unlink()
    with pytest.raises(ModelError, match="no index of bundled models"):
        resolve_model("skin")


def test_list_models_without_source(models_folder: Path, tiny_int8: Path) -> None:
    index = json.loads((models_folder / INDEX_NAME).read_text())
    index["models"]["skin"]["measured"] = {
        "metric": "per-image Dice",
        "mean": 0.8901,
        "sd": 0.0062,
        "folds": 5,
        "cv_source": "benchmarks/results/cv-isic",
        "ms": 3.93,
        "threads": 1,
        "cpu": "Intel(R) Xeon(R) Processor",
        "ms_source": "benchmarks/results/isic-edge, 2026-12-02",
    }
    index["models"]["brain"].pop("measured", None)
    (models_folder / INDEX_NAME).write_text(json.dumps(index))
    res = CliRunner().invoke(main, ["--list-models"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert len(lines) == 7
    size = f"{tiny_int8.stat().st_size / 1e6:.2f} MB"
    assert lines[0].startswith(f"skin: {size}, input 64x64 (HxW), int8, int8 I/O: skin lesion segmentation")
    assert lines[1] == (
        "    measured: per-image Dice 0.890 ± 0.006 (5-fold CV of its recipe, int8 as shipped: "
        "benchmarks/results/cv-isic); 3.9 ms/image end to end, 1 thread(s), Intel(R) Xeon(R) Processor "
        "(benchmarks/results/isic-edge, 2026-12-02)"
    )
    assert "ISIC 2017" in lines[2] and "Codella" in lines[2]
    index["models"]["skin"]["measured"]["cpu_int8"] = ["avx512_vnni", "avx_vnni"]  # recorded since 2026-12-07
    (models_folder / INDEX_NAME).write_text(json.dumps(index))
    res = CliRunner().invoke(main, ["--list-models"])
    assert "1 thread(s), Intel(R) Xeon(R) Processor (int8: avx512_vnni, avx_vnni) (benchmarks" in res.output
    assert "licence of the data: ISIC Archive terms of use" in lines[3] and "not diagnosis" in lines[3]
    assert lines[4].startswith(f"brain: not installed ({models_folder / 'brain.tflite'})")
    assert "CC BY-NC-SA 4.0" in lines[6]
    index["models"]["skin"]["measured"] = {"metric": "Dice"}  # fields missing: one line naming the entry
    (models_folder / INDEX_NAME).write_text(json.dumps(index))
    res = CliRunner().invoke(main, ["--list-models"])
    assert res.exit_code == 2 and len(res.output.splitlines()) == 1
    assert "bundled model 'skin': unreadable 'measured' entry" in res.output


def test_list_models_error_and_missing_arguments(models_folder: Path) -> None:
    (models_folder / INDEX_NAME).unlink()
    res = CliRunner().invoke(main, ["--list-models"])
    assert res.exit_code == 2 and "error:" in res.output and "no index of bundled models" in res.output
    res = CliRunner().invoke(main, [])
    assert res.exit_code == 2 and "Missing argument 'MODEL'" in res.output
    assert "--list-models" in CliRunner().invoke(main, ["--help"]).output


def test_munet_run_bundled_name_end_to_end(models_folder: Path, tiny_int8: Path, edge_images: Path) -> None:
    res = CliRunner().invoke(main, ["skin", str(edge_images), "--out", "out", "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert "processed 3 frame(s)" in res.output
    ref = Segmenter(tiny_int8, threads=1)
    for path in list_images(edge_images):
        written = cv2.imread(f"out/{path.stem}_segmentation.png", cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(written, ref.segment(load_image(path)).mask * 255)
    assert json.loads(Path("out/summary.json").read_text())["processed"] == 3


TF_FREE = (
    NO_TENSORFLOW
    + """
try:
    import tensorflow  # noqa: F401
    raise SystemExit("the TensorFlow block does not work")
except ModuleNotFoundError:
    pass

from munet.edge.cli import main
from munet.edge.runtime import Segmenter

image = sys.argv[1]
result = Segmenter("skin", threads=1).segment(image)
print("mask", result.mask.shape, int(result.mask.sum()))
main(["skin", image, "--out", "out", "--threads", "1", "--quiet"], standalone_mode=False)
main(["--list-models"], standalone_mode=False)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
print("tf modules:", loaded)
assert not loaded
"""
)


def test_bundled_model_runs_without_tensorflow(models_folder: Path, edge_images: Path, tmp_path: Path) -> None:
    image = list_images(edge_images)[0]
    env = {**os.environ, MODELS_ENV: str(models_folder)}
    res = subprocess.run(
        [sys.executable, "-c", TF_FREE, str(image)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    h, w = load_image(image).shape[:2]
    assert f"mask ({h}, {w})" in res.stdout and "processed 1 frame(s)" in res.stdout
    assert "skin: " in res.stdout and "tf modules: []" in res.stdout
    assert (tmp_path / "out" / f"{image.stem}_segmentation.png").is_file()


@pytest.mark.parametrize("name", list(PACKAGED))
def test_packaged_model_file(name: str) -> None:
    """The real bundled file: loads, full int8 with uint8 I/O (what MediaPipe takes), one output channel, embedded
    munet metadata with a valid digest, MediaPipe's metadata and labels zip, <= 4 MB."""
    from munet.edge.integrity import check_digest
    from munet.edge.metadata import read_metadata_bytes

    model = PACKAGED[name]
    if not model.installed:
        pytest.skip(f"{model.path} not present (bundled models are added after training)")
    data = model.path.read_bytes()
    assert len(data) <= MAX_BYTES
    info, origin = find_model_info(model.path)
    assert info is not None and origin == str(model.path), "metadata must be embedded, not a sidecar"
    assert info.quantization == "int8" and info.io_dtype == "uint8"
    assert check_digest(data, name) and len(info.digest) == 64
    assert "TFLITE_METADATA" in read_metadata_bytes(data) and zipfile.is_zipfile(model.path)  # MediaPipe's
    seg = Segmenter(model.path, threads=1)
    assert seg._in_dtype == np.uint8 and seg._out_dtype == np.uint8
    # MediaPipe feeds raw pixels to a uint8 input: its quantization must read them as x / 127.5 - 1 (zero point
    # 127 or 128, half a step either way) and the output is the probability in 1/256 steps from 0.
    (in_scale, in_zero), (out_scale, out_zero) = seg._in_q, seg._out_q
    assert np.isclose(in_scale, 1 / 127.5) and in_zero in (127, 128)
    assert (out_scale, out_zero) == (1 / 256, 0)
    assert int(seg._out["shape"][-1]) == 1
    result = seg.segment(np.full((*seg.input_size, 3), 128, np.uint8))
    assert result.mask.shape == seg.input_size


def test_wheel_ships_the_index_cards_and_models(tmp_path: Path) -> None:
    """A non-editable wheel of the project holds ``munet/edge/models``: index, cards and every present .tflite."""
    if not (REPO / "edge" / "bundled.py").is_file():  # e.g. the emulated aarch64 root holds only tests/
        pytest.skip(f"no source checkout at {REPO} to build a wheel from")
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("munet", "train", "convert", "edge", "benchmarks"):
        shutil.copytree(REPO / folder, src / folder, ignore=ignore)
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "whl"), str(src)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if res.returncode != 0 and "Could not find a version that satisfies" in res.stderr:
        pytest.skip("the build backend (setuptools) cannot be installed here (offline)")
    assert res.returncode == 0, res.stderr[-3000:]
    (wheel,) = (tmp_path / "whl").glob("munet-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"munet/edge/models/{INDEX_NAME}", "munet/edge/bundled.py"}
    expected |= {f"munet/edge/models/{m.card}" for m in PACKAGED.values()}
    expected |= {f"munet/edge/models/{p.name}" for p in (REPO / "edge" / "models").glob("*.tflite")}
    assert expected <= names, sorted(expected - names)
