"""Shared pytest fixtures: quiet TensorFlow, the optional ../shared folder, tiny models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("MUNET_SETTLE_S", "0")  # timed passes in tests do not wait for the load (see timing.settle)

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


# --- Shared tiny artefacts: ONE briefly trained tiny MU-Net and ONE conversion, reused by the convert, edge and
# benchmark tests (training + export + int8 calibration is the suite's most expensive setup, so it runs once).

#: Blob images in the shared training/calibration/validation folder.
BLOB_IMAGES = 60
#: Calibration images of the shared int8 conversion (enough for stable ranges on the blob images).
TINY_CALIB_COUNT = 16


def write_blob_dataset(root: Path, n: int = BLOB_IMAGES, size: tuple[int, int] = (80, 96), seed: int = 0) -> Path:
    """``root/images/*.png`` + ``root/masks/*.png``: dark blobs on a textured skin-toned background."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    h, w = size
    for i in range(n):
        base = np.array([200, 150, 130], np.float32) + rng.normal(0, 12, 3)
        img = np.clip(base + rng.normal(0, 10, (h, w, 3)), 0, 255)
        mask = np.zeros((h, w), np.uint8)
        center = (int(rng.integers(w // 4, 3 * w // 4)), int(rng.integers(h // 4, 3 * h // 4)))
        axes = (int(rng.integers(w // 8, w // 3)), int(rng.integers(h // 8, h // 3)))
        cv2.ellipse(mask, center, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        lesion = np.array([90, 55, 45], np.float32) + rng.normal(0, 15, 3)
        img[mask == 1] = np.clip(lesion + rng.normal(0, 12, (int(mask.sum()), 3)), 0, 255)
        cv2.imwrite(str(root / "images" / f"img_{i:03d}.png"), img.astype(np.uint8)[:, :, ::-1])
        cv2.imwrite(str(root / "masks" / f"img_{i:03d}.png"), mask * 255)
    return root


@pytest.fixture(scope="session")
def blob_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of blob image/mask pairs: the tiny model's training, calibration and gate data."""
    return write_blob_dataset(tmp_path_factory.mktemp("blobs"))


def train_tiny_run(blob_data: Path, run: Path) -> Path:
    """Train the shared tiny MU-Net briefly on ``blob_data`` into ``run`` (best.keras + config.yaml); needs Keras.

    Also called by ``tests/edge/aarch64_ref.py`` to prebuild the edge suite's models for the emulated aarch64 root.
    """
    import keras
    import numpy as np
    import yaml

    from munet.convert.representative import find_samples, load_inputs
    from munet.train.models import build_model

    keras.utils.set_random_seed(0)
    x, y, _ = load_inputs(find_samples(blob_data), TINY_SIZE, "training", with_masks=True)
    model = build_model("munet", alpha=TINY_ALPHA, input_shape=(*TINY_SIZE, 3), encoder_weights=None)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy")
    model.fit(x, y[..., None].astype(np.float32), batch_size=8, epochs=6, verbose=0)
    run.mkdir(parents=True, exist_ok=True)
    model.save(run / "best.keras")
    config = {"arch": "munet", "alpha": TINY_ALPHA, "size": list(TINY_SIZE), "loss": "bce"}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    return run


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory, blob_data: Path) -> Path:
    """A run folder (best.keras + config.yaml) of a tiny MU-Net trained briefly on blobs (non-trivial masks)."""
    pytest.importorskip("keras")
    return train_tiny_run(blob_data, tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="session")
def trained_keras(trained_run: Path) -> Path:
    """The shared trained tiny MU-Net's ``.keras`` file (the float reference of :func:`tiny_tflites`)."""
    return trained_run / "best.keras"


@pytest.fixture(scope="session")
def session_converter(trained_run: Path, blob_data: Path):
    """One open Converter of the trained tiny model (loaded, SavedModel exported once, calibrated on blobs)."""
    pytest.importorskip("tensorflow")
    from munet.convert.api import Converter

    with Converter(trained_run) as conv:
        conv.set_calibration(blob_data, TINY_CALIB_COUNT)
        yield conv


@pytest.fixture(scope="session")
def tiny_tflites(session_converter, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The trained tiny model as ``tiny_float32.tflite`` and full-int8 (int8 I/O) ``tiny_int8.tflite``, batch 1."""
    out = tmp_path_factory.mktemp("tiny_tflite")
    return {mode: session_converter.convert(mode, out / f"tiny_{mode}.tflite").path for mode in ("float32", "int8")}
