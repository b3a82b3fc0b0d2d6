"""Operators of a TFLite model: op types and versions against the runtimes, and the MACs of its graph.

MACs are counted from the flatbuffer without TensorFlow, per image, for the ops that dominate MU-Net's cost, with
the convention of ``munet.train.models.complexity`` (biases and activations excluded):

- ``CONV_2D``: ``H_out * W_out * C_out * kh * kw * C_in_per_group`` (filter ``[C_out, kh, kw, C_in]``)
- ``DEPTHWISE_CONV_2D``: ``H_out * W_out * C_out * kh * kw`` (filter ``[1, kh, kw, C_out]``)
- ``TRANSPOSE_CONV``: ``H_in * W_in * C_in * kh * kw * C_out`` (each input pixel scatters one kernel)
- ``FULLY_CONNECTED``: ``rows * units * C_in``

That works for any variant (float32, fp16, dynamic, int8) and on the device; ``2 * MACs / latency`` is the
achieved FLOP/s of ``munet-bench latency``.
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


@dataclass(frozen=True)
class OpInfo:
    name: str
    version: int
    count: int


def read_ops(tflite: bytes) -> list[OpInfo]:
    """Operators used by the main subgraph, with their versions and counts."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAs(tflite, 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = []
    for i in range(model.OperatorCodesLength()):
        oc = model.OperatorCodes(i)
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        name = names.get(code, f"CUSTOM:{(oc.CustomCode() or b'').decode()}" if code == 32 else str(code))
        codes.append((name, oc.Version()))
    counts: dict[int, int] = {}
    sub = model.Subgraphs(0)
    for i in range(sub.OperatorsLength()):
        idx = sub.Operators(i).OpcodeIndex()
        counts[idx] = counts.get(idx, 0) + 1
    return [OpInfo(codes[i][0], codes[i][1], counts[i]) for i in sorted(counts)]


#: Highest builtin op versions that tflite-runtime 2.14's default kernels register (TF 2.14 register.cc),
#: for the ops MU-Net and its quantized variants use. TRANSPOSE_CONV v4 (TF >= 2.16) runs there with the
#: default kernels but not with the reference ones (BUILTIN_REF stops at v3).
TFLITE_RUNTIME_214_MAX = {
    "ADD": 5,
    "CONCATENATION": 4,
    "CONV_2D": 8,
    "DEPTHWISE_CONV_2D": 7,
    "TRANSPOSE_CONV": 5,
    "LOGISTIC": 3,
    "QUANTIZE": 3,
    "DEQUANTIZE": 6,
    "RELU": 3,
    "RELU6": 3,
    "MUL": 7,
    "PAD": 4,
    "MEAN": 3,
    "RESHAPE": 1,
    "RESIZE_BILINEAR": 4,
    "RESIZE_NEAREST_NEIGHBOR": 4,
    "AVERAGE_POOL_2D": 3,
    "MAX_POOL_2D": 3,
    "SUB": 5,
    "SHAPE": 1,
    "STRIDED_SLICE": 8,
    "PACK": 4,
    "FULLY_CONNECTED": 11,
    "SOFTMAX": 3,
    "HARD_SWISH": 1,
}
REF_KERNEL_LIMITS = {"TRANSPOSE_CONV": 3}
#: Ops the Edge TPU compiler most often leaves on the CPU (google-coral/edgetpu #31, #45, #396).
EDGE_TPU_RISKY = {"TRANSPOSE_CONV", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "DEQUANTIZE", "QUANTIZE"}


def litert_loads(tflite: bytes) -> str:
    """Whether ai-edge-litert (if installed) builds an interpreter for the model."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        return "not installed here"
    from munet.convert.quiet import captured_output

    try:
        with captured_output():
            Interpreter(model_content=tflite).allocate_tensors()
    except Exception as exc:  # noqa: BLE001 - report any load failure as text
        return f"NO ({str(exc).splitlines()[0][:120]})"
    return "yes (loaded here)"


def ops_report(tflite: bytes, mode: str) -> str:
    """Text report: operators, versions, runtime support and Edge TPU notes."""
    ops = read_ops(tflite)
    lines = [
        f"ops report ({mode}): {sum(o.count for o in ops)} operators, {len(ops)} types",
        f"  {'op':<26}{'ver':>4}{'count':>7}  tflite-runtime 2.14",
    ]
    tflrt_ok = True
    for o in ops:
        limit = TFLITE_RUNTIME_214_MAX.get(o.name)
        if limit is None:
            verdict, tflrt_ok = "unknown op for 2.14", False
        elif o.version > limit:
            verdict, tflrt_ok = f"NO (max v{limit})", False
        else:
            verdict = "yes"
            ref = REF_KERNEL_LIMITS.get(o.name)
            if ref is not None and o.version > ref:
                verdict += f" (default kernels only; reference kernels stop at v{ref})"
        lines.append(f"  {o.name:<26}{o.version:>4}{o.count:>7}  {verdict}")
    lines.append(f"  ai-edge-litert: {litert_loads(tflite)}")
    lines.append(f"  tflite-runtime 2.14: {'all ops supported' if tflrt_ok else 'NOT all ops supported'}")
    names = {o.name for o in ops}
    if mode != "int8":
        lines.append("  Edge TPU: needs a full-int8 model (--int8); this one would run on the CPU")
    else:
        risky = sorted(names & EDGE_TPU_RISKY)
        note = f"{', '.join(risky)} may fall back to the CPU" if risky else "no known problem ops"
        lines.append(f"  Edge TPU: {note}; run `edgetpu_compiler -s` on the int8 file to check the mapping")
    return "\n".join(lines)


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
