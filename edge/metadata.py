"""MU-Net metadata stored inside a ``.tflite`` file, read without TensorFlow.

The converter (``munet.convert``) adds an entry named :data:`METADATA_NAME` to the
flatbuffer's ``Model.metadata`` list; its buffer holds UTF-8 JSON with the keys of
:class:`ModelInfo`. This module parses just enough of the TFLite flatbuffer schema
(``Model.metadata`` -> ``Metadata{name, buffer}`` -> ``Buffer{data | offset, size}``)
with the ``flatbuffers`` runtime, so it works next to ai-edge-litert, tflite-runtime or
neither. A JSON sidecar ``<model>.json`` with the same content is written too.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flatbuffers import encode, number_types, packer
from flatbuffers.table import Table

from munet.edge.preprocess import COLOR_ORDER, NORM_OFFSET, NORM_SCALE
from munet.errors import ModelError

METADATA_NAME = "munet_metadata"
FORMAT_VERSION = 1

# Field indices of the TFLite schema (tensorflow/compiler/mlir/lite/schema/schema.fbs).
_MODEL_BUFFERS = 4
_MODEL_METADATA = 6
_METADATA_NAME = 0
_METADATA_BUFFER = 1
_BUFFER_DATA = 0
_BUFFER_OFFSET = 1
_BUFFER_SIZE = 2


@dataclass
class ModelInfo:
    """What the edge runtime needs to know about a converted model."""

    input_size: tuple[int, int]  # (height, width)
    color_order: str = COLOR_ORDER
    norm_scale: float = NORM_SCALE
    norm_offset: float = NORM_OFFSET
    threshold: float = 0.5
    class_name: str = "lesion"
    quantization: str = "float32"  # float32 | float16 | dynamic | int8
    io_dtype: str = "float32"  # float32 | int8 | uint8
    arch: str = "munet"
    alpha: float | None = None
    munet_version: str = ""
    config_hash: str = ""
    float_layers: list[str] = field(default_factory=list)
    format_version: int = FORMAT_VERSION
    #: Post-processing: drop mask components under this fraction of the image area (0 = off; absent in older
    #: models = 0). Calibrated on training images by ``munet-convert --calibrate-postproc``.
    min_area: float = 0.0
    #: The training images' best threshold, folded into the mask head's bias by ``munet-convert
    #: --calibrate-threshold`` (``threshold`` stays 0.5: the folded model's 0.5 is this threshold of the original);
    #: 0.5 = nothing folded (absent in older models).
    folded_threshold: float = 0.5
    #: Content digest (:mod:`munet.edge.integrity`): SHA-256 hex of the file with this value blanked, stamped by
    #: munet-convert and checked on load ("" = none: converted before digests existed).
    digest: str = ""

    def to_json(self) -> str:
        data = asdict(self)
        data["input_size"] = list(self.input_size)
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Any, source: str = "model metadata") -> ModelInfo:
        """Validate parsed metadata (types and ranges); :class:`ModelError` naming ``source`` when it is wrong."""
        if not isinstance(data, dict):
            raise _invalid(source, f"munet metadata must be a JSON object, not a {type(data).__name__}")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "input_size" not in known:
            raise _invalid(source, "munet metadata has no input_size")
        size = known["input_size"]
        if not (isinstance(size, list | tuple) and len(size) == 2 and all(_is_int(v) and v > 0 for v in size)):
            raise _invalid(source, f"input_size {size!r} is not [height, width] in positive integers")
        known["input_size"] = (int(size[0]), int(size[1]))
        for key in ("norm_scale", "norm_offset", "threshold"):
            if key in known and not (_is_number(known[key]) and math.isfinite(known[key])):
                raise _invalid(source, f"{key} {known[key]!r} is not a number")
        if "min_area" in known and not (_is_number(known["min_area"]) and 0.0 <= known["min_area"] < 1.0):
            raise _invalid(source, f"min_area {known['min_area']!r} is not a fraction of the image area in [0, 1)")
        for key in ("threshold", "folded_threshold"):
            if key in known and not (_is_number(known[key]) and 0.0 < known[key] < 1.0):
                raise _invalid(source, f"{key} {known[key]} is outside (0, 1) (masks would be all 0 or all 1)")
        if known.get("alpha") is not None and not _is_number(known["alpha"]):
            raise _invalid(source, f"alpha {known['alpha']!r} is not a number")
        for key in ("color_order", "class_name", "quantization", "io_dtype", "arch", "munet_version", "config_hash"):
            if key in known and not isinstance(known[key], str):
                raise _invalid(source, f"{key} {known[key]!r} is not a string")
        if "digest" in known and not (isinstance(known["digest"], str) and len(known["digest"]) in (0, 64)):
            raise _invalid(source, f"digest {known['digest']!r} is not a 64-character SHA-256 hex string")
        layers = known.get("float_layers", [])
        if not (isinstance(layers, list) and all(isinstance(v, str) for v in layers)):
            raise _invalid(source, f"float_layers {layers!r} is not a list of layer names")
        if "format_version" in known and not _is_int(known["format_version"]):
            raise _invalid(source, f"format_version {known['format_version']!r} is not an integer")
        return cls(**known)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _invalid(source: str, what: str) -> ModelError:
    return ModelError(f"{source}: {what}; re-convert the model with munet-convert")


def parse_model_info(payload: bytes, source: str) -> ModelInfo:
    """Metadata JSON bytes -> validated :class:`ModelInfo`; :class:`ModelError` naming ``source`` otherwise."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _invalid(source, f"munet metadata is not valid UTF-8 JSON ({str(exc).splitlines()[0]})") from None
    return ModelInfo.from_dict(data, source)


