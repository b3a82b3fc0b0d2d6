"""Selective int8 quantization and per-layer blame with TFLite's QuantizationDebugger.

Verified with TF 2.21: ``QuantizationDebugOptions(denylisted_nodes=..., denylisted_ops=...,
fully_quantize=True)`` + ``get_nondebug_quantized_model()`` gives an int8-I/O model in which the
denylisted parts run in float (QUANTIZE/DEQUANTIZE around them). Node names are TFLite tensor
names (``munet_1/up4_concat_1/concat``); fused transposed-conv+BatchNorm+ReLU nodes do not match
by name, so op types (``TRANSPOSE_CONV``) are accepted too and used by ``--auto-keep-float``.
Calibration runs once; each denylist is only a re-quantization.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from munet.convert.export import ServingFunction, make_converter
from munet.convert.quiet import captured_output, quiet_tensorflow
from munet.errors import ModelError


@dataclass(frozen=True)
class LayerError:
    """Quantization error of one TFLite node (RMSE in units of its int8 step)."""

    tensor: str
    layer: str
    op: str
    rmse_scale: float


def keras_layer_name(tensor_name: str) -> str:
    """``munet_1/encoder_1/block_5_add_1/Add`` -> ``block_5_add`` (the innermost Keras layer)."""
    first = tensor_name.split(";")[0]
    parts = [p for p in first.split("/") if p]
    skip = {"munet", "encoder", "model", "functional"}
    names = [re.sub(r"_\d+$", "", p) for p in parts[:-1]]
    names = [n for n in names if n not in skip] or names
    return names[-1] if names else first


def _is_op_type(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Z][A-Z0-9_]+", name))


class SelectiveQuantizer:
    """Calibrate once, then quantize with any set of float-kept layers / op types."""

    def __init__(
        self,
        serving: ServingFunction,
        representative: Callable[[], Iterable[list[np.ndarray]]],
        io_type: str = "int8",
    ) -> None:
        quiet_tensorflow()
        import tensorflow as tf

        self._tf = tf
        self.io_type = io_type
        self.representative = representative
        conv = make_converter(serving, "int8", representative, "float32", allow_float=True)
        with captured_output():
            try:
                self.debugger = tf.lite.experimental.QuantizationDebugger(
                    converter=conv,
                    debug_dataset=representative,
                    debug_options=tf.lite.experimental.QuantizationDebugOptions(fully_quantize=True),
                )
            except Exception as exc:
                raise ModelError(f"quantization debugger failed: {str(exc).splitlines()[0][:200]}") from None
        self.debugger._set_input_tensors = _set_input_tensors  # TF's own drops a zero point of 0, see below
        self._stats: list[LayerError] | None = None

    def layer_errors(self, dataset: Callable[[], Iterable[list[np.ndarray]]] | None = None) -> list[LayerError]:
        """Per-node error (worst first) on ``dataset`` (default: the calibration set)."""
        tf = self._tf
        with captured_output():
            self.debugger.options = tf.lite.experimental.QuantizationDebugOptions(fully_quantize=True)
            if dataset is not None:
                self.debugger._data_gen = dataset  # the public constructor takes it once; reuse calibration
            try:
                self.debugger.run()
            except (ValueError, RuntimeError) as exc:
                raise ModelError(
                    f"quantization debugger failed: {str(exc).splitlines()[0][:200]}; "
                    "convert without --keep-float/--auto-keep-float, or report it with the model"
                ) from None
        buf = io.StringIO()
        self.debugger.layer_statistics_dump(buf)
        rows = []
        for r in csv.DictReader(io.StringIO(buf.getvalue())):
            scale = float(r["scale"]) or 1.0
            rmse = float(r["mean_squared_error"]) ** 0.5 / scale
            rows.append(LayerError(r["tensor_name"], keras_layer_name(r["tensor_name"]), r["op_name"], rmse))
        rows.sort(key=lambda e: -e.rmse_scale if np.isfinite(e.rmse_scale) else 0.0)
        self._stats = rows
        return rows

    def node_names(self) -> list[str]:
        if self._stats is None:
            self.layer_errors()
        return [e.tensor for e in self._stats or []]

    def resolve(self, keep_float: Sequence[str]) -> tuple[list[str], list[str]]:
        """``(denylisted_nodes, denylisted_ops)`` for Keras layer names, tensor names or op types."""
        nodes, ops = [], []
        all_nodes = None
        for name in keep_float:
            if _is_op_type(name):
                ops.append(name)
                continue
            all_nodes = all_nodes if all_nodes is not None else self.node_names()
            hits = [
                n
                for n in all_nodes
                if n == name
                or name in {keras_layer_name(n)}
                or re.search(rf"(^|/){re.escape(name)}(_\d+)?(/|$)", n.split(";")[0])
            ]
            if not hits:
                raise ModelError(
                    f"--keep-float {name}: no such layer in the model; use a Keras layer name "
                    "(e.g. up4_concat) or an op type (e.g. TRANSPOSE_CONV)"
                )
            nodes.extend(h for h in hits if h not in nodes)
        return nodes, ops

    def quantize(self, keep_float: Sequence[str]) -> tuple[bytes, list[str]]:
        """Int8 model bytes with ``keep_float`` in float, and the names that stay float."""
        nodes, ops = self.resolve(keep_float)
        tf = self._tf
        with captured_output():
            # Float I/O first, then TF's own I/O rewrite (what TFLiteConverter does for inference_input_type).
            self.debugger.options = tf.lite.experimental.QuantizationDebugOptions(
                fully_quantize=False, denylisted_nodes=nodes or None, denylisted_ops=ops or None
            )
            data = bytes(self.debugger.get_nondebug_quantized_model())
            if self.io_type != "float32":
                data = _change_io(data, self.io_type)
        return data, list(keep_float)


def quantize_input(tensor: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """A float input for an int8/uint8 input tensor, quantized with that tensor's scale and zero point."""
    dtype = np.dtype(detail["dtype"])
    if tensor.dtype != np.float32 or dtype not in (np.dtype(np.int8), np.dtype(np.uint8)):
        return tensor
    q = detail.get("quantization_parameters") or {}
    scales, zeros = q.get("scales"), q.get("zero_points")
    if scales is None or len(scales) == 0:
        scale, zero = detail.get("quantization", (0.0, 0))
    else:
        scale, zero = float(scales[0]), int(zeros[0]) if zeros is not None and len(zeros) else 0
    if not scale:
        raise ModelError(f"input {detail.get('name')} is {dtype} without quantization parameters")
    info = np.iinfo(dtype)
    return np.clip(np.round(tensor / scale + zero), info.min, info.max).astype(dtype)


