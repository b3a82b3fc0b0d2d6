"""Operators of a TFLite model (placeholder; extended next)."""

from __future__ import annotations

from dataclasses import dataclass


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
