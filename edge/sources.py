"""Frame sources for ``munet-run``: image files, folders, globs, video files, cameras and streams.

File sources yield every frame in order. Live sources (a V4L2 camera index, a stream URL, a Raspberry
Pi camera through picamera2, or a video file with ``realtime=True``) are read by a background thread
that keeps only the newest frame: the consumer always gets the latest one, the frames it never saw
are counted as dropped, and memory stays bounded (one frame). A camera that stops delivering is
reopened with exponential back-off; when the retries are used up the source ends cleanly.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from munet.errors import InputError, MunetError
from munet.imageio import IMAGE_SUFFIXES, list_images, load_image, to_rgb_uint8

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".mjpg", ".mjpeg", ".h264")
URL_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "udp://", "tcp://", "rtmp://")
PICAMERA_NAMES = ("picamera", "picamera2")


@dataclass
class Frame:
    """One input: ``image`` is RGB uint8, or ``None`` with ``error`` set when it could not be read."""

    name: str
    index: int
    image: np.ndarray | None = None
    error: str | None = None
    source: str = ""  # the file it came from (a video's path; a live source's redacted label)


class Source:
    """Iterable of :class:`Frame`; ``live`` sources also report ``dropped`` frames and an end ``reason``."""

    kind = "source"
    live = False

    label = ""

    @property
    def dropped(self) -> int:
        """Frames captured but never processed (always 0 for file sources)."""
        return 0

    @property
    def reason(self) -> str:
        """Why the source ended."""
        return "end of input"

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file."""

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ImageSource(Source):
    """Image files (one file, a folder or a glob), in sorted order; unreadable files come back with ``error``."""

    kind = "images"

    def __init__(self, spec: str) -> None:
        self.label = str(spec)
        self.paths = list_images(spec)

    def __iter__(self) -> Iterator[Frame]:
        for i, path in enumerate(self.paths):
            try:
                yield Frame(path.stem, i, load_image(path), source=str(path))
            except MunetError as exc:
                yield Frame(path.stem, i, None, str(exc), source=str(path))


_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s]*@")
_SECRET_PARAMS = "password|passwd|pwd|pass|token|access_token|api_key|apikey|key|secret|auth|sig|signature"
_URL_SECRET_PARAM = re.compile(rf"(?i)([?&;](?:{_SECRET_PARAMS})=)[^&#;\s]*")


def redact(text: str) -> str:
    """``text`` with URL credentials hidden: ``rtsp://user:pass@cam/x?token=t`` -> ``rtsp://***@cam/x?token=***``.

    Used wherever a SOURCE is shown or stored (console, preview page, summary files).
    """
    return _URL_SECRET_PARAM.sub(r"\1***", _URL_USERINFO.sub(r"\1***@", str(text)))


def _open_capture(target: int | str) -> cv2.VideoCapture:
    if isinstance(target, int):
        cap = cv2.VideoCapture(target, cv2.CAP_V4L2)
        if not cap.isOpened():
            cap.release()
            cap = cv2.VideoCapture(target)
    else:
        cap = cv2.VideoCapture(target)
    return cap


class VideoFileSource(Source):
    """Every frame of a video file, in order (no dropping): offline analysis."""

    kind = "video"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.label = str(path)
        self.cap: cv2.VideoCapture | None = _open_capture(str(self.path))
        if not self.cap.isOpened():
            self.cap.release()
            self.cap = None
            cut = container_cut_short(self.path)
            if cut is None:
                raise InputError(f"{self.path}: OpenCV cannot open this video (corrupt or unsupported codec)")
            # An MP4 cut before its index ('moov' box, written last) has no readable frame: a truncated input
            # (exit status 3, like any cut-short video), not a bad argument.
            self._reason = f"truncated input: no frame readable ({cut})"
            log.warning("%s: %s", self.path, self._reason)

    _reason = "end of input"

    @property
    def reason(self) -> str:
        return self._reason

    def __iter__(self) -> Iterator[Frame]:
        if self.cap is None:  # cut short before its index: nothing can be read (see __init__)
            return
        announced = int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        i = 0
        while True:
            ok, bgr = self.cap.read()
            if not ok or bgr is None:
                break
            yield Frame(f"{self.path.stem}_{i:06d}", i, to_rgb_uint8(bgr), source=self.label)
            i += 1
        note = truncation_note(self.path, i, announced)
        if note:
            self._reason = note
            log.warning("%s: %s", self.path, note)

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()