def _set_input_tensors(interpreter: Any, tensor_data: Sequence[np.ndarray], initialize: bool) -> None:
    """TF's ``QuantizationDebugger._set_input_tensors`` with a correct int8 input path.

    TF 2.21 tests ``if scales and zero_points`` on NumPy arrays, so a calibrated input whose zero point
    is 0 (a symmetric input range, e.g. the brain fold-1 model with 200 calibration slices) is passed
    as float32 and ``set_tensor`` fails.
    """
    details = interpreter.get_input_details()
    if len(details) != len(tensor_data):
        raise ModelError(f"the model has {len(details)} inputs, the calibration data gives {len(tensor_data)}")
    if initialize:
        for detail, tensor in zip(details, tensor_data, strict=True):
            interpreter.resize_tensor_input(detail["index"], tensor.shape)
        interpreter.allocate_tensors()
    for detail, tensor in zip(details, tensor_data, strict=True):
        interpreter.set_tensor(detail["index"], quantize_input(np.asarray(tensor), detail))


def _change_io(data: bytes, io_type: str) -> bytes:
    """Float I/O -> int8 or uint8 I/O with TF's ``modify_model_io_type`` (drops the QUANTIZE/DEQUANTIZE ends)."""
    import tensorflow as tf
    from tensorflow.lite.python.util import modify_model_io_type

    dtype = {"int8": tf.int8, "uint8": tf.uint8}[io_type]
    return bytes(modify_model_io_type(data, dtype, dtype))


def model_inputs(x: np.ndarray) -> Callable[[], Any]:
    arr = np.asarray(x, dtype=np.float32)

    def gen() -> Any:
        for i in range(arr.shape[0]):
            yield [arr[i : i + 1]]

    return gen
