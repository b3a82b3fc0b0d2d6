"""MACs counted from the .tflite flatbuffer equal the Keras graph count (munet.train.models.complexity)."""

from __future__ import annotations

from pathlib import Path

import pytest

from munet.convert.ops_report import count_tflite_macs
from munet.errors import ModelError


def test_tflite_macs_match_keras_count(trained_keras: Path, tiny_tflites: dict[str, Path]) -> None:
    import keras

    from munet.train.models.complexity import count_macs

    expected = count_macs(keras.models.load_model(trained_keras, compile=False))
    for path in tiny_tflites.values():  # float32 and int8 graphs hold the same convolutions
        macs = count_tflite_macs(path)
        assert macs.macs == expected
        assert set(macs.by_op) >= {"CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV"}
        assert macs.by_op["TRANSPOSE_CONV"] > macs.by_op["DEPTHWISE_CONV_2D"]  # the decoder dominates
        assert macs.gflops == pytest.approx(2 * expected / 1e9)


def test_not_a_tflite_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.tflite"
    bad.write_bytes(b"not a flatbuffer at all")
    with pytest.raises(ModelError):
        count_tflite_macs(bad)
