"""Fixtures for the edge tests: small frames, a camera stand-in video, and the suite's shared tiny .tflite models."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("munet_edge_test_models", Path(__file__).with_name("aarch64_ref.py"))
models = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(models)

#: Frame sizes (H, W) of the test images: the ISIC size and two odd ones, none equal to the model size.
IMAGE_SIZES = [(192, 256), (77, 101), (120, 90)]


@pytest.fixture(scope="session")
def edge_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with three synthetic lesion images of different sizes."""
    folder = tmp_path_factory.mktemp("edge_images")
    models.write_frames(folder, IMAGE_SIZES)
    return folder


@pytest.fixture(scope="session")
def make_video():
    """``make_video(path, n, fps, size=(120, 160))`` writes an MJPG .avi camera stand-in."""
    return models.write_video


#: Folder of prebuilt ``tiny_int8.tflite`` / ``tiny_float32.tflite`` (written on a TensorFlow host by
#: ``tests/edge/aarch64_ref.py``): the edge suite then runs without TensorFlow, as in the emulated aarch64 root.
PREBUILT_ENV = "MUNET_EDGE_MODELS"


@pytest.fixture(scope="session")
def edge_models(request: pytest.FixtureRequest) -> dict[str, Path]:
    """The shared trained tiny MU-Net (tests/conftest.py) as int8 (int8 I/O) and float32 ``.tflite``, batch 1.

    The edge tests reuse the suite's one conversion instead of converting their own model; with
    ``$MUNET_EDGE_MODELS`` set they use the prebuilt files there; without either, TensorFlow-needing tests skip.
    """
    prebuilt = os.environ.get(PREBUILT_ENV)
    if prebuilt:
        models = {mode: Path(prebuilt) / f"tiny_{mode}.tflite" for mode in ("int8", "float32")}
        missing = [str(p) for p in models.values() if not p.is_file()]
        assert not missing, f"${PREBUILT_ENV}: missing {', '.join(missing)} (python tests/edge/aarch64_ref.py OUT)"
        return models
    tiny_tflites = request.getfixturevalue("tiny_tflites")  # skips when TensorFlow is absent
    return {"int8": tiny_tflites["int8"], "float32": tiny_tflites["float32"]}


@pytest.fixture(scope="session")
def tiny_int8(edge_models: dict[str, Path]) -> Path:
    """The tiny MU-Net as full-int8 (int8 I/O) ``.tflite``."""
    return edge_models["int8"]


@pytest.fixture(scope="session")
def tiny_float(edge_models: dict[str, Path]) -> Path:
    """The tiny MU-Net as float32 ``.tflite``."""
    return edge_models["float32"]
