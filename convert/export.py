"""Load a Keras model, fix its batch to 1, trace its inference function once, convert per mode.

Route (Keras 3 on TF >= 2.16): a ``tf.function`` of ``model(x, training=False)`` traced for a
``[1, H, W, 3]`` input, then ``tf.lite.TFLiteConverter.from_concrete_functions`` for each mode. It
gives the same TFLite graph as ``model.export`` + ``from_saved_model`` at less than half the time
(Keras' SavedModel writer walked every tracked object of the model for each export). A static batch
of 1 matters: with a dynamic batch the converter computes the five TRANSPOSE_CONV output shapes at
run time (SHAPE/STRIDED_SLICE/PACK ops), which slows float inference and pushed a dynamic-range model
off XNNPACK (66 ms -> 8.6 s per image). Only builtin TFLite ops are allowed (no Flex), so an
unsupported op fails here, not on the device.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from munet.convert.options import MODES
from munet.convert.quiet import captured_output, quiet_tensorflow
from munet.errors import InputError, ModelError

RUN_CHECKPOINTS = ("best.keras", "last.keras")


def resolve_model(model: str | Path) -> tuple[Path, Path | None]:
    """``(keras_file, run_folder_or_None)`` for a ``.keras`` file or a munet-train run folder."""
    path = Path(model)
    if path.is_dir():
        for name in RUN_CHECKPOINTS:
            if (path / name).is_file():
                return path / name, path
        raise InputError(f"{path}: run folder without best.keras or last.keras; pass a .keras file or a run folder")
    if not path.is_file():
        raise InputError(f"{path}: no such model file or run folder; check the path")
    run = path.parent if (path.parent / "config.yaml").is_file() else None
    return path, run


def load_keras(path: str | Path) -> Any:
    """Load a Keras 3 ``.keras`` file (without its training objects) with one-line errors."""
    path = Path(path)
    if path.suffix.lower() in (".tflite", ".onnx", ".pb", ".h5", ".hdf5", ".pt", ".pth"):
        raise ModelError(f"{path}: not a Keras 3 .keras file; pass the .keras checkpoint that munet-train wrote")
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a Keras 3 .keras file (not a zip archive) or corrupt; re-save it from Keras")
    quiet_tensorflow()
    import keras

    import munet.train.models.layers  # noqa: F401  (registers the model zoo's custom layers)

    try:
        with captured_output():
            model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for bad archives
        reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: cannot load this Keras model ({reason}); re-save it with munet-train") from None
    if not isinstance(model, keras.Model):
        raise ModelError(f"{path}: the archive holds a {type(model).__name__}, not a Keras model")
    return model


def input_size(model: Any) -> tuple[int, int]:
    """Model input (height, width); refuses models without a fixed spatial size or with 1 != 3 channels."""
    shape = tuple(model.inputs[0].shape)
    if len(shape) != 4 or shape[1] is None or shape[2] is None or shape[3] != 3:
        raise ModelError(f"model input shape {shape}: expected (batch, H, W, 3) with a fixed H and W")
    return int(shape[1]), int(shape[2])


@dataclass(frozen=True)
class ServingFunction:
    """``model(x, training=False)`` traced for a batch-1 input, and a module that tracks the model's variables."""

    function: Any
    module: Any


def serving_function(model: Any) -> ServingFunction:
    """Trace ``model``'s inference function for a static batch of 1 (what every conversion starts from).

    An explicit ``training=False`` call rather than ``model.export``: with a ``Resizing`` layer in the graph (the
    edge decoder's nearest x2 upsampling) Keras 3.15's export traced BatchNorm in training mode, so the TFLite file
    computed batch statistics (MEAN, ASSIGN_VARIABLE) instead of folding BN into the convolutions.
    """
    quiet_tensorflow()
    import tensorflow as tf

    h, w = input_size(model)
    spec = tf.TensorSpec((1, h, w, 3), tf.float32, name="image")
    with captured_output() as cap:
        try:
            function = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
        except Exception as exc:
            raise ModelError(f"tracing the model for conversion failed: {_first_line(exc, cap.text)}") from None
    module = tf.Module()
    module.variables_ = [getattr(v, "value", v) for v in model.variables]  # Keras 3 variables wrap tf.Variables
    return ServingFunction(function, module)


def _first_line(exc: BaseException, log: str = "") -> str:
    text = str(exc).strip() or type(exc).__name__
    for line in text.splitlines():
        if "error" in line.lower():
            return line.strip()[:200]
    return text.splitlines()[0][:200]


def make_converter(
    serving: ServingFunction,
    mode: str,
    representative: Callable[[], Iterable[list[np.ndarray]]] | None,
    io: str = "int8",
    allow_float: bool = False,
) -> Any:
    """A configured ``tf.lite.TFLiteConverter`` for ``mode`` (see :data:`MODES`)."""
    quiet_tensorflow()
    import tensorflow as tf

    if mode not in MODES:
        raise InputError(f"mode {mode!r}: choose one of {', '.join(MODES)}")
    conv = tf.lite.TFLiteConverter.from_concrete_functions([serving.function], serving.module)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode == "fp16":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    elif mode == "dynamic":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        # TF >= 2.16's new dynamic-range quantizer makes a hybrid TRANSPOSE_CONV that tflite-runtime 2.14
        # refuses ("weights->type != input->type"); the old one keeps those weights float.
        conv.experimental_new_dynamic_range_quantizer = False
    elif mode == "int8":
        if representative is None:
            raise InputError("--int8 needs calibration images: pass --calib-data DIR (training-distribution images)")
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = representative
        if allow_float:
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
        else:
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        dtype = {"int8": tf.int8, "uint8": tf.uint8, "float32": tf.float32}[io]
        conv.inference_input_type = dtype
        conv.inference_output_type = dtype
    return conv


def run_converter(conv: Any, what: str) -> bytes:
    """``conv.convert()`` with the console kept clean and a one-line error on failure."""
    with captured_output() as cap:
        try:
            data = conv.convert()
        except Exception as exc:
            raise ModelError(f"TFLite conversion ({what}) failed: {_first_line(exc, cap.text)}") from None
    return bytes(data)


def convert_model(
    serving: ServingFunction,
    mode: str,
    representative: Callable[[], Iterable[list[np.ndarray]]] | None = None,
    io: str = "int8",
) -> bytes:
    """Convert the traced model to TFLite bytes in ``mode`` (no metadata yet)."""
    return run_converter(make_converter(serving, mode, representative, io), mode)


def keras_predict(model: Any, batch: Sequence[np.ndarray] | np.ndarray, batch_size: int = 8) -> np.ndarray:
    """Float Keras probabilities ``(N, H, W)`` for preprocessed inputs ``(N, H, W, 3)``."""
    x = np.asarray(batch, dtype=np.float32)
    with captured_output():
        out = model.predict(x, batch_size=batch_size, verbose=0)
    return np.asarray(out, dtype=np.float32).reshape(x.shape[0], x.shape[1], x.shape[2])
