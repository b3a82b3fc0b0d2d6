"""``munet-convert``: Keras MU-Net -> TFLite (float32 / fp16 / dynamic / int8) with an accuracy gate.

Parses the flags into :class:`munet.convert.options.ConvertOptions` and calls :func:`munet.convert.api.convert_all`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import click

from munet.convert.options import BY_NAME, FORMATS, IO_TYPES, MODES, ConvertOptions
from munet.errors import cli_errors, require_tensorflow

#: The mode flags in --help, most used first (the formats table, munet.convert.options, holds their help).
FLAG_ORDER = ("int8", "fp16", "dynamic", "float32")


def _mode_flags(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--int8 --fp16 --dynamic --float32`` (collected, in the order given, into ``modes``) and ``--all``."""
    func = click.option("--all", "all_modes", is_flag=True, help="All four modes (files named <out>_<mode>.tflite).")(
        func
    )
    for name in reversed(FLAG_ORDER):
        func = click.option(BY_NAME[name].flag, "modes", flag_value=name, multiple=True, help=BY_NAME[name].help)(func)
    return func


def _derived_flags(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--mediapipe`` and ``--onnx``: formats derived from the TFLite files (one boolean each)."""
    for fmt in [f for f in FORMATS if not f.tflite]:  # the last one applied is listed first
        func = click.option(fmt.flag, is_flag=True, help=fmt.help)(func)
    return func


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model", type=click.Path())
@_mode_flags
@click.option(
    "--calib-data",
    type=click.Path(),
    help="Folder of training-distribution images (or images/+masks/); default for a run folder: its training data.",
)
@click.option("--calib-count", type=int, default=200, show_default=True, help="Calibration images to use.")
@click.option(
    "--io",
    "io",
    type=click.Choice(list(IO_TYPES)),
    default="int8",
    show_default=True,
    help="int8 model input/output type (uint8 for camera pipelines). With an existing full-int8 MODEL.tflite: "
    "rewrite its int8 I/O to uint8 losslessly (no Keras needed; writes <stem>_uint8.tflite or --out).",
)
@click.option(
    "--val-data",
    type=click.Path(),
    help="Gate data (images/ + masks/ or images); default: every 5th calibration image, held back.",
)
@click.option(
    "--max-dice-drop",
    type=float,
    default=1.0,
    show_default=True,
    help="Fail when TFLite Dice vs truth drops more than this many points below float.",
)
@click.option(
    "--min-agreement",
    type=float,
    default=None,
    help="Also fail when the masks agree with the float masks below this per-image Dice (e.g. 0.985).",
)
@click.option("--keep-float", multiple=True, help="Layer (Keras name) or op type (TRANSPOSE_CONV) kept in float.")
@click.option("--auto-keep-float", is_flag=True, help="When the int8 gate fails, keep the worst layers in float.")
@click.option("--no-gate", is_flag=True, help="Skip the accuracy gate.")
@click.option("--out", type=click.Path(), help="Output .tflite (several modes: <stem>_<mode>.tflite) or folder.")
@_derived_flags
@click.option(
    "--calibrate-postproc",
    is_flag=True,
    help="Run each converted model on TRAINING image/mask pairs of --calib-data and store the min_area (fraction "
    "of the image area under which mask components are dropped) that maximises their mean Dice in the metadata.",
)
@click.option(
    "--calibrate-threshold",
    is_flag=True,
    help="Pick the mask threshold that maximises the float model's mean per-image Dice on TRAINING image/mask pairs "
    "of --calib-data and fold it into the mask head's bias: every runtime's 0.5 (munet-run, MediaPipe, the "
    "browser) is then that threshold.",
)
@click.option(
    "--postproc-count",
    type=click.IntRange(min=1),
    default=400,
    show_default=True,
    help="--calibrate-postproc/--calibrate-threshold: image/mask pairs to use (spread evenly over the folder).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress (bar on a terminal, else one line per stage).")
@cli_errors
def main(
    model: str,
    modes: tuple[str, ...],
    all_modes: bool,
    calib_data: str | None,
    calib_count: int,
    io: str,
    val_data: str | None,
    max_dice_drop: float,
    min_agreement: float | None,
    keep_float: tuple[str, ...],
    auto_keep_float: bool,
    no_gate: bool,
    out: str | None,
    mediapipe: bool,
    onnx: bool,
    calibrate_postproc: bool,
    calibrate_threshold: bool,
    postproc_count: int,
    quiet: bool,
) -> None:
    """Convert MODEL (a .keras file or a munet-train run folder) to TFLite and check its accuracy.

    Without a mode flag it builds --int8; for a run folder --calib-data defaults to the run's training data.
    MODEL.tflite (a full-int8 model with int8 I/O) with --io uint8: rewrite its input and output to uint8, masks
    unchanged (e.g. for MediaPipe, with --mediapipe); only --out, --mediapipe and --quiet apply then.
    Exit status: 0 when every gate passes, 1 when a gate fails, 2 for bad input.
    """
    require_tensorflow()
    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s")
    if model.endswith(".tflite"):
        _rewrite_io(model, io, out, mediapipe)
        return
    from munet.convert.api import convert_all
    from munet.progress import Stages

    io_given = click.get_current_context().get_parameter_source("io") == click.core.ParameterSource.COMMANDLINE
    derived = [name for name, on in (("onnx", onnx), ("mediapipe", mediapipe)) if on]
    options = ConvertOptions(
        formats=[*(MODES if all_modes else modes), *derived],
        out=out,
        calib_data=calib_data,
        calib_count=calib_count,
        io=io if io_given else None,  # None: int8, or uint8 with --mediapipe
        val_data=val_data,
        max_dice_drop=max_dice_drop,
        min_agreement=min_agreement,
        keep_float=keep_float,
        auto_keep_float=auto_keep_float,
        gate=not no_gate,
        calibrate_postproc=calibrate_postproc,
        calibrate_threshold=calibrate_threshold,
        postproc_count=postproc_count,
    ).validate()
    with Stages(len(options.modes), "convert", quiet=quiet) as progress:
        results = convert_all(model, options, echo=click.echo, progress=progress)
    failed = [r for r in results if r.gate is not None and not r.gate.passed]
    if failed:
        for r in failed:
            msg = f"error: accuracy gate failed for {r.path} ({r.mode})"
            if r.gate.reasons:
                msg += f": {r.gate.reasons[0]}"
            click.echo(msg, err=True)
        sys.exit(1)


def _rewrite_io(model: str, io: str, out: str | None, mediapipe: bool) -> None:
    """``munet-convert MODEL.tflite --io uint8 [--out OUT] [--mediapipe]``: the I/O rewrite of an existing model."""
    from munet.errors import InputError

    ctx = click.get_current_context()
    allowed = {"model", "io", "out", "mediapipe", "quiet"}
    given = [
        "/".join(o for p in ctx.command.params if p.name == name for o in p.opts if o.startswith("--"))
        for name in ctx.params
        if name not in allowed and ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
    ]
    if given:
        only = "a .tflite takes --io uint8, --out, --mediapipe"
        raise InputError(f"{model}: {', '.join(given)} apply to Keras models; {only}")
    if ctx.get_parameter_source("io") != click.core.ParameterSource.COMMANDLINE or io != "uint8":
        raise InputError(f"{model}: an existing .tflite is rewritten with --io uint8 (int8 I/O -> uint8 I/O)")
    from munet.convert.api import rewrite_io

    rewrite_io(model, out, mediapipe, echo=click.echo)


if __name__ == "__main__":
    main()
