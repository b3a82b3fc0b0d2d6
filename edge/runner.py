"""The ``munet-run`` loop as a Python API: source -> Segmenter -> outputs / preview -> summary."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2

from munet.atomic import WriteError
from munet.edge.outputs import OutputWriter, overlay
from munet.edge.preview import PreviewServer, Window, display_available
from munet.edge.runtime import Result, Segmenter
from munet.edge.sources import Frame, ImageSource, Source, VideoFileSource, open_source, redact
from munet.errors import InputError, MunetError
from munet.progress import Progress


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class RunFailed(MunetError):
    """Outputs could not be written, so the run stopped early; ``summary`` says what was done (and the
    message whether ``summary.json`` could still be written)."""

    def __init__(self, message: str, summary: RunSummary) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass
class RunSummary:
    """Totals of one run (also the head of ``summary.json``)."""

    model: str
    source: str
    source_kind: str
    backend: str
    threads: int
    processed: int = 0
    skipped: int = 0
    dropped: int = 0
    elapsed_s: float = 0.0
    fps: float = 0.0
    mean_pre_ms: float = 0.0
    mean_infer_ms: float = 0.0
    mean_post_ms: float = 0.0
    ended: str = ""
    out_dir: str | None = None
    preview_url: str | None = None
    skipped_names: list[str] = field(default_factory=list)
    tta: str = "none"
    passes: int = 1  # forward passes per frame (test-time flips)
    review_above: float | None = None
    review_names: list[str] = field(default_factory=list)  # inputs whose uncertainty > review_above
    min_area: float = 0.0  # post-processing used: components under this fraction of the image area dropped

    def tta_note(self) -> str:
        """`` (TTA flips: 4 passes/frame)`` after an FPS figure, empty without test-time flips."""
        return f" (TTA {self.tta}: {self.passes} passes/frame)" if self.passes > 1 else ""

    def review_line(self) -> str | None:
        """The ``--review-above`` list printed at the end of a run (``None`` without the option)."""
        if self.review_above is None:
            return None
        head = f"review (uncertainty > {self.review_above:g}): {len(self.review_names)} of {self.processed}"
        return head + (": " + ", ".join(self.review_names) if self.review_names else "")

    def line(self) -> str:
        """The one-paragraph summary printed at the end of a run."""
        text = (
            f"processed {self.processed} frame(s), skipped {self.skipped}, dropped {self.dropped} "
            f"in {self.elapsed_s:.1f} s: {self.fps:.1f} FPS{self.tta_note()}; mean pre {self.mean_pre_ms:.1f} ms, "
            f"infer {self.mean_infer_ms:.1f} ms, post {self.mean_post_ms:.1f} ms "
            f"({self.backend}, {self.threads} thread(s)); ended: {self.ended}"
        )
        if self.min_area > 0:
            text += f"; components under {self.min_area:g} of the image area dropped (--min-area)"
        if self.out_dir:
            text += f"; outputs in {self.out_dir}"
        return text


def _refuse_out_among_inputs(out: str | Path | None, src: Source) -> None:
    """Refuse (before anything is written) an ``--out`` folder that directly holds one of this run's input files or
    videos: ``<stem>_segmentation.png`` is the ISIC ground-truth name, so a mask could replace a user's file, and a
    rerun would read its own outputs. Outputs go straight into ``--out`` and a folder SOURCE is read without its
    subfolders, so this is exactly the case where an input could be overwritten: ``--out imgs/masks`` for SOURCE
    ``imgs`` is allowed, while a glob reaching into it (``'imgs/*/*.png'``) makes it an input folder, refused.
    Folders are compared after resolving links, and by device and inode where both exist (bind mounts, a
    case-insensitive file system)."""
    if out is None:
        return
    inputs = getattr(src, "paths", None) or ([src.path] if isinstance(getattr(src, "path", None), Path) else [])
    target = Path(out).resolve()

    folders: dict[Path, Path] = {}  # each input folder, with its first input
    for p in inputs:
        folders.setdefault(Path(p).resolve().parent, Path(p))
    clash = next(
        (
            first
            for folder, first in folders.items()
            if folder == target or (target.is_dir() and folder.is_dir() and os.path.samefile(folder, target))
        ),
        None,
    )
    if clash is not None:
        raise InputError(
            f"--out {out}: this folder holds the inputs (e.g. {Path(clash).name}); masks named "
            "<stem>_segmentation.png could replace files there; choose another --out folder"
        )


@dataclass(frozen=True)
class RunOptions:
    """How :func:`run` segments a source and what it writes (``munet-run``'s options, validated once).

    ``tta`` (``none`` | ``hflip`` | ``flips``) averages flipped passes and writes ``<stem>_uncertainty.png`` and
    an ``uncertainty`` score per row; ``review_above`` lists (and marks ``review``) the frames scoring above it.
    ``min_area`` overrides the model's calibrated small-component removal (``None``: the metadata's; 0: off).
    ``verify=False`` skips the model's content digest check (:class:`~munet.edge.runtime.Segmenter`).
    ``progress`` shows a tqdm bar on stderr for file sources. ``show`` opens a window (without a display: the
    preview server, on ``preview_port`` or 8080); ``preview_port`` alone serves the MJPEG preview on ``host``.
    """

    out: str | Path | None = None
    threads: int | None = None
    backend: str = "auto"
    keep_largest: bool = False
    fill_holes: bool = False
    min_area: float | None = None
    overlays: bool = True
    max_frames: int | None = None
    show: bool = False
    preview_port: int | None = None
    host: str = "127.0.0.1"
    realtime: bool = False
    retries: int = 5
    backoff: float = 0.5
    tta: str = "none"
    review_above: float | None = None
    progress: bool = False
    verify: bool = True

    def validate(self) -> RunOptions:
        """One-line :class:`MunetError` for options that cannot go together."""
        if self.review_above is not None and self.tta == "none":
            raise MunetError("--review-above needs --tta hflip or flips (the score comes from the flipped passes)")
        return self


def run(
    model: str | Path,
    source: str | Source,
    options: RunOptions | None = None,
    *,
    stop: threading.Event | None = None,
    echo: Callable[[str], None] = _stderr,
    on_source: Callable[[Source], None] | None = None,
    on_frame: Callable[[int, Result], None] | None = None,
) -> RunSummary:
    """Segment every frame of ``source`` (a SOURCE string for :func:`munet.edge.sources.open_source`, or an
    open :class:`~munet.edge.sources.Source`) with ``options`` (:class:`RunOptions`) and summarise;
    ``on_frame(n, result)`` is called per frame.

    Setting ``stop`` (e.g. from a SIGINT handler) ends the run after the current frame, with its summary.
    When an output cannot be written (disk full, ...) the run stops, writes what it can of the summary and raises
    :class:`RunFailed` (one line, with ``summary``).
    """
    o = (options or RunOptions()).validate()
    out, preview_port = o.out, o.preview_port
    stop = stop or threading.Event()
    seg = Segmenter(
        model,
        threads=o.threads,
        backend=o.backend,
        keep_largest=o.keep_largest,
        fill_holes=o.fill_holes,
        tta=o.tta,
        min_area=o.min_area,
        verify=o.verify,
    )
    src = (
        source
        if isinstance(source, Source)
        else open_source(source, realtime=o.realtime, retries=o.retries, backoff=o.backoff)
    )
    if on_source is not None:
        on_source(src)
    summary = RunSummary(str(model), redact(src.label or str(source)), src.kind, seg.backend_name, seg.threads)
    summary.tta, summary.passes, summary.review_above = seg.tta, seg.passes, o.review_above
    summary.min_area = seg.min_area
    try:
        _refuse_out_among_inputs(out, src)
        writer = OutputWriter(out, overlays=o.overlays, review_above=o.review_above)
    except (WriteError, InputError):
        src.close()
        raise
    summary.out_dir = str(out) if out is not None else None
    viewer: PreviewServer | Window | None = None
    if o.show:
        ok, why = display_available()
        if ok:
            viewer = Window(f"MU-Net Edge: {Path(model).name}")
        else:
            preview_port = 8080 if preview_port is None else preview_port
            echo(f"--show: {why}; serving the preview instead")
    if viewer is None and preview_port is not None:
        viewer = PreviewServer(preview_port, o.host, title=f"{Path(model).name} on {summary.source}")
        summary.preview_url = viewer.url
        echo(f"preview: {viewer.url} (MJPEG at {viewer.stream_url})")
        if viewer.warning:
            echo(viewer.warning)
    sums = {"pre_ms": 0.0, "infer_ms": 0.0, "post_ms": 0.0}
    t_start = time.perf_counter()
    t_report = t_start
    ended = ""
    failure: WriteError | None = None
    bar = Progress(_known_length(src), enabled=o.progress and not src.live, desc=Path(summary.source).name)
    echo = bar.wrap(echo)
    try:
        for frame in bar.iterate(_stoppable(src, stop)):
            if frame.image is None:
                summary.skipped += 1
                summary.skipped_names.append(frame.name)
                writer.skip(frame.name, frame.error or "unreadable", source=frame.source)
                echo(f"skipped: {frame.error}")
                continue
            result = seg.segment(frame.image)
            row = writer.write(frame.name, frame.image, result, seg.info.threshold, source=frame.source)
            for key in sums:
                sums[key] += result.timings[key]
            summary.processed += 1
            if o.review_above is not None and result.uncertainty is not None and result.uncertainty > o.review_above:
                summary.review_names.append(row["name"])
            if on_frame is not None:
                on_frame(summary.processed, result)
            now = time.perf_counter()
            if viewer is not None:
                fps = summary.processed / max(now - t_start, 1e-9)
                view = overlay(frame.image, result.mask)
                label = f"{fps:.1f} FPS" + (f" (TTA x{seg.passes})" if seg.passes > 1 else "")
                cv2.putText(view, label, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
                if viewer.publish(view) is False:
                    ended = "window closed"
                    break
            if src.live and now - t_report >= 2.0:
                t_report = now
                fps = summary.processed / max(now - t_start, 1e-9)
                echo(f"{summary.processed} frames, {fps:.1f} FPS{summary.tta_note()}, dropped {src.dropped}")
            if o.max_frames is not None and summary.processed >= o.max_frames:
                ended = f"--max-frames {o.max_frames} reached"
                break
        if not ended:
            ended = "interrupted (SIGINT)" if stop.is_set() else src.reason
    except WriteError as exc:  # the error boundary: stop, keep what was written, still write the summary
        failure = exc
        ended = f"write failed: {exc}"
    finally:
        bar.close()
        summary.elapsed_s = time.perf_counter() - t_start
        src.close()
        if viewer is not None:
            viewer.close()
    n = max(summary.processed, 1)
    summary.dropped = src.dropped
    summary.ended = ended
    summary.fps = summary.processed / summary.elapsed_s if summary.elapsed_s > 0 else 0.0
    summary.mean_pre_ms, summary.mean_infer_ms, summary.mean_post_ms = (sums[k] / n for k in sums)
    totals = {k: v for k, v in asdict(summary).items() if k not in ("skipped_names", "review_names")}
    if failure is None:
        writer.finish(totals)
        return summary
    try:
        writer.finish(totals)
        note = f"stopped after {summary.processed} input(s), summary in {writer.out_dir / 'summary.json'}"
    except WriteError as exc:
        why = f"{exc.path}: same cause" if exc.errno == failure.errno and exc.path else str(exc)
        note = f"stopped after {summary.processed} input(s); the summary could not be written either ({why})"
    raise RunFailed(f"{failure}; {note}", summary)


def _known_length(src: Source) -> int | None:
    """How many frames a file source will yield (a video's count as its container announces it)."""
    if isinstance(src, ImageSource):
        return len(src.paths)
    if isinstance(src, VideoFileSource):
        return (int(src.cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) or None) if src.cap is not None else 0
    return None


def _stoppable(src: Source, stop: threading.Event) -> Iterator[Frame]:
    """Iterate ``src`` until it ends or ``stop`` is set (live sources are interrupted promptly)."""
    it = iter(src)
    if src.live:
        src.stop_event = stop
    while not stop.is_set():
        try:
            frame = next(it)
        except StopIteration:
            return
        if stop.is_set():
            return
        yield frame
