"""The TensorFlow-free segmenter: a ``.tflite`` MU-Net on LiteRT or tflite-runtime.

``Segmenter(model).segment(rgb)`` does what the paper's inference does (Sec. 3.3.2): the shared
preprocessing (RGB scaled to [-1, 1] at the model size), one forward pass, the sigmoid map
thresholded at 0.5, and the mask resized back to the frame. For int8/uint8 I/O models the input is
quantized with the model's own scale and zero point and the output dequantized.

Interpreter backends, in the order ``auto`` tries them: ``ai_edge_litert.interpreter`` (LiteRT),
``tflite_runtime.interpreter`` (frozen at 2.14, needs NumPy < 2) and, only as a last resort and
only when it is installed, ``tensorflow.lite``. XNNPACK stays on (it is the default CPU delegate).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from munet.edge.bundled import resolve_model
from munet.edge.integrity import verify_model
from munet.edge.metadata import ModelInfo, find_model_info, model_info_from_bytes
from munet.edge.postproc import finish_mask
from munet.edge.preprocess import COLOR_ORDER, NORM_OFFSET, NORM_SCALE, preprocess
from munet.edge.tta import check_tta, passes, tta_predict, uncertainty_score
from munet.errors import ModelError
from munet.imageio import load_image

log = logging.getLogger(__name__)

#: ``--backend`` name -> module holding ``Interpreter`` (and ``OpResolverType``), in ``auto`` order.
BACKENDS: dict[str, str] = {
    "litert": "ai_edge_litert.interpreter",
    "tflite-runtime": "tflite_runtime.interpreter",
    "tensorflow": "tensorflow.lite",
}
BACKEND_CHOICES = ("auto", *BACKENDS)


@dataclass
class Result:
    """One segmented frame."""

    mask: np.ndarray  # uint8 {0, 1} at the original H x W
    prob: np.ndarray  # float32 (h, w) foreground probability at the model size
    timings: dict[str, float] = field(default_factory=dict)  # pre_ms, infer_ms (all TTA passes), post_ms
    uncertainty: float | None = None  # with TTA: per-image score (munet.edge.tta.uncertainty_score)
    spread: np.ndarray | None = None  # with TTA: float32 (h, w) max - min of the passes at the model size


def _import_backend(name: str) -> Any:
    module = BACKENDS[name]
    if name == "tensorflow":
        tf = importlib.import_module("tensorflow")
        return tf.lite
    return importlib.import_module(module)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module.split(".")[0]) is not None
    except (ImportError, ValueError):
        return False


def load_backend(backend: str = "auto") -> tuple[str, Any]:
    """Return ``(name, module)`` for ``backend``; ``auto`` takes the first installed one.

    TensorFlow is only tried by ``auto`` when neither LiteRT nor tflite-runtime is installed.
    """
    if backend not in BACKEND_CHOICES:
        raise ModelError(f"--backend {backend!r}: unknown; choose one of {', '.join(BACKEND_CHOICES)}")
    names = list(BACKENDS) if backend == "auto" else [backend]
    errors = []
    for name in names:
        if not _installed(BACKENDS[name]):
            errors.append(f"{name} not installed")
            continue
        try:
            return name, _import_backend(name)
        except Exception as exc:  # e.g. tflite-runtime built against NumPy 1.x under NumPy 2
            errors.append(f"{name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    hint = 'pip install "munet[edge]" (ai-edge-litert); on 32-bit Pi OS: pip install tflite-runtime "numpy<2"'
    raise ModelError(f"no TFLite interpreter available ({'; '.join(errors)}); {hint}")


def read_tflite(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a ``.tflite`` file; :class:`ModelError` when it is missing or not a TFLite flatbuffer."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file; check the path")
    data = path.read_bytes()
    if len(data) < 8 or data[4:8] != b"TFL3":
        what = "a Keras file" if data[:2] == b"PK" or path.suffix in (".keras", ".h5") else "not a TFLite model"
        raise ModelError(f"{path}: {what} (no 'TFL3' identifier); convert it first with munet-convert")
    return data


def default_threads() -> int:
    """The number of cores (``os.cpu_count()``)."""
    return os.cpu_count() or 1


class Segmenter:
    """Binary lesion segmentation with a converted MU-Net ``.tflite`` model, no TensorFlow needed.

    Args:
        model_path: the ``.tflite`` file, or its bytes (metadata embedded by munet-convert, else a
            ``.json`` sidecar, else the input tensor's shape with the default normalisation), or the name of
            a bundled model (``"skin"``, ``"brain"``: :mod:`munet.edge.bundled`; an existing file wins).
        threads: interpreter threads (default: the number of cores). With tflite-runtime 2.14 more
            threads than free cores can be several times slower (its thread pool spin-waits).
        backend: ``auto`` | ``litert`` | ``tflite-runtime`` | ``tensorflow``.
        keep_largest: keep only the largest connected component of the mask.
        fill_holes: fill holes inside the mask.
        reference_kernels: use the reference (``BUILTIN_REF``) kernels instead of the optimised ones and
            XNNPACK; slow, but bit-identical across CPUs (used by the aarch64 check).
        tta: test-time flips (:mod:`munet.edge.tta`): ``none`` | ``hflip`` (2 passes) | ``flips`` (4 passes);
            the mask thresholds the mean probability and the result gets ``uncertainty`` and ``spread``.
        min_area: drop mask components smaller than this fraction of the image area (at the original size; an
            image left with none gets an empty mask). ``None``: the model's metadata (``ModelInfo.min_area``,
            0 = off when absent); 0 turns it off.
        verify: check the content digest that munet-convert stamps into the metadata (:mod:`munet.edge.integrity`,
            one SHA-256 pass, ~1.3 ms for a 2.5 MB model): a file changed since conversion is refused with a one-line
            :class:`ModelError`; a file without a digest loads with a one-line warning. ``False`` skips the check.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | bytes,
        threads: int | None = None,
        backend: str = "auto",
        keep_largest: bool = False,
        fill_holes: bool = False,
        reference_kernels: bool = False,
        tta: str = "none",
        min_area: float | None = None,
        verify: bool = True,
    ) -> None:
        self.tta = check_tta(tta)
        self.passes = passes(tta)
        if isinstance(model_path, bytes | bytearray):  # an in-memory model (e.g. the converter's gate)
            self.model_path = Path("<memory>")
            data = bytes(model_path)
            if data[4:8] != b"TFL3":
                raise ModelError("in-memory model: not a TFLite flatbuffer (no 'TFL3' identifier)")
            if verify:  # e.g. the converter's gate runs models before they are stamped: no warning without one
                verify_model(data, "in-memory model", warn_missing=False)
            info = model_info_from_bytes(data, "in-memory model")
            origin = "in-memory model"
        else:
            self.model_path = resolve_model(model_path) if isinstance(model_path, str) else Path(model_path)
            data = read_tflite(self.model_path)
            if verify:
                verify_model(data, str(self.model_path))
            info, origin = find_model_info(self.model_path)
        self.threads = int(threads) if threads else default_threads()
        if self.threads < 1:
            raise ModelError(f"--threads {threads}: must be at least 1")
        self.backend_name, module = load_backend(backend)
        kwargs: dict[str, Any] = {"model_content": data, "num_threads": self.threads}
        if reference_kernels:
            resolver = getattr(module, "OpResolverType", None) or module.experimental.OpResolverType
            kwargs["experimental_op_resolver_type"] = resolver.BUILTIN_REF
        try:
            self._interp = module.Interpreter(**kwargs)
            self._interp.allocate_tensors()
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(
                f"{self.model_path}: {self.backend_name} cannot load this model ({first}); "
                "re-convert it with munet-convert or update the runtime"
            ) from None
        inputs, outputs = self._interp.get_input_details(), self._interp.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(f"{self.model_path}: expected 1 input and 1 output, got {len(inputs)} and {len(outputs)}")
        self._in, self._out = inputs[0], outputs[0]
        self._check_shapes()
        shape = tuple(int(v) for v in self._in["shape"])
        if len(shape) != 4 or shape[0] != 1 or shape[3] != 3:
            raise ModelError(f"{self.model_path}: input shape {shape} is not [1, H, W, 3]; re-convert with batch 1")
        in_size = (shape[1], shape[2])
        io_dtype = np.dtype(self._in["dtype"]).name
        if info is None:
            log.info("%s: no munet metadata; using the input shape %s and default normalisation", model_path, in_size)
            info = ModelInfo(input_size=in_size, io_dtype=io_dtype)
        else:  # a sidecar left next to another model (or stale metadata) must not silently mis-size the input
            sidecar = origin not in (str(self.model_path), "in-memory model")
            hint = f"it belongs to another model: remove or replace {origin}" if sidecar else "re-convert it"
            if tuple(info.input_size) != in_size:
                raise ModelError(
                    f"{origin}: metadata says input {tuple(info.input_size)} but {self.model_path} takes {in_size}; "
                    f"{hint}"
                )
            if info.io_dtype != io_dtype:
                raise ModelError(
                    f"{origin}: metadata says {info.io_dtype} input but {self.model_path} takes {io_dtype}; {hint}"
                )
        if not (np.isclose(info.norm_scale, NORM_SCALE) and np.isclose(info.norm_offset, NORM_OFFSET)):
            raise ModelError(
                f"{self.model_path}: normalisation x*{info.norm_scale}+{info.norm_offset} differs from the shared "
                f"x*{NORM_SCALE:.6g}+{NORM_OFFSET}; re-convert it with munet-convert"
            )
        if info.color_order not in ("RGB", "BGR"):
            raise ModelError(f"{self.model_path}: unknown colour order {info.color_order!r} in the metadata")
        self.info = info
        self.min_area = float(info.min_area if min_area is None else min_area)
        if not 0.0 <= self.min_area < 1.0:
            raise ModelError(f"min_area {min_area!r}: must be a fraction of the image area in [0, 1) (0 = off)")
        self.keep_largest = keep_largest
        self.fill_holes = fill_holes
        self._in_dtype = np.dtype(self._in["dtype"])
        self._out_dtype = np.dtype(self._out["dtype"])
        self._in_q = self._quant(self._in)
        self._out_q = self._quant(self._out)

    def _check_shapes(self) -> None:
        """A static input size and one output channel: anything else would give wrong masks, not an error."""
        signature = [int(v) for v in self._in.get("shape_signature", self._in["shape"])]
        if any(v < 0 for v in signature[1:]):
            raise ModelError(
                f"{self.model_path}: dynamic input size {signature} (-1 in the signature) would run at "
                f"{[int(v) for v in self._in['shape']]}; re-convert it with a fixed input size (munet-convert does)"
            )
        out = [int(v) for v in self._out["shape"]]
        if len(out) == 4 and out[0] == 1 and out[3] != 1:
            raise ModelError(
                f"{self.model_path}: output {out} has {out[3]} channels; munet-run needs one sigmoid channel "
                "[1, H, W, 1] (binary segmentation): re-convert a binary model"
            )
        if len(out) not in (3, 4) or out[0] != 1 or min(out[1:3]) < 1:
            raise ModelError(f"{self.model_path}: output shape {out} is not [1, H, W, 1]; re-convert a binary model")

    @staticmethod
    def _quant(detail: dict[str, Any]) -> tuple[float, int] | None:
        if np.dtype(detail["dtype"]).kind not in "iu":
            return None
        scale, zero = detail.get("quantization", (0.0, 0))
        if not scale:
            raise ModelError(f"tensor {detail.get('name')!r} is {np.dtype(detail['dtype']).name} without quantization")
        return float(scale), int(zero)

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) the model takes."""
        return tuple(self.info.input_size)  # type: ignore[return-value]

    def prepare(self, rgb: np.ndarray) -> np.ndarray:
        """RGB uint8 frame -> the input tensor (batch 1, quantized when the model has int8/uint8 input)."""
        if self.info.color_order != COLOR_ORDER:
            rgb = np.ascontiguousarray(rgb[:, :, ::-1])
        return self.quantize(preprocess(rgb, self.input_size)[None])

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """Preprocessed float input ``(1, h, w, 3)`` -> the input tensor (quantized with the model's own
        scale and zero point when the model has int8/uint8 input)."""
        if self._in_q is None:
            return x.astype(self._in_dtype, copy=False)
        scale, zero = self._in_q
        info = np.iinfo(self._in_dtype)
        return np.clip(np.round(x / scale) + zero, info.min, info.max).astype(self._in_dtype)

    def invoke(self, tensor: np.ndarray) -> np.ndarray:
        """Run the interpreter on a prepared input tensor; returns the raw output tensor (a copy)."""
        self._interp.set_tensor(self._in["index"], tensor)
        self._interp.invoke()
        return self._interp.get_tensor(self._out["index"])

    def dequantize(self, raw: np.ndarray) -> np.ndarray:
        """Raw output tensor -> float32 probability map (h, w)."""
        prob = raw.reshape(raw.shape[1], raw.shape[2]) if raw.ndim == 4 else np.squeeze(raw)
        if self._out_q is None:
            return prob.astype(np.float32, copy=False)
        scale, zero = self._out_q
        return (prob.astype(np.float32) - np.float32(zero)) * np.float32(scale)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Probability map ``(h, w)`` for one preprocessed float input ``(h, w, 3)`` or ``(1, h, w, 3)``."""
        return self.dequantize(self.invoke(self.quantize(x.reshape(1, *x.shape[-3:]))))

    def segment(self, rgb: np.ndarray | str | os.PathLike[str]) -> Result:
        """Segment one RGB uint8 frame ``(H, W, 3)`` (or an image file, read by :func:`~munet.imageio.load_image`);
        the mask comes back at ``(H, W)``."""
        if isinstance(rgb, str | os.PathLike):
            rgb = load_image(rgb)
        t0 = time.perf_counter()
        tensor = self.prepare(rgb)
        t1 = time.perf_counter()
        uncertainty = spread = None
        if self.tta == "none":
            raw = self.invoke(tensor)
            t2 = time.perf_counter()
            prob = self.dequantize(raw)
        else:  # flip the (quantized) input tensor: quantization is per element, so it commutes with flips
            out = tta_predict(lambda t: self.dequantize(self.invoke(t[None])), tensor[0], self.tta)
            t2 = time.perf_counter()
            prob, spread = out.prob, out.spread
            uncertainty = uncertainty_score(out.passes, self.info.threshold)
        mask = finish_mask(prob, rgb.shape, self.info.threshold, self.min_area, self.keep_largest, self.fill_holes)
        t3 = time.perf_counter()
        timings = {"pre_ms": (t1 - t0) * 1e3, "infer_ms": (t2 - t1) * 1e3, "post_ms": (t3 - t2) * 1e3}
        return Result(mask=mask, prob=prob, timings=timings, uncertainty=uncertainty, spread=spread)

    def __repr__(self) -> str:
        return (
            f"Segmenter({str(self.model_path)!r}, backend={self.backend_name}, threads={self.threads}, "
            f"input={self.input_size}, io={self._in_dtype.name}, tta={self.tta})"
        )
