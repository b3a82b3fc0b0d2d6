"""Fixtures of the benchmark tests: tiny converted models (float32 + int8) and a tiny image/mask folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four synthetic dermoscopy-like pairs at 96x128 (not the model size, so resizing back is exercised)."""
    from munet.train.synthetic import make_synthetic_dataset

    return make_synthetic_dataset(tmp_path_factory.mktemp("pairs"), n=4, size=(96, 128), seed=3)


@pytest.fixture(scope="session")
def tiny_tflites(tiny_keras_path: Path, tiny_pairs: Path) -> dict[str, Path]:
    """The session's tiny Keras MU-Net converted to float32 and int8 TFLite (calibrated on ``tiny_pairs``)."""
    pytest.importorskip("tensorflow")
    from munet.convert.api import Converter

    out = {}
    with Converter(tiny_keras_path) as conv:
        conv.set_calibration(tiny_pairs / "images", calib_count=4)
        for mode in ("float32", "int8"):
            out[mode] = conv.convert(mode, tiny_keras_path.with_name(f"tiny_{mode}.tflite")).path
    return out