def container_cut_short(path: Path) -> str | None:
    """Why the video file ``path`` is shorter than its container says, or ``None`` (not cut, or not checked).

    Checks the sizes that AVI (RIFF chunks) and MP4/MOV (ISO boxes) declare at the front of each top-level
    part against the file's size: a copy or recording cut short (``head -c``, a full disk, a pulled card) leaves
    a last part that runs past the end. Other containers return ``None`` (their frame count is checked instead).
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(12)
            if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"AVI ":
                return _walk_parts(f, size, little_endian=True)
            if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide"):
                return _walk_parts(f, size, little_endian=False)
    except OSError:
        return None
    return None


def _walk_parts(f: Any, size: int, little_endian: bool) -> str | None:
    """Walk the top-level RIFF chunks (``little_endian``) or ISO boxes of ``f``; say where one runs past the end."""
    pos, seen = 0, []
    while pos + 8 <= size:
        f.seek(pos)
        head = f.read(16)
        if little_endian:  # RIFF: 'RIFF' / 'AVIX' list, then its size (without the 8-byte header)
            kind, length = head[:4], int.from_bytes(head[4:8], "little") + 8
        else:  # ISO box: 32-bit size including the header, its type; size 1: 64-bit size follows; 0: to the end
            length, kind = int.from_bytes(head[:4], "big"), head[4:8]
            if length == 1 and len(head) >= 16:
                length = int.from_bytes(head[8:16], "big")
            elif length == 0:
                length = size - pos
            if length < 8:
                return None  # not a box structure we understand: no verdict
        name = kind.decode("latin-1")
        seen.append(name)
        if pos + length > size:
            return f"its '{name}' part needs {pos + length} bytes, the file ends after {size}: it is cut short"
        pos += length + (length & 1 if little_endian else 0)  # RIFF chunks are padded to even sizes
    if not little_endian and "mdat" in seen and "moov" not in seen:
        return "it has frames ('mdat') but no index ('moov', written last): it is cut short"
    return None


def truncation_note(path: Path, read: int, announced: int) -> str | None:
    """The ``ended`` reason of a video that yielded ``read`` frames of the ``announced`` (container) count, when the
    file ended early: fewer frames than announced, or, where the container announces no count, a container part
    running past the end of the file. Every announced frame read: complete, whatever a lost index says."""
    if 0 < announced <= read:
        return None
    cut = container_cut_short(path)
    if announced > read:
        return (
            f"truncated input: read {read} of the {announced} frames the container announces "
            f"({cut or 'the file is cut short or damaged'})"
        )
    if cut:
        return f"truncated input: read {read} frame(s) ({cut})"
    return None


class LatestFrameReader:
    """Background reader that keeps only the newest frame.

    ``read()`` is called in a thread; it returns a BGR/RGB frame or ``None`` on failure. On failure
    ``reopen()`` (if given) is retried with delays ``backoff, 2*backoff, ...`` capped at ``max_backoff``,
    ``retries`` times in a row; after that (or when ``reopen`` is ``None``) the reader stops. ``pace``
    (seconds) throttles reading to a frame rate, for video files standing in for a camera.
    """

    def __init__(
        self,
        read: Callable[[], np.ndarray | None],
        reopen: Callable[[], bool] | None = None,
        retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        pace: float = 0.0,
    ) -> None:
        self._read, self._reopen = read, reopen
        self.retries, self.backoff, self.max_backoff, self.pace = retries, backoff, max_backoff, pace
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._seq = 0
        self._taken = 0
        self.captured = 0
        self.dropped = 0
        self.reconnects = 0
        self.reason = ""
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, name="munet-frame-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        failures = 0
        next_time = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    frame = self._read()
                except Exception as exc:  # a driver error is a failed read, not a crash
                    log.debug("read failed: %s", exc)
                    frame = None
                if frame is None:
                    if self._reopen is None:
                        self.reason = "end of input"
                        return
                    failures += 1
                    if failures > self.retries:
                        self.reason = f"source lost: no frame after {self.retries} reconnection attempts"
                        return
                    delay = min(self.backoff * 2 ** (failures - 1), self.max_backoff)
                    log.warning("no frame; reconnecting in %.1f s (attempt %d/%d)", delay, failures, self.retries)
                    if self._stop.wait(delay):
                        return
                    try:
                        if self._reopen():
                            self.reconnects += 1
                    except Exception as exc:
                        log.debug("reopen failed: %s", exc)
                    continue
                failures = 0
                with self._cond:
                    if self._seq > self._taken:
                        self.dropped += 1  # the previous frame was never consumed
                    self._frame = frame
                    self._seq += 1
                    self.captured += 1
                    self._cond.notify_all()
                if self.pace:
                    next_time += self.pace
                    wait = next_time - time.monotonic()
                    if wait > 0 and self._stop.wait(wait):
                        return
                    if wait < -1.0:
                        next_time = time.monotonic()
        finally:
            with self._cond:
                self._done = True
                if not self.reason:
                    self.reason = "stopped"
                self._cond.notify_all()

    def get(self, timeout: float | None = None) -> np.ndarray | None:
        """The newest frame not yet returned; ``None`` when the reader has finished (or on timeout)."""
        with self._cond:
            ok = self._cond.wait_for(lambda: self._seq > self._taken or self._done, timeout)
            if not ok or self._seq == self._taken:
                return None
            self._taken = self._seq
            frame, self._frame = self._frame, None
            return frame

    @property
    def finished(self) -> bool:
        return self._done

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)


class LiveSource(Source):
    """A camera, stream or paced video read by a :class:`LatestFrameReader`."""

    live = True

    def __init__(
        self,
        kind: str,
        label: str,
        read: Callable[[], np.ndarray | None],
        reopen: Callable[[], bool] | None,
        release: Callable[[], None],
        bgr: bool = True,
        pace: float = 0.0,
        retries: int = 5,
        backoff: float = 0.5,
    ) -> None:
        self.kind, self.label, self._release, self.bgr = kind, label, release, bgr
        self.reader = LatestFrameReader(read, reopen, retries=retries, backoff=backoff, pace=pace)
        self.stop_event: threading.Event | None = None  # set by the run loop: ends iteration promptly
        self.path: Path | None = None  # the file of a paced video (--realtime)
        self.announced = 0  # its container's frame count: fewer captured at the end of input means truncated
        self._truncated: str | None = None

    @property
    def dropped(self) -> int:
        return self.reader.dropped

    @property
    def reason(self) -> str:
        reason = self.reader.reason or "stopped"
        if reason != "end of input" or self.path is None:
            return reason
        if self._truncated is None:
            self._truncated = truncation_note(self.path, self.reader.captured, self.announced) or ""
            if self._truncated:
                log.warning("%s: %s", self.path, self._truncated)
        return self._truncated or reason

    def __iter__(self) -> Iterator[Frame]:
        i = 0
        while True:
            if self.stop_event is not None and self.stop_event.is_set():
                return
            frame = self.reader.get(timeout=0.25)
            if frame is None:
                if self.reader.finished:
                    return
                continue
            rgb = to_rgb_uint8(frame) if self.bgr else frame
            yield Frame(f"frame_{i:06d}", i, rgb, source=self.label)
            i += 1

    def close(self) -> None:
        self.reader.stop()
        self._release()


def _capture_source(kind: str, target: int | str, pace: float, retries: int, backoff: float) -> LiveSource:
    state: dict[str, Any] = {"cap": _open_capture(target)}
    if not state["cap"].isOpened():
        state["cap"].release()
        what = f"camera {target} (V4L2)" if isinstance(target, int) else redact(str(target))
        raise InputError(f"{what}: cannot open it; check the device/URL and that nothing else is using it")

    def read() -> np.ndarray | None:
        ok, frame = state["cap"].read()
        return frame if ok and frame is not None and frame.size else None

    def reopen() -> bool:
        state["cap"].release()
        state["cap"] = _open_capture(target)
        return bool(state["cap"].isOpened())

    def release() -> None:
        state["cap"].release()

    label = f"camera {target}" if isinstance(target, int) else redact(str(target))
    return LiveSource(
        kind, label, read, None if kind == "video" else reopen, release, pace=pace, retries=retries, backoff=backoff
    )


def _picamera_source(spec: str, retries: int, backoff: float) -> LiveSource:
    try:
        from picamera2 import Picamera2  # imported only when asked for
    except ImportError:
        raise InputError(
            f"{spec}: picamera2 is not installed; on Raspberry Pi OS run `sudo apt install python3-picamera2` and "
            "create the venv with `python3 -m venv --system-site-packages` (picamera2 needs NumPy 1.x)"
        ) from None
    index = int(spec.split(":", 1)[1]) if ":" in spec else 0
    cam = Picamera2(index)
    cam.configure(cam.create_preview_configuration(main={"format": "RGB888", "size": (640, 480)}))
    cam.start()

    def read() -> np.ndarray | None:
        return cam.capture_array("main")  # "RGB888" is B, G, R in memory

    def release() -> None:
        cam.stop()
        cam.close()

    return LiveSource("picamera2", f"picamera2 {index}", read, None, release, retries=retries, backoff=backoff)


def classify(spec: str) -> str:
    """``camera`` | ``stream`` | ``picamera2`` | ``video`` | ``images`` for a SOURCE argument."""
    text = str(spec).strip()
    if text.isdigit():
        return "camera"
    if text.lower().startswith(URL_SCHEMES):
        return "stream"
    if text.lower().split(":", 1)[0] in PICAMERA_NAMES:
        return "picamera2"
    if text.startswith("/dev/video"):
        return "camera"
    suffix = Path(text).suffix.lower()
    if suffix in VIDEO_SUFFIXES and suffix not in IMAGE_SUFFIXES:
        return "video"
    return "images"


def open_source(spec: str, realtime: bool = False, retries: int = 5, backoff: float = 0.5) -> Source:
    """Open SOURCE: an image, folder, glob, video file, camera index (V4L2), stream URL or ``picamera2[:N]``.

    ``realtime`` reads a video file at its own frame rate through the newest-frame reader, so it
    behaves like a camera (frames the model cannot keep up with are dropped and counted).
    """
    kind = classify(spec)
    if kind == "camera":
        target: int | str = int(spec) if spec.strip().isdigit() else spec
        return _capture_source("camera", target, 0.0, retries, backoff)
    if kind == "stream":
        return _capture_source("stream", spec, 0.0, retries, backoff)
    if kind == "picamera2":
        return _picamera_source(spec, retries, backoff)
    if kind == "video":
        if not Path(spec).is_file():
            raise InputError(f"{spec}: no such video file")
        if realtime:
            cap = cv2.VideoCapture(str(spec))
            opened = cap.isOpened()
            fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
            announced = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            cap.release()
            if not opened:  # the file reader's one-line error, or its report of a file cut before any frame
                return VideoFileSource(spec)
            pace = 1.0 / fps if 0 < fps < 1000 else 1.0 / 30
            src = _capture_source("video", str(spec), pace, retries, backoff)
            src.label, src.path, src.announced = str(spec), Path(spec), announced
            return src
        return VideoFileSource(spec)
    return ImageSource(spec)
