"""Fixtures of the benchmark tests: a tiny image/mask folder (the models are the suite's shared ``tiny_tflites``)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four synthetic dermoscopy-like pairs at 96x128 (not the model size, so resizing back is exercised)."""
    from munet.train.synthetic import make_synthetic_dataset

    return make_synthetic_dataset(tmp_path_factory.mktemp("pairs"), n=4, size=(96, 128), seed=3)