def field_offset(tab: Table, index: int) -> int:
    """Offset of field number ``index`` of a flatbuffer table (0 when the field is absent)."""
    return tab.Offset(4 + 2 * index)


def _sub_table(buf: bytes | bytearray, vector_start: int, i: int) -> Table:
    elem = vector_start + i * number_types.UOffsetTFlags.bytewidth
    return Table(buf, elem + encode.Get(packer.uoffset, buf, elem))


def table_vector(buf: bytes | bytearray, tab: Table, index: int) -> list[Table]:
    """The tables of vector field ``index`` of ``tab`` (empty when the field is absent)."""
    off = field_offset(tab, index)
    if not off:
        return []
    start = tab.Vector(off)
    return [_sub_table(buf, start, i) for i in range(tab.VectorLen(off))]


def model_root(data: bytes | bytearray) -> Table:
    """The root ``Model`` table of a TFLite flatbuffer; :class:`ModelError` when ``data`` is not one."""
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelError("not a TFLite flatbuffer (missing the 'TFL3' identifier)")
    return Table(data, encode.Get(packer.uoffset, data, 0))


def metadata_spans(data: bytes | bytearray) -> dict[str, tuple[int, int]]:
    """Where each ``Model.metadata`` entry's bytes lie in ``data``: ``{name: (start, end)}`` (file offsets; in a
    truncated file ``end`` may lie past ``len(data)``)."""
    model = model_root(data)
    out: dict[str, tuple[int, int]] = {}
    meta_off = field_offset(model, _MODEL_METADATA)
    buf_off = field_offset(model, _MODEL_BUFFERS)
    if not meta_off or not buf_off:
        return out
    meta_vec, n_meta = model.Vector(meta_off), model.VectorLen(meta_off)
    buf_vec, n_buf = model.Vector(buf_off), model.VectorLen(buf_off)
    for i in range(n_meta):
        meta = _sub_table(data, meta_vec, i)
        name_off = field_offset(meta, _METADATA_NAME)
        name = meta.String(name_off + meta.Pos).decode("utf-8") if name_off else ""
        b_off = field_offset(meta, _METADATA_BUFFER)
        index = meta.Get(number_types.Uint32Flags, b_off + meta.Pos) if b_off else 0
        if index >= n_buf:
            continue
        buffer = _sub_table(data, buf_vec, index)
        d_off = field_offset(buffer, _BUFFER_DATA)
        o_off, s_off = field_offset(buffer, _BUFFER_OFFSET), field_offset(buffer, _BUFFER_SIZE)
        if d_off:
            start = buffer.Vector(d_off)
            end = start + buffer.VectorLen(d_off)
        elif o_off and s_off:  # models > 2 GB keep buffers after the flatbuffer
            start = buffer.Get(number_types.Uint64Flags, o_off + buffer.Pos)
            end = start + buffer.Get(number_types.Uint64Flags, s_off + buffer.Pos)
        else:
            continue
        out[name] = (start, end)
    return out


def read_metadata_bytes(data: bytes) -> dict[str, bytes]:
    """All ``Model.metadata`` entries of a TFLite flatbuffer as ``{name: bytes}``."""
    return {name: bytes(data[start:end]) for name, (start, end) in metadata_spans(data).items()}


def sidecar_path(model_path: str | os.PathLike[str]) -> Path:
    """``model.tflite`` -> ``model.json``."""
    return Path(model_path).with_suffix(".json")


def model_info_from_bytes(data: bytes, name: str = "<model>") -> ModelInfo | None:
    """The :class:`ModelInfo` embedded in TFLite flatbuffer ``data``, or ``None`` when there is none."""
    try:
        entries = read_metadata_bytes(data)
    except ModelError as exc:
        raise ModelError(f"{name}: {exc}; pass a .tflite file made by munet-convert") from None
    except Exception:
        raise ModelError(f"{name}: corrupt TFLite flatbuffer; re-convert it with munet-convert") from None
    if METADATA_NAME in entries:
        return parse_model_info(entries[METADATA_NAME], f"{name} (embedded metadata)")
    return None


def find_model_info(model_path: str | os.PathLike[str]) -> tuple[ModelInfo | None, str]:
    """``(info, origin)``: the validated :class:`ModelInfo` embedded in ``model_path`` (origin: the model
    file) or else in its JSON sidecar (origin: the ``.json`` path); ``(None, "")`` when there is none."""
    path = Path(model_path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the model ({exc.strerror}); check the path") from None
    info = model_info_from_bytes(data, str(path))
    if info is not None:
        return info, str(path)
    side = sidecar_path(path)
    if side.is_file():
        try:
            payload = side.read_bytes()
        except OSError as exc:
            raise ModelError(f"{side}: cannot read the metadata sidecar ({exc.strerror}); fix or remove it") from None
        return parse_model_info(payload, f"{side} (metadata sidecar of {path.name})"), str(side)
    return None, ""


def read_model_info(model_path: str | os.PathLike[str]) -> ModelInfo | None:
    """The :class:`ModelInfo` embedded in ``model_path`` (else its JSON sidecar), or ``None``."""
    return find_model_info(model_path)[0]
