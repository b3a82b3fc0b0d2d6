"""What ``munet-convert`` can write (:data:`FORMATS`, one table) and how (:class:`ConvertOptions`, checked once).

>>> from munet.convert.api import convert_all
>>> from munet.convert.options import ConvertOptions
>>> convert_all("runs/isic", ConvertOptions(formats=("int8", "mediapipe"), io="uint8", out="models/"))

The table drives the CLI's format flags and help, the output names, which formats need calibration
images or an optional dependency, and what a derived format is made from. Importing this module needs
neither TensorFlow nor the optional dependencies.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from munet.errors import InputError

IO_TYPES = ("int8", "uint8", "float32")
DEFAULT_FORMAT = "int8"


@dataclass(frozen=True)
class Format:
    """One output format of ``munet-convert``.

    ``tflite``: one TFLite converter run from the traced Keras model (a "mode"); otherwise the format
    is derived from the TFLite files in ``derives_from`` after they are written. ``suffix``: the name
    part added to the file (``munet_<suffix>.tflite`` for a run folder; for derived formats, appended to
    the source file's stem); ``ext``: the file extension; ``label``: how the CLI names a derived file.
    """

    name: str
    help: str
    suffix: str
    label: str = ""
    ext: str = ".tflite"
    tflite: bool = True
    calibration: bool = False
    derives_from: tuple[str, ...] = ()
    dependency: str | None = None
    install: str | None = None

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    def derived_path(self, source: Path) -> Path:
        """The file this (derived) format writes from the TFLite file ``source``."""
        if self.ext == source.suffix:
            return source.with_name(f"{source.stem}{self.suffix}{self.ext}")
        return source.with_suffix(self.ext)


ONNX_INSTALL = 'pip install "munet[onnx]"'
MEDIAPIPE_INSTALL = "pip install mediapipe (or set MUNET_MEDIAPIPE_PYTHON to a Python that has it)"

#: Every format, in the order ``--all`` converts the TFLite ones and the derived ones are written.
FORMATS: tuple[Format, ...] = (
    Format("float32", "Plain float32.", "float32"),
    # fp16 runs at float32 speed on CPUs: FIELD-NOTES §3.
    Format(
        "fp16",
        "float16 weights: half the file, but runs at float32 speed on CPUs (weights are expanded at load time).",
        "fp16",
    ),
    # TF 2.21's hybrid TRANSPOSE_CONV fails in tflite-runtime 2.14 unless the old quantizer is used: FIELD-NOTES §3.
    Format(
        "dynamic",
        "Dynamic-range: int8 weights, float activations (loads in tflite-runtime 2.14 too).",
        "dynamic",
    ),
    Format(
        "int8",
        "Full-integer int8 (needs --calib-data): ~4x smaller, fastest on CPUs, NPUs and Edge TPU.",
        "int8",
        calibration=True,
    ),
    # tf2onnx converts the float32 .tflite (the same graph ONNX Runtime then runs): convert/onnx.py.
    Format(
        "onnx",
        f"Also export float32 to <stem>.onnx with tf2onnx (adds --float32; {ONNX_INSTALL}).",
        "",
        label="ONNX model",
        ext=".onnx",
        tflite=False,
        derives_from=("float32",),
        dependency="tf2onnx",
        install=ONNX_INSTALL,
    ),
    # MediaPipe's ImageSegmenter refuses int8 input: int8 goes with --io uint8 (convert/mediapipe.py).
    Format(
        "mediapipe",
        "Also write <model>_mediapipe.tflite for MediaPipe Tasks' ImageSegmenter (Android/iOS/web); "
        "int8 then defaults to --io uint8. Needs mediapipe importable or MUNET_MEDIAPIPE_PYTHON.",
        "_mediapipe",
        label="MediaPipe ImageSegmenter model",
        tflite=False,
        derives_from=("float32", "fp16", "dynamic", "int8"),
        dependency="mediapipe",
        install=MEDIAPIPE_INSTALL,
    ),
)
BY_NAME = {f.name: f for f in FORMATS}
#: The TFLite conversion modes (``--all``), in table order.
MODES = tuple(f.name for f in FORMATS if f.tflite)


def get_format(name: str) -> Format:
    """The :class:`Format` called ``name``, or a one-line :class:`InputError` with the closest name."""
    key = str(name).strip().lower().removeprefix("--")
    fmt = BY_NAME.get(key)
    if fmt is None:
        close = difflib.get_close_matches(key, list(BY_NAME), n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise InputError(f"format {name!r}: {hint}choose from {', '.join(BY_NAME)}")
    return fmt


@dataclass
class ConvertOptions:
    """Everything one conversion run needs besides the model; :meth:`validate` checks it once.

    ``formats``: names from :data:`FORMATS` (a comma-separated string works too); without a TFLite format
    the default ``int8`` is added, and ``onnx`` adds ``float32`` (its source). ``io``: the int8 model's
    input/output type; ``None`` means ``int8``, or ``uint8`` with ``mediapipe`` (MediaPipe takes no int8
    input). ``calib_data``: training-distribution images; ``None`` for a run folder means its training
    data. ``gate``/``val_data``/``max_dice_drop``/``min_agreement``: the accuracy gate
    (:mod:`munet.convert.gate`); ``keep_float``/``auto_keep_float``: int8 layers left in float;
    ``calibrate_postproc``/``postproc_count``: :mod:`munet.convert.calibrate_postproc`; ``calibrate_threshold``:
    :mod:`munet.convert.threshold` (on the same training pairs). ``onnx_python``: a Python
    with tf2onnx (default: :func:`munet.convert.onnx.require_onnx`); ``mediapipe_python``: one with
    mediapipe (default: :func:`munet.convert.mediapipe.check_available`).
    """

    formats: Sequence[str] | str = ()
    out: str | Path | None = None
    calib_data: str | Path | None = None
    calib_count: int = 200
    io: str | None = None
    val_data: str | Path | None = None
    max_dice_drop: float = 1.0
    min_agreement: float | None = None
    keep_float: Sequence[str] = ()
    auto_keep_float: bool = False
    gate: bool = True
    calibrate_postproc: bool = False
    calibrate_threshold: bool = False
    postproc_count: int | None = None
    onnx_python: str | Path | None = None
    onnx_opset: int = 17
    mediapipe_python: str | Path | None = None

    # --------------------------------------------------------------------------------------------- what it asks for
    @property
    def names(self) -> list[str]:
        """The format names as given, lower-case, without repeats (a string is split on commas)."""
        raw = self.formats.split(",") if isinstance(self.formats, str) else list(self.formats)
        return list(dict.fromkeys(str(n).strip().lower().removeprefix("--") for n in raw if str(n).strip()))

    @property
    def default_mode(self) -> bool:
        """True when no TFLite format was named, so the default ``int8`` is added."""
        return not any(n in BY_NAME and BY_NAME[n].tflite for n in self.names)

    @property
    def modes(self) -> list[str]:
        """The TFLite conversions to run, in the order given (then ``float32`` for ``onnx``)."""
        names = self.names
        modes = [n for n in names if n in BY_NAME and BY_NAME[n].tflite] or [DEFAULT_FORMAT]
        for n in names:
            fmt = BY_NAME.get(n)
            if fmt is not None and not fmt.tflite and not set(fmt.derives_from) & set(modes):
                modes.append(fmt.derives_from[0])
        return modes

    @property
    def derived(self) -> list[Format]:
        """The derived formats asked for, in table order."""
        return [f for f in FORMATS if not f.tflite and f.name in self.names]

    @property
    def io_type(self) -> str:
        """The int8 model's I/O type: ``io``, else ``uint8`` with ``mediapipe``, else ``int8``."""
        if self.io is not None:
            return self.io
        return "uint8" if "mediapipe" in self.names and "int8" in self.modes else "int8"

    @property
    def calibrated(self) -> list[str]:
        """The modes that need calibration images (int8: FIELD-NOTES §3 on representative-dataset traps)."""
        return [m for m in self.modes if BY_NAME[m].calibration]

    # ------------------------------------------------------------------------------------------------ validation
    def validate(self) -> ConvertOptions:
        """Check every option (no model or data is read); a one-line :class:`InputError` for the first problem."""
        for name in self.names:
            get_format(name)
        if isinstance(self.keep_float, str):
            self.keep_float = (self.keep_float,)
        if self.io is not None and self.io not in IO_TYPES:
            raise InputError(f"--io {self.io!r}: choose one of {', '.join(IO_TYPES)}")
        int8 = "int8" in self.modes
        if "mediapipe" in self.names and int8 and self.io == "int8":
            raise InputError("--mediapipe: MediaPipe's ImageSegmenter takes uint8 or float32 input; use --io uint8")
        if (self.keep_float or self.auto_keep_float) and not int8:
            what = "--keep-float" if self.keep_float else "--auto-keep-float"
            raise InputError(f"{what} applies to int8 only; add --int8 (or drop {what})")
        if int8 and self.calib_count < 1:
            raise InputError(f"--calib-count {self.calib_count}: give at least 1 calibration image")
        if self.postproc_count is not None and self.postproc_count < 1:
            raise InputError(f"--postproc-count {self.postproc_count}: give at least 1 image/mask pair")
        if not (isinstance(self.max_dice_drop, (int, float)) and math.isfinite(self.max_dice_drop)):
            raise InputError(f"--max-dice-drop {self.max_dice_drop!r}: give a number of Dice points, e.g. 1.0")
        if self.min_agreement is not None and not 0.0 < self.min_agreement <= 1.0:
            raise InputError(f"--min-agreement {self.min_agreement}: give a per-image Dice in (0, 1], e.g. 0.985")
        if self.out is not None:
            out = Path(self.out)
            if out.suffix.lower() != ".tflite" and out.suffix and not out.is_dir():
                raise InputError(f"--out {out}: give a .tflite file name or a folder")
        for what, python in (("onnx_python", self.onnx_python), ("mediapipe_python", self.mediapipe_python)):
            if python is not None and not Path(python).is_file():
                raise InputError(f"{what} {python}: no such file; give a Python interpreter (e.g. .venv-mp/bin/python)")
        if "onnx" in self.names and self.onnx_opset < 7:
            raise InputError(f"ONNX opset {self.onnx_opset}: tf2onnx needs 7 or newer (default 17)")
        return self
