"""Typed Python API behind ``munet-convert``: Keras -> TFLite in four modes (plus ONNX, MediaPipe), with metadata.

>>> from munet.convert.api import ConvertOptions, convert, convert_all
>>> convert("runs/isic", "munet_int8.tflite", mode="int8", calib_data="data/isic/train")
>>> convert_all("runs/isic", ConvertOptions(formats=("int8", "float32", "onnx"), out="models/"))

The formats and their options live in :mod:`munet.convert.options` (one table, :data:`~munet.convert.options.FORMATS`).

The Keras model is loaded and its inference function traced once per :class:`Converter`; each mode
is then one ``TFLiteConverter.from_concrete_functions`` call. Every file is written atomically (temporary
file + rename) and carries :class:`munet.edge.metadata.ModelInfo` both embedded and as a JSON sidecar.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from munet.convert import export
from munet.convert.options import BY_NAME, FORMATS, IO_TYPES, MODES, ConvertOptions, Format
from munet.convert.representative import (
    InputStats,
    Sample,
    calibration_arrays,
    check_calibration_range,
    representative_dataset,
)
from munet.edge.metadata import ModelInfo, read_model_info
from munet.errors import InputError
from munet.progress import Stages

log = logging.getLogger(__name__)

#: Suffix of each mode's file when several modes are written at once (from the formats table).
MODE_SUFFIX = {f.name: f.suffix for f in FORMATS if f.tflite}


@dataclass
class Conversion:
    """One converted file and what is known about it (``mode``: its format; ``source``: a derived file's mode)."""

    mode: str
    path: Path
    info: ModelInfo
    size_bytes: int
    calib_stats: InputStats | None = None
    ops_report: Any = None
    gate: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    source: str | None = None


class Converter:
    """Load a Keras model once, trace it once, convert it to any number of TFLite modes.

    Use as a context manager (closing it drops the traced function).
    """

    def __init__(self, model: str | Path) -> None:
        self.keras_path, self.run_dir = export.resolve_model(model)
        self.model = export.load_keras(self.keras_path)
        self.input_size = export.input_size(self.model)
        self._serving: export.ServingFunction | None = None
        self.calib_x: np.ndarray | None = None
        self.calib_stats: InputStats | None = None
        self.held_back: list[Sample] = []

    def __enter__(self) -> Converter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._serving = None

    @property
    def serving(self) -> export.ServingFunction:
        """The model's batch-1 inference function, traced on first use."""
        if self._serving is None:
            self._serving = export.serving_function(self.model)
        return self._serving

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

            sq = SelectiveQuantizer(self.serving, self.representative(), io)
            return sq.quantize(keep_float)
        rep = self.representative() if mode == "int8" else None
        return export.convert_model(self.serving, mode, rep, io), []

    def write(
        self,
        data: bytes,
        out: str | Path,
        mode: str,
        io: str,
        float_layers: list[str] | None = None,
        min_area: float = 0.0,
        folded_threshold: float = 0.5,
    ) -> Conversion:
        """Embed metadata (with the content digest), write ``out`` and its sidecar atomically, return a
        :class:`Conversion`."""
        from munet.atomic import write_bytes_atomic
        from munet.convert.write_metadata import add_munet_metadata, make_info, write_sidecar
        from munet.edge.integrity import stamp_digest
        from munet.edge.metadata import model_info_from_bytes

        out = Path(out)
        info = make_info(
            self.input_size, mode, io, self.run_dir, float_layers, min_area=min_area, folded_threshold=folded_threshold
        )
        data = stamp_digest(add_munet_metadata(data, info))
        info = model_info_from_bytes(data, str(out)) or info  # with its digest
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


def run_calibration_data(model: str | Path) -> tuple[Path, str]:
    """The images a run was trained on, as int8 calibration data, and one line saying where they come from.

    ``RUN/config.yaml``'s ``data`` (a synthetic-data run: its ``RUN/synthetic`` set). A ``.keras`` file outside a
    run folder, or a training folder that is gone, is an :class:`InputError` naming the fix (``--calib-data DIR``).
    """
    from munet.train.config import load_yaml

    fix = "pass --calib-data DIR (training-distribution images)"
    _, run_dir = export.resolve_model(model)
    if run_dir is None:
        what = "--int8 (and --calibrate-postproc) need training images"
        raise InputError(f"{model}: {what} and this is not a run folder; {fix}")
    config = load_yaml(run_dir / "config.yaml")
    data = config.get("data")
    if data is None:
        data, why = run_dir / "synthetic", "the run's synthetic training set"
    else:
        why = f"the training data named in {run_dir / 'config.yaml'}"
    if not Path(data).is_dir():
        raise InputError(f"{data}: {why} is gone; {fix}")
    return Path(data), f"calibration: {data} ({why}; --calib-data DIR to change)"


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


@dataclass
class ValidationSet:
    """The gate's images: their float Keras predictions at the ORIGINAL size (the one evaluator's
    :class:`~munet.edge.evaluate.Prediction` s), truths at the original size (``None`` without masks), the
    preprocessed inputs ``x`` (the calibration diagnosis and the quantization debugger read them) and their source.
    """

    samples: list[Any]
    x: np.ndarray
    truths: list[np.ndarray] | None
    float_preds: list[Any]
    source: str

    def images(self) -> Any:
        """The RGB uint8 images, read one at a time (a large set never sits in memory at its original size)."""
        from munet.convert.representative import read_sample

        for s in self.samples:
            yield read_sample(s, False)[0]


def validation_set(conv: Converter, val_data: str | Path | None, max_images: int = 200) -> ValidationSet | None:
    """``--val-data`` (or the images held back from ``--calib-data``) run through the float model once, at the
    original size as every other score (:class:`munet.train.predictor.KerasPredictor`, no ``min_area``)."""
    from munet.convert.representative import find_samples, load_inputs, pick_evenly, read_sample
    from munet.edge.evaluate import run_predictor
    from munet.train.predictor import KerasPredictor

    if val_data is not None:
        samples, source = find_samples(val_data), str(val_data)
    elif conv.held_back:
        samples, source = conv.held_back, "held-back calibration images (every 5th)"
    else:
        return None
    samples = pick_evenly(samples, max_images)
    x, truth, used = load_inputs(samples, conv.input_size, "validation", with_masks=True)
    samples = [s for s in samples if s.image in set(used)]  # unreadable files were skipped (with a warning)
    truths = [read_sample(s, True)[1] for s in samples] if truth is not None else None
    val = ValidationSet(samples, x, truths, [], source)
    val.float_preds = run_predictor(KerasPredictor(conv.model, min_area=0.0, name="float"), val.images())
    return val


def convert_all(
    model: str | Path,
    options: ConvertOptions | None = None,
    *,
    calib_arrays: np.ndarray | None = None,
    echo: Callable[[str], None] = print,
    progress: Stages | None = None,
) -> list[Conversion]:
    """Convert ``model`` to every format of ``options`` (validated first), with ops reports and the accuracy gate.

    Returns one :class:`Conversion` per file: the TFLite modes (``Conversion.gate`` holds a
    :class:`munet.convert.gate.GateResult`, ``None`` without validation data), then the derived formats
    (``onnx``, ``mediapipe``; ``Conversion.source`` names the mode each came from). A missing optional
    dependency fails before the model is loaded. Without ``calib_data`` (and ``calib_arrays``) int8 and
    ``calibrate_postproc`` use a run folder's training data (:func:`run_calibration_data`). With
    ``auto_keep_float`` a failing int8 model is re-quantized with its most sensitive parts in float (the worst
    node from the quantization debugger, then the worst three, then the TRANSPOSE_CONV decoder) until the gate
    passes; ``min_agreement`` also fails a model whose masks agree with the float masks below it (per-image Dice).
    ``progress`` reports each stage (loading, calibration, then per mode: convert, gate, write). With
    ``calibrate_postproc`` each model runs on up to ``postproc_count`` TRAINING image/mask pairs and the
    ``min_area`` they favour (:mod:`munet.convert.calibrate_postproc`) goes into its metadata
    (``Conversion.extra["postproc"]`` holds the table); with ``calibrate_threshold`` the float model's best threshold
    on the same pairs is folded into its head first (:mod:`munet.convert.threshold`, ``Conversion.extra["threshold"]``).
    ``calib_arrays`` (advanced): preprocessed float32 inputs.
    """
    from munet.atomic import write_text_atomic
    from munet.convert import gate as gate_mod
    from munet.convert.ops_report import ops_report

    opts = (options if options is not None else ConvertOptions()).validate()
    tools = {fmt.name: _DERIVED[fmt.name][0](opts) for fmt in opts.derived}  # a missing tf2onnx/mediapipe: now
    modes, io = opts.modes, opts.io_type
    if "mediapipe" in tools and "int8" in modes and opts.io is None:
        echo("note: --mediapipe converts int8 with --io uint8 (MediaPipe takes uint8 or float32 input)")
    if opts.default_mode:
        echo("mode: int8 (default; --float32, --fp16, --dynamic or --all for others)")
    calib_data = opts.calib_data
    paired = opts.calibrate_postproc or opts.calibrate_threshold  # both need training image/mask pairs
    if calib_data is None and ((opts.calibrated and calib_arrays is None) or paired):
        calib_data, note = run_calibration_data(model)
        echo(note)
    results = []
    stages = progress if progress is not None else Stages(len(modes), quiet=True)
    post_data = None
    if paired:  # before loading the model: a folder without masks fails at once
        from munet.convert.calibrate_postproc import POSTPROC_COUNT, PostprocData

        with stages.stage("post-processing data"):
            post_data = PostprocData(calib_data, opts.postproc_count or POSTPROC_COUNT)
    with stages.stage("load model"):
        conv = Converter(model)
    with conv:
        folded = None
        if opts.calibrate_threshold:  # before anything runs the model: calibration and the gate see the folded one
            from munet.convert.threshold import calibrate_keras, fold_threshold

            with stages.stage("calibrate threshold"):
                folded = calibrate_keras(conv.model, post_data.images, post_data.truths)
                fold_threshold(conv.model, folded.threshold)
            echo(folded.table())
        if opts.calibrated:
            with stages.stage("calibration data"):
                conv.set_calibration(calib_data, opts.calib_count, calib_arrays)
        val = None
        if opts.gate:
            with stages.stage("gate data"):
                val = validation_set(conv, opts.val_data)
        if opts.gate and val is None:
            echo("gate: skipped (no --val-data and no calibration folder to hold images back from)")
        elif val is not None:
            echo(
                f"gate: {val.x.shape[0]} validation images from {val.source}"
                f"{' with masks' if val.truths is not None else ' (no masks: TFLite vs float only)'}"
            )
        limits = (opts.max_dice_drop, opts.min_agreement)
        fold_t = folded.threshold if folded is not None else 0.5
        for step, mode in enumerate(modes, 1):
            path = output_for(opts.out, conv.keras_path, conv.run_dir, mode, len(modes) > 1)
            kept = list(opts.keep_float) if mode == "int8" else []
            with stages.stage(f"{mode}: convert", step):
                data, kept = conv.to_bytes(mode, io, kept)
            result_gate = None
            if val is not None:
                with stages.stage(f"{mode}: gate", step):
                    result_gate = _gate(
                        gate_mod, mode, data, val, opts.max_dice_drop, conv.calib_stats, opts.min_agreement
                    )
                if not result_gate.passed and mode == "int8":
                    with stages.stage(f"{mode}: find the layers that hurt", step):
                        data, kept, result_gate = _blame_and_retry(
                            conv, gate_mod, data, kept, io, val, limits, result_gate, opts.auto_keep_float, echo
                        )
            calibration = None
            if opts.calibrate_postproc:
                from munet.convert.calibrate_postproc import calibrate_tflite
                from munet.convert.write_metadata import make_info

                with stages.stage(f"{mode}: calibrate post-processing", step):
                    threshold = make_info(conv.input_size, mode, io, conv.run_dir, folded_threshold=fold_t).threshold
                    calibration = calibrate_tflite(data, post_data, threshold)
            with stages.stage(f"{mode}: write", step):
                res = conv.write(data, path, mode, io, kept, calibration.min_area if calibration else 0.0, fold_t)
                if calibration is not None:
                    res.extra["postproc"] = calibration.to_dict()
                if folded is not None:
                    res.extra["threshold"] = folded.to_dict()
                res.gate = result_gate
                res.ops_report = ops_report(path.read_bytes(), mode)
                write_text_atomic(path.with_suffix(".ops.txt"), res.ops_report + "\n")
            stages.step_done()
            echo(f"{mode}: wrote {path} ({res.size_bytes / 1e6:.2f} MB)")
            echo(res.ops_report)
            if calibration is not None:
                echo(f"{mode}: {calibration.table()}")
            if result_gate is not None:
                echo(result_gate.table())
                for reason in result_gate.reasons:
                    echo(f"  reason: {reason}")
            results.append(res)
    derived = []
    for fmt in opts.derived:  # written whether or not a gate failed, as the TFLite files are
        for src in (r for r in results if r.mode in fmt.derives_from):
            path = _DERIVED[fmt.name][1](fmt, src.path, tools[fmt.name], opts)
            echo(f"{fmt.label}: {path}")
            info = src.info if fmt.ext != ".tflite" else (read_model_info(path) or src.info)
            derived.append(Conversion(fmt.name, path, info, path.stat().st_size, source=src.mode))
    return results + derived


def rewrite_io(
    model: str | Path,
    out: str | Path | None = None,
    mediapipe: bool = False,
    *,
    mediapipe_python: str | Path | None = None,
    echo: Callable[[str], None] = print,
) -> list[Path]:
    """An existing full-int8 ``.tflite`` with int8 I/O rewritten to uint8 I/O, losslessly and without Keras
    (:mod:`munet.convert.requantize`; default ``<stem>_uint8.tflite``); with ``mediapipe`` also its MediaPipe file.

    Returns the files written (the uint8 model, then the MediaPipe one)."""
    from munet.convert.requantize import requantize_io_file

    fmt = BY_NAME["mediapipe"]
    opts = ConvertOptions(formats=("mediapipe",), mediapipe_python=mediapipe_python).validate()
    mp_python = _mediapipe_python(opts) if mediapipe else None  # before writing anything
    path = requantize_io_file(model, out, "uint8")
    echo(f"uint8 I/O model: {path}")
    if mp_python is None:
        return [path]
    mp = _write_mediapipe(fmt, path, mp_python, opts)
    echo(f"{fmt.label}: {mp}")
    return [path, mp]


def _onnx_python(opts: ConvertOptions) -> Path:
    from munet.convert.onnx import require_onnx

    return require_onnx(opts.onnx_python)


def _write_onnx(fmt: Format, source: Path, python: Path, opts: ConvertOptions) -> Path:
    from munet.convert.onnx import export_onnx

    return export_onnx(source, fmt.derived_path(source), python, opset=opts.onnx_opset)


def _mediapipe_python(opts: ConvertOptions) -> str:
    from munet.convert.mediapipe import check_available

    return str(opts.mediapipe_python) if opts.mediapipe_python is not None else check_available()


def _write_mediapipe(fmt: Format, source: Path, python: str, opts: ConvertOptions) -> Path:
    from munet.convert.mediapipe import add_mediapipe_metadata

    return add_mediapipe_metadata(source, fmt.derived_path(source), python=python)


#: Per derived format: (find its tool or raise a one-line error, write it from one TFLite file).
_DERIVED: dict[str, tuple[Callable[..., Any], Callable[..., Path]]] = {
    "onnx": (_onnx_python, _write_onnx),
    "mediapipe": (_mediapipe_python, _write_mediapipe),
}


def _gate(
    gate_mod: Any,
    mode: str,
    data: bytes,
    val: ValidationSet | None,
    max_drop: float,
    calib: InputStats | None,
    min_agreement: float | None = None,
) -> Any:
    if val is None:
        return None
    return gate_mod.evaluate(mode, data, val, max_drop, calib_stats=calib, min_agreement=min_agreement)


def _blame_and_retry(
    conv: Converter,
    gate_mod: Any,
    data: bytes,
    kept: list[str],
    io: str,
    val: ValidationSet | None,
    limits: tuple[float, float | None],
    result: Any,
    auto: bool,
    echo: Callable[[str], None],
) -> tuple[bytes, list[str], Any]:
    """Print the layers that hurt most; with ``auto`` keep them (then the decoder) in float and re-check."""
    from munet.convert.selective import SelectiveQuantizer, model_inputs

    if result.reasons and any("calibration" in r for r in result.reasons) and not auto:
        return data, kept, result  # a calibration problem: blaming layers would mislead
    sq = SelectiveQuantizer(conv.serving, conv.representative(), io)
    n = min(16, val.x.shape[0]) if val is not None else 0
    errors = sq.layer_errors(model_inputs(val.x[:n]) if n else None)
    worst = []
    for e in errors:
        if e.layer not in worst:
            worst.append(e.layer)
    echo("int8 gate failed; layers with the largest quantization error (RMSE in int8 steps):")
    shown = set()
    for e in errors:
        if e.layer in shown:
            continue
        shown.add(e.layer)
        echo(f"  {e.layer:<28} {e.op:<18} {e.rmse_scale:.3f}")
        if len(shown) == 5:
            break
    echo(
        "  keep some in float with --keep-float LAYER... (Keras layer names or op types such as TRANSPOSE_CONV),"
        " or let --auto-keep-float pick them"
    )
    if not auto:
        return data, kept, result
    max_drop, min_agreement = limits
    tries = [
        kept + worst[:1],
        kept + worst[:3],
        kept + worst[:3] + ["TRANSPOSE_CONV"],
        kept + worst[:8] + ["TRANSPOSE_CONV", "LOGISTIC"],
    ]
    for attempt in tries:
        attempt = list(dict.fromkeys(attempt))
        try:
            new_data, new_kept = sq.quantize(attempt)
        except Exception as exc:  # noqa: BLE001 - a layer that cannot be kept: try the next set
            log.warning("keep-float %s failed: %s", attempt, str(exc).splitlines()[0][:160])
            continue
        new_result = _gate(gate_mod, "int8", new_data, val, max_drop, conv.calib_stats, min_agreement)
        echo(
            f"auto-keep-float {', '.join(attempt)}: Dice vs float {new_result.dice_vs_float:.4f} "
            f"-> {'PASS' if new_result.passed else 'FAIL'}"
        )
        data, kept, result = new_data, new_kept, new_result
        if new_result.passed:
            break
    return data, kept, result
