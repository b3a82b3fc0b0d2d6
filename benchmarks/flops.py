"""Multiply-accumulates (MACs) of a ``.tflite`` model, counted from its flatbuffer without TensorFlow.

Only the ops that dominate MU-Net's cost are counted, per image, with the convention of
``munet.train.models.complexity`` (biases and activations excluded):

- ``CONV_2D``: ``H_out * W_out * C_out * kh * kw * C_in_per_group`` (filter ``[C_out, kh, kw, C_in]``)
- ``DEPTHWISE_CONV_2D``: ``H_out * W_out * C_out * kh * kw`` (filter ``[1, kh, kw, C_out]``)
- ``TRANSPOSE_CONV``: ``H_in * W_in * C_in * kh * kw * C_out`` (each input pixel scatters one kernel)
- ``FULLY_CONNECTED``: ``rows * units * C_in``

Counting from the file works for any variant (float32, fp16, dynamic, int8) and on the device, and
``2 * MACs / latency`` is the achieved FLOP/s of the benchmarks.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from flatbuffers import number_types
from flatbuffers.table import Table

from munet.edge.metadata import field_offset, model_root, table_vector
from munet.errors import ModelError

# TFLite schema field indices (tensorflow/compiler/mlir/lite/schema/schema.fbs).
_MODEL_OPCODES, _MODEL_SUBGRAPHS = 1, 2
_OPCODE_DEPRECATED, _OPCODE_BUILTIN = 0, 3
_SUBGRAPH_TENSORS, _SUBGRAPH_OPERATORS = 0, 3
_TENSOR_SHAPE = 0
_OP_OPCODE, _OP_INPUTS, _OP_OUTPUTS = 0, 1, 2

#: Builtin operator codes that are counted.
CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV = 3, 4, 9, 67
OP_NAMES = {
    CONV_2D: "CONV_2D",
    DEPTHWISE_CONV_2D: "DEPTHWISE_CONV_2D",
    FULLY_CONNECTED: "FULLY_CONNECTED",
    TRANSPOSE_CONV: "TRANSPOSE_CONV",
}


@dataclass
class GraphMacs:
    """MACs of the main subgraph, in total and per counted op type."""

    macs: int = 0
    by_op: dict[str, int] = field(default_factory=dict)
    ops: int = 0

    @property
    def gflops(self) -> float:
        """Floating-point operations (2 per MAC), in units of 1e9."""
        return 2.0 * self.macs / 1e9


def _ints(tab: Table, index: int) -> list[int]:
    o = field_offset(tab, index)
    if not o:
        return []
    start, n = tab.Vector(o), tab.VectorLen(o)
    return [tab.Get(number_types.Int32Flags, start + 4 * i) for i in range(n)]


def _scalar(tab: Table, index: int, flags: type, default: int = 0) -> int:
    o = field_offset(tab, index)
    return tab.Get(flags, o + tab.Pos) if o else default


def count_tflite_macs(model: str | os.PathLike[str] | bytes) -> GraphMacs:
    """MACs per inference of the first subgraph of a TFLite model (file path or bytes)."""
    data = model if isinstance(model, (bytes, bytearray)) else Path(model).read_bytes()
    buf = bytes(data)
    try:
        root = model_root(buf)
    except ModelError:
        raise ModelError(f"{model if not isinstance(model, bytes) else 'model'}: not a TFLite flatbuffer") from None
    codes = []
    for oc in table_vector(buf, root, _MODEL_OPCODES):
        dep = _scalar(oc, _OPCODE_DEPRECATED, number_types.Int8Flags)
        new = _scalar(oc, _OPCODE_BUILTIN, number_types.Int32Flags)
        codes.append(max(dep, new))
    subgraphs = table_vector(buf, root, _MODEL_SUBGRAPHS)
    if not subgraphs:
        raise ModelError("TFLite model has no subgraph")
    sg = subgraphs[0]
    shapes = [tuple(_ints(t, _TENSOR_SHAPE)) for t in table_vector(buf, sg, _SUBGRAPH_TENSORS)]
    result = GraphMacs()
    for op in table_vector(buf, sg, _SUBGRAPH_OPERATORS):
        code = codes[_scalar(op, _OP_OPCODE, number_types.Uint32Flags)]
        if code not in OP_NAMES:
            continue
        ins, outs = _ints(op, _OP_INPUTS), _ints(op, _OP_OUTPUTS)
        macs = _op_macs(code, [shapes[i] if i >= 0 else () for i in ins], shapes[outs[0]])
        name = OP_NAMES[code]
        result.by_op[name] = result.by_op.get(name, 0) + macs
        result.macs += macs
        result.ops += 1
    return result


def _op_macs(code: int, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> int:
    if code == CONV_2D:
        filt = ins[1]  # [C_out, kh, kw, C_in / groups]
        return math.prod(out[1:3]) * filt[0] * filt[1] * filt[2] * filt[3]
    if code == DEPTHWISE_CONV_2D:
        filt = ins[1]  # [1, kh, kw, C_out]
        return math.prod(out[1:3]) * out[3] * filt[1] * filt[2]
    if code == TRANSPOSE_CONV:
        filt, x = ins[1], ins[2]  # inputs: output_shape, filter [C_out, kh, kw, C_in], input [1, H, W, C_in]
        return math.prod(x[1:3]) * x[3] * filt[0] * filt[1] * filt[2]
    # FULLY_CONNECTED: weights [units, C_in]
    w = ins[1]
    return math.prod(out[:-1]) * w[0] * w[1]
