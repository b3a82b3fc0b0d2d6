"""Fixtures for the converter tests: the shared trained tiny MU-Net (tests/conftest.py) in all four modes."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def converted(session_converter, tiny_tflites: dict[str, Path]) -> dict[str, Path]:
    """The trained tiny model in all four modes: the shared float32/int8 files plus fp16 and dynamic (no calibration).

    One export and one calibration serve every mode (``session_converter`` in tests/conftest.py).
    """
    out = tiny_tflites["float32"].parent
    extra = {mode: session_converter.convert(mode, out / f"tiny_{mode}.tflite").path for mode in ("fp16", "dynamic")}
    return {**tiny_tflites, **extra}
