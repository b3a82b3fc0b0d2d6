"""Shared pytest fixtures: quiet TensorFlow, the optional ../shared folder, tiny models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MUNET_SHARED", REPO.parent / "shared"))

#: Tiny test model: alpha 0.35 at 64x64 (about 2.9 M parameters, a second to build).
TINY_ALPHA = 0.35
TINY_SIZE = (64, 64)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` (or $MUNET_SHARED); tests that need it skip cleanly when it is absent."""
    if not (SHARED / "data").is_dir():
        pytest.skip(f"shared data folder not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def isic_dir(shared_dir: Path) -> Path:
    path = shared_dir / "data" / "isic"
    if not (path / "val" / "images").is_dir():
        pytest.skip("shared ISIC data not found")
    return path


@pytest.fixture(scope="session")
def shared_weights(shared_dir: Path) -> Path:
    path = shared_dir / "weights" / "mobilenet_v2_1.0_imagenet_qat_notop.h5"
    if not path.is_file():
        pytest.skip("shared MobileNetV2 alpha=1.0 weights not found")
    return path


@pytest.fixture(scope="session")
def tiny_keras_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight MU-Net (alpha 0.35, 64x64) saved as ``.keras``, built once per session."""
    pytest.importorskip("keras")
    from munet.train.models import build_model

    model = build_model("munet", alpha=TINY_ALPHA, input_shape=(*TINY_SIZE, 3), encoder_weights=None)
    path = tmp_path_factory.mktemp("tiny") / "tiny.keras"
    model.save(path)
    return path
