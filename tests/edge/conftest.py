"""Fixtures for the edge tests: small frames, a camera stand-in video, and the suite's shared tiny .tflite models."""

from __future__ import annotations

import importlib.util
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


@pytest.fixture(scope="session")
def edge_models(tiny_tflites: dict[str, Path]) -> dict[str, Path]:
    """The shared trained tiny MU-Net (tests/conftest.py) as int8 (int8 I/O) and float32 ``.tflite``, batch 1.

    The edge tests reuse the suite's one conversion instead of converting their own model.
    """
    return {"int8": tiny_tflites["int8"], "float32": tiny_tflites["float32"]}


@pytest.fixture(scope="session")
def tiny_int8(edge_models: dict[str, Path]) -> Path:
    """The tiny MU-Net as full-int8 (int8 I/O) ``.tflite``."""
    return edge_models["int8"]


@pytest.fixture(scope="session")
def tiny_float(edge_models: dict[str, Path]) -> Path:
    """The tiny MU-Net as float32 ``.tflite``."""
    return edge_models["float32"]
