"""The TF-free metadata reader on flatbuffers built with LiteRT's own schema module."""

from __future__ import annotations

import json

import numpy as np
import pytest

from munet.edge.metadata import METADATA_NAME, ModelInfo, read_metadata_bytes, read_model_info, sidecar_path
from munet.errors import ModelError

schema = pytest.importorskip("ai_edge_litert.schema_py_generated")


def _flatbuffer(entries: dict[str, bytes]) -> bytes:
    import flatbuffers

    model = schema.ModelT()
    model.version = 3
    model.buffers = [schema.BufferT()]  # buffer 0 is the empty sentinel
    model.metadata = []
    for name, payload in entries.items():
        buf = schema.BufferT()
        buf.data = np.frombuffer(payload, np.uint8)
        model.buffers.append(buf)
        meta = schema.MetadataT()
        meta.name = name
        meta.buffer = len(model.buffers) - 1
        model.metadata.append(meta)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_reads_named_entries():
    info = ModelInfo(input_size=(192, 256), quantization="int8", io_dtype="int8", alpha=1.0)
    data = _flatbuffer({"other": b"\x00\x01", METADATA_NAME: info.to_json().encode()})
    entries = read_metadata_bytes(data)
    assert entries["other"] == b"\x00\x01"
    assert ModelInfo.from_dict(json.loads(entries[METADATA_NAME])) == info


def test_read_model_info_embedded_sidecar_and_none(tmp_path):
    info = ModelInfo(input_size=(64, 64), threshold=0.4)
    embedded = tmp_path / "e.tflite"
    embedded.write_bytes(_flatbuffer({METADATA_NAME: info.to_json().encode()}))
    assert read_model_info(embedded) == info
    bare = tmp_path / "b.tflite"
    bare.write_bytes(_flatbuffer({}))
    assert read_model_info(bare) is None
    sidecar_path(bare).write_text(info.to_json())
    assert read_model_info(bare).threshold == 0.4


def test_non_tflite_file_is_a_one_line_error(tmp_path):
    bad = tmp_path / "model.tflite"
    bad.write_bytes(b"PK\x03\x04 this is a zip, not a flatbuffer")
    with pytest.raises(ModelError, match="not a TFLite flatbuffer") as err:
        read_model_info(bad)
    assert str(bad) in str(err.value)
    with pytest.raises(ModelError, match="cannot read"):
        read_model_info(tmp_path / "missing.tflite")


_BAD_METADATA = {
    "invalid JSON": (b'{"input_size": [64, 64', "not valid UTF-8 JSON"),
    "bad UTF-8": (b'{"input_size": [64, 64], "class_name": "\xff\xfe"}', "not valid UTF-8 JSON"),
    "a JSON list": (b"[64, 64]", "JSON object"),
    "missing input_size": (b'{"threshold": 0.5}', "no input_size"),
    "input_size text": (b'{"input_size": "64x64"}', "input_size"),
    "input_size of one": (b'{"input_size": [64]}', "input_size"),
    "negative input_size": (b'{"input_size": [64, -1]}', "input_size"),
    "threshold text": (b'{"input_size": [64, 64], "threshold": "0.5"}', "threshold"),
    "threshold bool": (b'{"input_size": [64, 64], "threshold": true}', "threshold"),
    "threshold 0": (b'{"input_size": [64, 64], "threshold": 0}', r"outside \(0, 1\)"),
    "threshold 1.5": (b'{"input_size": [64, 64], "threshold": 1.5}', r"outside \(0, 1\)"),
    "threshold NaN": (b'{"input_size": [64, 64], "threshold": NaN}', "threshold"),
    "norm_scale text": (b'{"input_size": [64, 64], "norm_scale": "1/127.5"}', "norm_scale"),
    "color_order number": (b'{"input_size": [64, 64], "color_order": 3}', "color_order"),
    "float_layers text": (b'{"input_size": [64, 64], "float_layers": "conv1"}', "float_layers"),
    "alpha text": (b'{"input_size": [64, 64], "alpha": "1.0"}', "alpha"),
    "min_area 1": (b'{"input_size": [64, 64], "min_area": 1}', "min_area"),
    "min_area negative": (b'{"input_size": [64, 64], "min_area": -0.001}', "min_area"),
    "min_area text": (b'{"input_size": [64, 64], "min_area": "0.001"}', "min_area"),
    "min_area NaN": (b'{"input_size": [64, 64], "min_area": NaN}', "min_area"),
}


@pytest.mark.parametrize("case", list(_BAD_METADATA))
def test_malformed_metadata_is_a_one_line_model_error_naming_the_file(case, tmp_path):
    payload, message = _BAD_METADATA[case]
    embedded = tmp_path / "embedded.tflite"
    embedded.write_bytes(_flatbuffer({METADATA_NAME: payload}))
    with pytest.raises(ModelError, match=message) as err:
        read_model_info(embedded)
    assert str(embedded) in str(err.value) and "\n" not in str(err.value)
    bare = tmp_path / "bare.tflite"
    bare.write_bytes(_flatbuffer({}))
    sidecar_path(bare).write_bytes(payload)
    with pytest.raises(ModelError, match=message) as err:
        read_model_info(bare)
    assert str(sidecar_path(bare)) in str(err.value) and "\n" not in str(err.value)


def test_valid_metadata_keeps_its_values():
    info = ModelInfo.from_dict({"input_size": [48, 64], "threshold": 0.3, "alpha": None, "extra": "ignored"})
    assert info.input_size == (48, 64) and info.threshold == 0.3 and info.alpha is None
    assert ModelInfo.from_dict({"input_size": [8, 8], "threshold": 1e-3, "alpha": 1}).alpha == 1


def test_min_area_round_trips_and_is_off_when_absent(tmp_path):
    assert ModelInfo.from_dict({"input_size": [64, 64]}).min_area == 0.0  # models converted before it existed
    info = ModelInfo(input_size=(64, 64), min_area=0.002)
    model = tmp_path / "m.tflite"
    model.write_bytes(_flatbuffer({METADATA_NAME: info.to_json().encode()}))
    assert read_model_info(model) == info
    assert ModelInfo.from_dict({"input_size": [8, 8], "min_area": 0}).min_area == 0
