"""Typed Python API behind ``munet-convert``: Keras -> TFLite in four modes, with metadata.

>>> from munet.convert.api import convert
>>> convert("runs/isic", "munet_int8.tflite", mode="int8", calib_data="data/isic/train")

The Keras model is loaded and exported to a SavedModel once per :class:`Converter`; each mode is
then one ``TFLiteConverter.from_saved_model`` call. Every file is written atomically (temporary
file + rename) and carries :class:`munet.edge.metadata.ModelInfo` both embedded and as a JSON sidecar.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from munet.convert import export
from munet.convert.representative import (
    InputStats,
    Sample,
    calibration_arrays,
    check_calibration_range,
    representative_dataset,
)
from munet.edge.metadata import ModelInfo
from munet.errors import InputError

log = logging.getLogger(__name__)

MODES = export.MODES
IO_TYPES = export.IO_TYPES
#: Suffix of each mode's file when several modes are written at once.
MODE_SUFFIX = {"float32": "float32", "fp16": "fp16", "dynamic": "dynamic", "int8": "int8"}


@dataclass
class Conversion:
    """One converted file and what is known about it."""

    mode: str
    path: Path
    info: ModelInfo
    size_bytes: int
    calib_stats: InputStats | None = None
    ops_report: Any = None
    gate: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


class Converter:
    """Load a Keras model once, export it once, convert it to any number of TFLite modes.

    Use as a context manager (it owns a temporary SavedModel folder).
    """

    def __init__(self, model: str | Path) -> None:
        self.keras_path, self.run_dir = export.resolve_model(model)
        self.model = export.load_keras(self.keras_path)
        self.input_size = export.input_size(self.model)
        self._tmp = Path(tempfile.mkdtemp(prefix="munet-convert-"))
        self._saved_model: Path | None = None
        self.calib_x: np.ndarray | None = None
        self.calib_stats: InputStats | None = None
        self.held_back: list[Sample] = []

    def __enter__(self) -> Converter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

    @property
    def saved_model(self) -> Path:
        if self._saved_model is None:
            self._saved_model = export.export_saved_model(self.model, self._tmp / "saved_model")
        return self._saved_model

    def set_calibration(
        self, calib_data: str | Path | None = None, calib_count: int = 200, arrays: np.ndarray | None = None
    ) -> InputStats:
        """Calibration inputs from a folder (every 5th image held back for the gate) or from arrays.

        ``arrays`` (advanced): already preprocessed float32 ``(N, H, W, 3)`` inputs in [-1, 1].
        """
        if arrays is not None:
            x = np.asarray(arrays)
            if x.ndim == 3:
                x = x[None]
            self.calib_stats = check_calibration_range(x)
            self.calib_x = x
            self.held_back = []
        elif calib_data is not None:
            self.calib_x, self.held_back = calibration_arrays(calib_data, self.input_size, calib_count)
            self.calib_stats = check_calibration_range(self.calib_x)
        else:
            raise InputError("--int8 needs calibration images: pass --calib-data DIR (training-distribution images)")
        if self.calib_x.shape[1:3] != self.input_size:
            raise InputError(f"calibration arrays are {self.calib_x.shape[1:3]}, the model takes {self.input_size}")
        return self.calib_stats

    def representative(self) -> Callable[[], Any]:
        if self.calib_x is None:
            raise InputError("--int8 needs calibration images: pass --calib-data DIR (training-distribution images)")
        return representative_dataset(self.calib_x)

    def to_bytes(self, mode: str, io: str = "int8", keep_float: list[str] | None = None) -> tuple[bytes, list[str]]:
        """TFLite bytes (no munet metadata) and the float-kept node names (int8 with ``keep_float``)."""
        if mode not in MODES:
            raise InputError(f"mode {mode!r}: choose one of {', '.join(MODES)}")
        if io not in IO_TYPES:
            raise InputError(f"--io {io!r}: choose one of {', '.join(IO_TYPES)}")
        if mode == "int8" and keep_float:
            from munet.convert.selective import SelectiveQuantizer

            sq = SelectiveQuantizer(self.saved_model, self.representative(), io)
            return sq.quantize(keep_float)
        rep = self.representative() if mode == "int8" else None
        return export.convert_saved_model(self.saved_model, mode, rep, io), []

    def write(
        self, data: bytes, out: str | Path, mode: str, io: str, float_layers: list[str] | None = None
    ) -> Conversion:
        """Embed metadata, write ``out`` and its sidecar atomically, return a :class:`Conversion`."""
        from munet.convert.metadata import add_munet_metadata, make_info, write_sidecar
        from munet.edge.atomic import write_bytes_atomic

        out = Path(out)
        info = make_info(self.input_size, mode, io, self.run_dir, float_layers)
        data = add_munet_metadata(data, info)
        write_bytes_atomic(out, data)
        write_sidecar(out, info)
        return Conversion(
            mode=mode,
            path=out,
            info=info,
            size_bytes=len(data),
            calib_stats=self.calib_stats if mode == "int8" else None,
        )

    def convert(self, mode: str, out: str | Path, io: str = "int8", keep_float: list[str] | None = None) -> Conversion:
        data, kept = self.to_bytes(mode, io, keep_float)
        return self.write(data, out, mode, io, kept)


def default_output(keras_path: Path, run_dir: Path | None, mode: str) -> Path:
    """``RUN/munet_<mode>.tflite`` for a run folder, else ``<stem>_<mode>.tflite`` next to the file."""
    if run_dir is not None and keras_path.parent == run_dir:
        return run_dir / f"munet_{MODE_SUFFIX[mode]}.tflite"
    return keras_path.with_name(f"{keras_path.stem}_{MODE_SUFFIX[mode]}.tflite")


def output_for(out: str | Path | None, keras_path: Path, run_dir: Path | None, mode: str, several: bool) -> Path:
    """Where ``mode`` goes: ``out`` itself for one mode, ``<out stem>_<mode>.tflite`` for several."""
    if out is None:
        return default_output(keras_path, run_dir, mode)
    out = Path(out)
    if out.suffix.lower() != ".tflite":
        if out.is_dir() or not out.suffix:
            return out / default_output(keras_path, run_dir, mode).name
        raise InputError(f"--out {out}: give a .tflite file name or a folder")
    if several:
        return out.with_name(f"{out.stem}_{MODE_SUFFIX[mode]}.tflite")
    return out


def convert(
    model: str | Path,
    out: str | Path,
    mode: str = "int8",
    calib_data: str | Path | None = None,
    calib_count: int = 200,
    io: str = "int8",
    keep_float: list[str] | None = None,
    *,
    calib_arrays: np.ndarray | None = None,
) -> Path:
    """Convert a ``.keras`` file or run folder (its ``best.keras``) to one TFLite file in ``mode``.

    Args:
        model: ``.keras`` file or munet-train run folder.
        out: the ``.tflite`` path (written atomically, plus a ``.json`` sidecar).
        mode: ``float32`` | ``fp16`` (half size, float32 speed on CPUs) | ``dynamic`` | ``int8``.
        calib_data: int8 only: folder of training-distribution images (or ``images/`` + ``masks/``).
        calib_count: int8 only: how many calibration images to use (every 5th image is held back).
        io: int8 only: tensor type of the model's input and output (``int8`` | ``uint8`` | ``float32``).
        keep_float: int8 only: Keras layer names (or TFLite tensor names / op types) left in float.
        calib_arrays: int8 only, advanced: preprocessed float32 ``(N, H, W, 3)`` calibration inputs.
    """
    with Converter(model) as conv:
        if mode == "int8":
            conv.set_calibration(calib_data, calib_count, calib_arrays)
        return conv.convert(mode, out, io, keep_float).path
