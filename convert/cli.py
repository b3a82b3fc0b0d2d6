"""``munet-convert``: Keras MU-Net -> TFLite (float32 / fp16 / dynamic / int8) with an accuracy gate."""

from __future__ import annotations

import logging
import sys

import click

from munet.errors import cli_errors, require_tensorflow

FP16_HELP = "float16 weights: half the file, but runs at float32 speed on CPUs (weights are expanded at load time)."


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model", type=click.Path())
@click.option(
    "--int8",
    "modes",
    flag_value="int8",
    multiple=True,
    help="Full-integer int8 (needs --calib-data): ~4x smaller, fastest on CPUs, NPUs and Edge TPU.",
)
@click.option("--fp16", "modes", flag_value="fp16", multiple=True, help=FP16_HELP)
@click.option(
    "--dynamic",
    "modes",
    flag_value="dynamic",
    multiple=True,
    help="Dynamic-range: int8 weights, float activations (loads in tflite-runtime 2.14 too).",
)
@click.option("--float32", "modes", flag_value="float32", multiple=True, help="Plain float32.")
@click.option("--all", "all_modes", is_flag=True, help="All four modes (files named <out>_<mode>.tflite).")
@click.option(
    "--calib-data",
    type=click.Path(),
    help="Folder of training-distribution images (or images/+masks/); default for a run folder: its training data.",
)
@click.option("--calib-count", type=int, default=200, show_default=True, help="Calibration images to use.")
@click.option(
    "--io",
    "io",
    type=click.Choice(["int8", "uint8", "float32"]),
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
@click.option(
    "--mediapipe",
    is_flag=True,
    help="Also write <model>_mediapipe.tflite for MediaPipe Tasks' ImageSegmenter (Android/iOS/web); "
    "int8 then defaults to --io uint8. Needs mediapipe importable or MUNET_MEDIAPIPE_PYTHON.",
)
@click.option(
    "--onnx",
    is_flag=True,
    help='Also export float32 to <stem>.onnx with tf2onnx (adds --float32; pip install "munet[onnx]").',
)
@click.option(
    "--calibrate-postproc",
    is_flag=True,
    help="Run each converted model on TRAINING image/mask pairs of --calib-data and store the min_area (fraction "
    "of the image area under which mask components are dropped) that maximises their mean Dice in the metadata.",
)
@click.option(
    "--postproc-count",
    type=click.IntRange(min=1),
    default=400,
    show_default=True,
    help="--calibrate-postproc: image/mask pairs to use (spread evenly over the folder).",
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
    from munet.convert.api import MODES, convert_all
    from munet.progress import Stages

    chosen = list(MODES) if all_modes else list(dict.fromkeys(modes)) or ["int8"]
    onnx_py = None
    if onnx:
        from munet.convert.onnx import require_onnx

        onnx_py = require_onnx()  # before any conversion: a missing tf2onnx is a one-line error, exit 2
        chosen += [] if "float32" in chosen else ["float32"]
    mp_python = None
    if mediapipe:
        from munet.convert.mediapipe import check_available
        from munet.errors import MunetError

        mp_python = check_available()
        if "int8" in chosen and io == "int8":
            if click.get_current_context().get_parameter_source("io") == click.core.ParameterSource.COMMANDLINE:
                raise MunetError("--mediapipe: MediaPipe's ImageSegmenter takes uint8 or float32 input; use --io uint8")
            io = "uint8"
            click.echo("note: --mediapipe converts int8 with --io uint8 (MediaPipe takes uint8 or float32 input)")
    if not modes and not all_modes:
        click.echo("mode: int8 (default; --float32, --fp16, --dynamic or --all for others)")
    if ("int8" in chosen or calibrate_postproc) and calib_data is None:
        from munet.convert.api import run_calibration_data

        calib_data, note = run_calibration_data(model)
        click.echo(note)
    with Stages(len(chosen), "convert", quiet=quiet) as progress:
        results = convert_all(
            model,
            chosen,
            out=out,
            calib_data=calib_data,
            calib_count=calib_count,
            io=io,
            val_data=val_data,
            max_dice_drop=max_dice_drop,
            keep_float=list(keep_float) or None,
            auto_keep_float=auto_keep_float,
            gate=not no_gate,
            echo=click.echo,
            progress=progress,
            calibrate_postproc=calibrate_postproc,
            postproc_count=postproc_count,
            min_agreement=min_agreement,
        )
    failed = [r for r in results if r.gate is not None and not r.gate.passed]
    if onnx_py is not None:
        from munet.convert.onnx import export_onnx

        for r in results:
            if r.mode == "float32":
                click.echo(f"ONNX model: {export_onnx(r.path, r.path.with_suffix('.onnx'), onnx_py)}")
    if mp_python is not None:
        from munet.convert.mediapipe import add_mediapipe_metadata

        for r in results:
            click.echo(f"MediaPipe ImageSegmenter model: {add_mediapipe_metadata(r.path, python=mp_python)}")
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
    mp_python = None
    if mediapipe:
        from munet.convert.mediapipe import check_available

        mp_python = check_available()
    from munet.convert.requantize import requantize_io_file

    path = requantize_io_file(model, out, io)
    click.echo(f"uint8 I/O model: {path}")
    if mp_python is not None:
        from munet.convert.mediapipe import add_mediapipe_metadata

        click.echo(f"MediaPipe ImageSegmenter model: {add_mediapipe_metadata(path, python=mp_python)}")


if __name__ == "__main__":
    main()
