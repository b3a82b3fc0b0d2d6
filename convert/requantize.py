"""Rewrite an existing full-int8 ``.tflite`` from int8 to uint8 input and output, losslessly, without Keras.

``munet-convert MODEL.tflite --io uint8`` (:func:`requantize_io_file`). This is the graph the TFLite converter builds
for ``inference_input_type = inference_output_type = tf.uint8``: a uint8 input tensor with the int8 input's scale
and zero point + 128 feeding a ``QUANTIZE`` op (uint8 -> int8, same scale: exactly ``q = u - 128``) in front of the
unchanged int8 graph, and a ``QUANTIZE`` op (int8 -> uint8) after its output. Every int8 value the graph sees is the
one it saw before, so masks from ``munet-run`` (which quantizes with the file's own scale and zero point) are
identical. Flatbuffer surgery with TFLite's generated schema module (it ships with TensorFlow: convert/ only).

The munet metadata's ``io_dtype`` becomes ``uint8`` and its content digest is stamped again
(:mod:`munet.edge.integrity`). MediaPipe Tasks (phones, web) takes uint8 input, not int8: add ``--mediapipe``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np

from munet.errors import InputError, ModelError

#: I/O types this rewrite produces (from an int8-I/O model).
REWRITE_IO = ("uint8",)


def _code(op_code: Any) -> int:
    return max(int(op_code.builtinCode), int(op_code.deprecatedBuiltinCode))


def _quantize_opcode(schema: Any, model: Any) -> int:
    """Index of a version-1 ``QUANTIZE`` operator code (the converter's for uint8 <-> int8), added when missing."""
    quantize = schema.BuiltinOperator.QUANTIZE
    for i, code in enumerate(model.operatorCodes or []):
        if _code(code) == quantize and int(code.version) == 1 and not code.customCode:
            return i
    code = schema.OperatorCodeT()
    code.builtinCode = quantize
    code.deprecatedBuiltinCode = min(quantize, schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES)
    code.version = 1
    model.operatorCodes = [*(model.operatorCodes or []), code]
    return len(model.operatorCodes) - 1


def _scale_zero(tensor: Any, what: str) -> tuple[np.ndarray, int]:
    q = tensor.quantization
    if q is None or q.scale is None or q.zeroPoint is None or len(q.scale) != 1 or len(q.zeroPoint) != 1:
        raise ModelError(f"the int8 {what} has no per-tensor quantization (scale, zero point); re-convert the model")
    return np.asarray(q.scale, np.float32).copy(), int(q.zeroPoint[0])


def _uint8_twin(schema: Any, model: Any, graph: Any, index: int, what: str) -> int:
    """Append a uint8 tensor shaped like tensor ``index`` with zero point + 128 (own empty buffer); its index."""
    src = graph.tensors[index]
    scale, zero = _scale_zero(src, what)
    twin = schema.TensorT()
    twin.shape = np.array(src.shape, np.int32)
    twin.shapeSignature = None if src.shapeSignature is None else np.array(src.shapeSignature, np.int32)
    twin.type = schema.TensorType.UINT8
    twin.name = (src.name.decode("utf-8") if isinstance(src.name, bytes) else str(src.name or what)) + "_uint8"
    q = schema.QuantizationParametersT()
    q.scale = scale
    q.zeroPoint = np.array([zero + 128], np.int64)
    q.quantizedDimension = 0
    twin.quantization = q
    model.buffers = [*(model.buffers or []), schema.BufferT()]
    twin.buffer = len(model.buffers) - 1
    graph.tensors = [*graph.tensors, twin]
    return len(graph.tensors) - 1


def requantize_io(tflite: bytes, io: str = "uint8") -> bytes:
    """``tflite`` (full int8 with int8 input and output) with uint8 input and output; unchanged when it already
    has ``io`` input and output. Raises a one-line :class:`ModelError` for models it cannot rewrite."""
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as schema

    if io not in REWRITE_IO:
        raise InputError(f"--io {io}: an existing .tflite can only be rewritten to {', '.join(REWRITE_IO)} I/O")
    try:
        model = schema.ModelT.InitFromPackedBuf(bytearray(tflite), 0)
    except Exception:
        raise ModelError("corrupt TFLite flatbuffer") from None
    if len(model.subgraphs or []) != 1:
        raise ModelError(f"{len(model.subgraphs or [])} subgraphs; the rewrite handles single-graph models")
    graph = model.subgraphs[0]
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ModelError(f"expected 1 input and 1 output, got {len(graph.inputs)} and {len(graph.outputs)}")
    in_idx, out_idx = int(graph.inputs[0]), int(graph.outputs[0])
    names = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    types = (names.get(graph.tensors[in_idx].type, "?"), names.get(graph.tensors[out_idx].type, "?"))
    if types == (io, io):
        return tflite
    if types != ("int8", "int8"):
        raise ModelError(
            f"{types[0]} input and {types[1]} output: the rewrite takes a full-int8 model with int8 input and "
            "output; convert from Keras with munet-convert --int8 --io uint8 instead"
        )
    quantize = _quantize_opcode(schema, model)
    new_in = _uint8_twin(schema, model, graph, in_idx, "input")
    new_out = _uint8_twin(schema, model, graph, out_idx, "output")
    first, last = schema.OperatorT(), schema.OperatorT()
    for op, src, dst in ((first, new_in, in_idx), (last, out_idx, new_out)):
        op.opcodeIndex, op.inputs, op.outputs = quantize, np.array([src], np.int32), np.array([dst], np.int32)
    graph.operators = [first, *graph.operators, last]
    graph.inputs, graph.outputs = np.array([new_in], np.int32), np.array([new_out], np.int32)
    for sig in model.signatureDefs or []:  # signature runners address tensors by index
        for entry in list(sig.inputs or []) + list(sig.outputs or []):
            entry.tensorIndex = {in_idx: new_in, out_idx: new_out}.get(int(entry.tensorIndex), entry.tensorIndex)
    builder = flatbuffers.Builder(len(tflite) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def requantize_io_file(
    model: str | os.PathLike[str], out: str | os.PathLike[str] | None = None, io: str = "uint8"
) -> Path:
    """Write ``model`` rewritten to ``io`` I/O (:func:`requantize_io`) to ``out`` (default ``<stem>_<io>.tflite``
    next to it), atomically, with the munet metadata's ``io_dtype`` updated, its digest stamped and a JSON sidecar.

    The source's digest is checked first: a corrupted file is refused, not re-stamped as if it were good."""
    from munet.atomic import write_bytes_atomic
    from munet.convert.write_metadata import add_munet_metadata, write_sidecar
    from munet.edge.integrity import stamp_digest, verify_model
    from munet.edge.metadata import model_info_from_bytes
    from munet.edge.runtime import read_tflite

    model = Path(model)
    out = Path(out) if out is not None else model.with_name(f"{model.stem}_{io}{model.suffix}")
    if out.resolve() == model.resolve():
        raise InputError(f"--out {out}: would overwrite the source model; choose another file")
    data = read_tflite(model)
    verify_model(data, str(model))
    try:
        rewritten = requantize_io(data, io)
    except ModelError as exc:
        raise ModelError(f"{model}: {exc}") from None
    info = model_info_from_bytes(rewritten, str(model))
    if info is not None:
        info = dataclasses.replace(info, io_dtype=io)
        rewritten = stamp_digest(add_munet_metadata(rewritten, info))
        info = model_info_from_bytes(rewritten, str(out))
    write_bytes_atomic(out, rewritten)
    if info is not None:
        write_sidecar(out, info)
    return out
