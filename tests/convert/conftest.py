"""Fixtures for the converter tests: a briefly trained tiny MU-Net and its four TFLite files."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import TINY_ALPHA, TINY_SIZE  # noqa: E402

N_IMAGES = 60


def write_blob_dataset(root: Path, n: int = N_IMAGES, size: tuple[int, int] = (80, 96), seed: int = 0) -> Path:
    """``root/images/*.png`` + ``root/masks/*.png``: dark blobs on a textured skin-toned background."""
    import cv2

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
    return write_blob_dataset(tmp_path_factory.mktemp("blobs"))


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory, blob_data: Path) -> Path:
    """A run folder (best.keras + config.yaml) of a tiny MU-Net trained for a few steps on blobs."""
    pytest.importorskip("keras")
    import keras
    import yaml

    from munet.convert.representative import find_samples, load_inputs
    from munet.train.models import build_model

    keras.utils.set_random_seed(0)
    x, y, _ = load_inputs(find_samples(blob_data), TINY_SIZE, "training", with_masks=True)
    model = build_model("munet", alpha=TINY_ALPHA, input_shape=(*TINY_SIZE, 3), encoder_weights=None)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy")
    model.fit(x, y[..., None].astype(np.float32), batch_size=8, epochs=6, verbose=0)
    run = tmp_path_factory.mktemp("run")
    model.save(run / "best.keras")
    config = {"arch": "munet", "alpha": TINY_ALPHA, "size": list(TINY_SIZE), "loss": "bce"}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    return run


@pytest.fixture(scope="session")
def session_converter(trained_run: Path, blob_data: Path):
    """One open Converter (model loaded, SavedModel exported, blobs calibration) shared by the tests."""
    from munet.convert.api import Converter

    with Converter(trained_run) as conv:
        conv.set_calibration(blob_data, 200)
        yield conv


@pytest.fixture(scope="session")
def converted(session_converter, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The trained tiny model in all four modes (one export, one calibration)."""
    from munet.convert.api import MODES

    out = tmp_path_factory.mktemp("tflite")
    return {mode: session_converter.convert(mode, out / f"tiny_{mode}.tflite").path for mode in MODES}
