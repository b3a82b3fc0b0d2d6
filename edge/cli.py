"""``munet-run MODEL SOURCE``: segment images, folders, globs, videos, cameras or streams on the edge."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from munet.atomic import write_json
from munet.edge.bundled import list_models
from munet.edge.runner import RunFailed, RunOptions, run
from munet.edge.runtime import BACKEND_CHOICES
from munet.edge.sources import ImageSource, classify
from munet.edge.tta import TTA_CHOICES
from munet.errors import MunetError, cli_errors


def _list_models(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--list-models``: print the bundled models and exit (eager: MODEL and SOURCE are not needed)."""
    if not value or ctx.resilient_parsing:
        return
    try:
        for listing in list_models():
            for line in listing.lines():
                click.echo(line)
    except MunetError as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(2)
    ctx.exit(0)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model")
@click.argument("source", required=False)
@click.option(
    "--list-models",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_list_models,
    help="List the bundled models (name, size, input size, quantization, data licence) and exit.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Output folder (masks, overlays, summary.csv/json). Default: munet-out for files, none for live. "
    "A folder that holds an input file is refused (a subfolder of an input folder is fine).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Interpreter threads (default: number of cores; keep it <= free cores).",
)
@click.option(
    "--backend",
    type=click.Choice(BACKEND_CHOICES),
    default="auto",
    show_default=True,
    help="TFLite interpreter: LiteRT, tflite-runtime or tensorflow.lite.",
)
@click.option("--show", is_flag=True, help="Show a window (needs a display); else falls back to the preview server.")
@click.option(
    "--preview",
    "preview_port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve a live MJPEG preview on this port (0: any free port).",
)
@click.option(
    "--web",
    "web_port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Instead of a SOURCE: serve a page on this port that runs MODEL in the browser (MediaPipe Tasks; "
    "camera or photo; needs `make web` and a MediaPipe model: munet-convert --mediapipe).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Preview / --web address; 0.0.0.0 opens it to the LAN (no authentication).",
)
@click.option("--max-frames", type=click.IntRange(min=1), default=None, help="Stop after this many frames.")
@click.option("--keep-largest", is_flag=True, help="Keep only the largest lesion component.")
@click.option("--fill-holes", is_flag=True, help="Fill holes inside the lesion mask.")
@click.option(
    "--min-area",
    type=click.FloatRange(0.0, 1.0, max_open=True),
    default=None,
    help="Drop mask components under this fraction of the image area (an image left with none: empty mask). "
    "Default: the model's calibrated value (munet-convert --calibrate-postproc), else 0 = off.",
)
@click.option("--no-overlay", is_flag=True, help="Do not write overlay PNGs.")
@click.option(
    "--realtime",
    is_flag=True,
    help="Read a video file at its frame rate like a camera (newest frame only; drops counted).",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Reconnection attempts (exponential back-off) when a camera or stream stops.",
)
@click.option(
    "--backoff",
    type=click.FloatRange(min=0.0),
    default=0.5,
    show_default=True,
    help="First reconnection delay in seconds (doubles each attempt, capped at 8 s).",
)
@click.option(
    "--tta",
    type=click.Choice(TTA_CHOICES),
    default="none",
    show_default=True,
    help="Test-time flips: average hflip (2 passes) or all 4 flips; writes <stem>_uncertainty.png and a score.",
)
@click.option(
    "--review-above",
    type=click.FloatRange(min=0.0),
    default=None,
    help="With --tta: list (and mark review=true) the inputs whose uncertainty score exceeds this.",
)
@click.option(
    "--no-verify",
    is_flag=True,
    help="Skip the model's content digest check (a file changed since conversion is refused without it).",
)
@click.option(
    "--time",
    "time_runs",
    type=click.IntRange(min=1),
    is_flag=False,
    flag_value=50,
    default=None,
    help="Instead of segmenting: time MODEL on this device (pre, inference, post, end to end; median / p90 of "
    "RUNS, default 50) on SOURCE's first 4 images or noise frames, naming the CPU, its int8 instructions and the "
    "load (with --tta: the flipped passes too); --out DIR also writes DIR/timing.json.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar (shown only when stderr is a terminal).")
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@cli_errors
def main(
    model: str,
    source: str | None,
    out: str | None,
    threads: int | None,
    backend: str,
    show: bool,
    preview_port: int | None,
    web_port: int | None,
    host: str,
    max_frames: int | None,
    keep_largest: bool,
    fill_holes: bool,
    min_area: float | None,
    no_overlay: bool,
    realtime: bool,
    retries: int,
    backoff: float,
    tta: str,
    review_above: float | None,
    no_verify: bool,
    time_runs: int | None,
    quiet: bool,
    verbose: bool,
) -> None:
    """Segment SOURCE with the .tflite MODEL (no TensorFlow needed).

    MODEL: a .tflite file or the name of a bundled model (skin, brain: see --list-models); a file wins.

    SOURCE: an image, a folder, a glob ('imgs/*.jpg'), a video file, a camera index (0 = /dev/video0),
    a stream URL (rtsp://, http://...) or picamera2[:N] (Raspberry Pi camera). With --web PORT, no SOURCE:
    the page at http://HOST:PORT/ runs MODEL in the browser on the camera or a photo (see the README).
    Per input: <stem>_segmentation.png (0/255, original size), <stem>_overlay.png, a summary row;
    with --tta also <stem>_uncertainty.png and an uncertainty score (the frame rate drops by the pass count).
    Inputs sharing a stem (scan.jpg, scan.png) get unique names: scan, then scan.png, then scan-2, ...
    Exit status: 0 all inputs done; 1 no input could be read; 2 bad arguments, model or a failed write (one
    line); 3 finished, but some inputs were skipped or a video file was cut short (fewer frames than its
    container announces, or a container part running past the end of the file; also with --realtime);
    130 Ctrl-C (the summary is still written).
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    if web_port is not None:
        if source is not None:
            raise click.UsageError("--web serves a page whose camera or photo is the input: drop SOURCE")
        _serve_web(model, web_port, host)
        return
    if time_runs is not None:
        _time(model, source, threads, backend, time_runs, out, tta)
        return
    if source is None:
        raise click.UsageError("Missing argument 'SOURCE' (or --web PORT to run MODEL in a browser).")
    if show and preview_port is not None:
        raise click.UsageError("use either --show or --preview PORT")
    kind = classify(source)
    if out is None and (kind in ("images", "video") and not realtime):
        out = "munet-out"
    options = RunOptions(
        out=out,
        threads=threads,
        backend=backend,
        keep_largest=keep_largest,
        fill_holes=fill_holes,
        min_area=min_area,
        overlays=not no_overlay,
        max_frames=max_frames,
        show=show,
        preview_port=preview_port,
        host=host,
        realtime=realtime,
        retries=retries,
        backoff=backoff,
        tta=tta,
        review_above=review_above,
        progress=not quiet and sys.stderr.isatty(),
        verify=not no_verify,
    ).validate()
    stop = threading.Event()

    def on_sigint(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        print("interrupted: finishing the current frame (Ctrl-C again to abort)", file=sys.stderr, flush=True)
        stop.set()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        summary = _run_or_report(stop, model, source, options)
    finally:
        signal.signal(signal.SIGINT, previous)
    click.echo(summary.line())
    if summary.review_line():
        click.echo(summary.review_line())
    if stop.is_set():
        sys.exit(130)  # like munet-train: interrupted, with the summary written
    if summary.processed == 0 and summary.skipped > 0:
        sys.exit(1)
    if summary.skipped > 0 or summary.ended.startswith("truncated"):
        problem = f"{summary.skipped} input(s) skipped" if summary.skipped else f"{summary.source}: {summary.ended}"
        click.echo(f"finished with problems ({problem}): exit status 3", err=True)
        sys.exit(3)  # a batch script must not mistake a partial run for a complete one


def _time(
    model: str, source: str | None, threads: int | None, backend: str, runs: int, out: str | None, tta: str
) -> None:
    """``--time RUNS``: time MODEL on this device and print the report (and write OUT/timing.json)."""
    from munet.edge.timing import time_model

    images = None
    if source is not None:
        if (kind := classify(source)) != "images":
            raise click.UsageError(f"--time reads image files: {source} is a {kind} (drop SOURCE to time on noise)")
        images = [str(p) for p in ImageSource(source).paths[:4]]
    timing = time_model(model, threads=threads, runs=runs, images=images, backend=backend, tta=tta)
    for line in timing.lines():
        click.echo(line)
    if out is not None:
        click.echo(f"wrote {write_json(Path(out) / 'timing.json', timing.to_dict())}")


def _serve_web(model: str, port: int, host: str) -> None:
    """``--web PORT``: serve the in-browser page until Ctrl-C (exit 0)."""
    from munet.edge.browser import serve

    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    try:
        serve(model, port, host, stop, echo=lambda line: click.echo(line, err=line.startswith("note:")))
    finally:
        signal.signal(signal.SIGINT, previous)
    click.echo("stopped")


def _run_or_report(stop: threading.Event, model: str, source: str, options: RunOptions) -> Any:
    """:func:`run`; on a failed write print the summary line first (the error line follows, exit 2);
    a second Ctrl-C aborts with exit 130."""
    try:
        return run(model, source, options, stop=stop)
    except RunFailed as exc:
        click.echo(exc.summary.line())
        raise
    except KeyboardInterrupt:
        click.echo("interrupted again: aborted without writing the summary", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
