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
