"""Fixtures for the edge tests: small frames, a corrupt file, and tiny .tflite models made once per session."""

from __future__ import annotations

import hashlib
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


def _model_key() -> str:
    """Hash of everything that shapes the test models, so a cached model is reused only while it is current."""
    repo = Path(__file__).resolve().parents[2]
    h = hashlib.sha256()
    files = sorted([*repo.glob("train/models/*.py"), *repo.glob("convert/*.py"), repo / "edge" / "metadata.py"])
    for path in files:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    h.update(f"recipe {models.MODEL_RECIPE}".encode())
    return h.hexdigest()[:16]


@pytest.fixture(scope="session")
def edge_models(request: pytest.FixtureRequest, edge_images: Path) -> dict[str, Path]:
    """The tiny MU-Net (spread output, seed 0) as int8 (int8 I/O) and float32 ``.tflite``, batch 1.

    Converting takes a minute or more on a busy 2-core machine, so the files are cached in pytest's cache
    folder under a hash of the model, converter and metadata sources; TensorFlow is needed only on a miss.
    """
    folder = Path(request.config.cache.mkdir("munet-edge-models")) / _model_key()
    paths = {mode: folder / f"tiny_{mode}.tflite" for mode in ("int8", "float32")}
    if all(p.is_file() for p in paths.values()):
        return paths
    pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    build = folder / "build"
    build.mkdir(parents=True, exist_ok=True)
    keras_path = models.build_tiny_keras(build / "tiny.keras", seed=0)
    for mode, path in paths.items():
        tmp = models.make_tflite(keras_path, build / path.name, mode, edge_images)
        for side in (tmp.with_suffix(".json"),):
            if side.is_file():
                side.replace(path.with_suffix(".json"))
        tmp.replace(path)  # the .tflite last: its presence marks a complete entry
    return paths


@pytest.fixture(scope="session")
def tiny_int8(edge_models: dict[str, Path]) -> Path:
    """The tiny MU-Net as full-int8 (int8 I/O) ``.tflite``."""
    return edge_models["int8"]


@pytest.fixture(scope="session")
def tiny_float(edge_models: dict[str, Path]) -> Path:
    """The tiny MU-Net as float32 ``.tflite``."""
    return edge_models["float32"]
