"""Write :class:`munet.edge.metadata.ModelInfo` into a ``.tflite`` file and next to it.

The JSON goes into the flatbuffer's ``Model.metadata`` list under
:data:`munet.edge.metadata.METADATA_NAME` (a new ``Buffer`` holds the bytes), using the TFLite
schema's generated object API that ships with TensorFlow. The edge runtime reads it back with
``munet.edge.metadata.read_metadata_bytes`` (flatbuffers only, no TensorFlow).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np

from munet import __version__
from munet.edge.metadata import METADATA_NAME, ModelInfo, sidecar_path

FILE_IDENTIFIER = b"TFL3"
log = logging.getLogger(__name__)


def embed_metadata(tflite: bytes, name: str, payload: bytes) -> bytes:
    """``tflite`` with a ``Model.metadata`` entry ``name`` holding ``payload`` (replaces one of the same name)."""
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(tflite), 0)
    model.buffers = list(model.buffers or [])
    same = [m for m in (model.metadata or []) if _name(m) == name]
    if same and 0 < same[0].buffer < len(model.buffers):  # replace in place: no orphaned buffer left behind
        model.buffers[same[0].buffer].data = np.frombuffer(payload, dtype=np.uint8)
        model.metadata = [m for m in model.metadata if _name(m) != name or m is same[0]]
    else:
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(payload, dtype=np.uint8)
        model.buffers.append(buffer)
        entries = [m for m in (model.metadata or []) if _name(m) != name]
        entry = schema.MetadataT()
        entry.name = name
        entry.buffer = len(model.buffers) - 1
        entries.append(entry)
        model.metadata = entries
    builder = flatbuffers.Builder(len(tflite) + len(payload) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


def _name(meta: Any) -> str:
    name = meta.name
    return name.decode("utf-8") if isinstance(name, bytes) else str(name)


def config_info(run_dir: Path | None) -> tuple[dict[str, Any], str]:
    """The run's ``config.yaml`` as a dict and its :meth:`TrainConfig.config_hash` (empty without one).

    The hash is the one in the run's ``MODEL_CARD.md`` and ``metrics.json``, so a converted model names its run.
    A config this version cannot read (e.g. a key from another version) keeps its values but gets no hash.
    """
    if run_dir is None or not (run_dir / "config.yaml").is_file():
        return {}, ""
    import yaml

    from munet.errors import MunetError
    from munet.train.config import config_from_run

    try:
        config = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return {}, ""
    if not isinstance(config, dict):
        return {}, ""
    try:
        digest = config_from_run(run_dir).config_hash()
    except MunetError as exc:
        log.warning("%s: no config hash in the metadata (%s)", run_dir / "config.yaml", exc)
        digest = ""
    return config, digest


def make_info(
    input_size: tuple[int, int],
    mode: str,
    io: str,
    run_dir: Path | None,
    float_layers: list[str] | None = None,
    threshold: float = 0.5,
    min_area: float = 0.0,
    folded_threshold: float = 0.5,
) -> ModelInfo:
    """The metadata of one converted model (``min_area``: calibrated post-processing, 0 = off;
    ``folded_threshold``: the calibrated threshold in the head's bias, 0.5 = none, and then the threshold is 0.5)."""
    config, digest = config_info(run_dir)
    alpha = config.get("alpha")
    return ModelInfo(
        input_size=tuple(input_size),
        threshold=0.5 if folded_threshold != 0.5 else float(config.get("threshold", threshold)),
        class_name=str(config.get("class_name", "lesion")),
        quantization={"fp16": "float16"}.get(mode, mode),
        io_dtype=io if mode == "int8" else "float32",
        arch=str(config.get("arch", "munet")),
        alpha=float(alpha) if alpha is not None else None,
        munet_version=__version__,
        config_hash=digest,
        float_layers=list(float_layers or []),
        min_area=float(min_area),
        folded_threshold=float(folded_threshold),
    )


def add_munet_metadata(tflite: bytes, info: ModelInfo) -> bytes:
    """Embed ``info`` as JSON under :data:`METADATA_NAME`, its digest set to the placeholder: stamp the finished
    file with :func:`munet.edge.integrity.stamp_digest` (the last step before writing it)."""
    from munet.edge.integrity import PLACEHOLDER

    payload = dataclasses.replace(info, digest=PLACEHOLDER).to_json().encode("utf-8")
    return embed_metadata(tflite, METADATA_NAME, payload)


def write_sidecar(model_path: str | Path, info: ModelInfo) -> Path:
    """Write ``<model>.json`` next to the model, atomically."""
    from munet.atomic import write_text_atomic

    path = sidecar_path(model_path)
    write_text_atomic(path, info.to_json() + "\n")
    return path
