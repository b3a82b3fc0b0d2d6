"""Live preview: an MJPEG page served by the standard library, or an OpenCV window where a display exists.

The server binds 127.0.0.1 by default (pass ``host="0.0.0.0"`` to open it to a LAN: there is no
authentication, and medical images may be on screen; :attr:`PreviewServer.warning` says so). ``/`` is a small
page, ``/stream.mjpg`` the ``multipart/x-mixed-replace`` stream (``cv2.VideoCapture(url)`` and browsers read it),
``/frame.jpg`` the latest frame. Each frame is JPEG-encoded once, however many clients watch.

Each connection has a socket timeout (an idle or stalled client is dropped) and at most ``max_clients``
connections are served at once; more get ``503`` without a thread. The page title is HTML-escaped and URL
credentials are redacted.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import os
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2
import numpy as np

from munet.edge.sources import redact
from munet.errors import InputError

log = logging.getLogger(__name__)

BOUNDARY = "munetframe"
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>MU-Net Edge preview</title>
<style>body{{background:#111;color:#ddd;font-family:sans-serif;text-align:center}}img{{max-width:95vw}}</style>
</head><body><h3>MU-Net Edge: {title}</h3><img src="/stream.mjpg" alt="live segmentation"></body></html>
"""


#: Defaults: seconds a connection may stay idle (or a send may stall), and connections served at once.
CLIENT_TIMEOUT_S = 10.0
MAX_CLIENTS = 8


class _Handler(BaseHTTPRequestHandler):
    server: _PreviewHTTPServer

    def setup(self) -> None:
        self.timeout = self.server.client_timeout  # StreamRequestHandler applies it to the socket
        super().setup()

    def log_message(self, fmt: str, *args: object) -> None:  # quiet: no line per request
        log.debug("preview %s " + fmt, self.address_string(), *args)

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            body = PAGE.format(title=html.escape(redact(self.server.title))).encode()
            self._send(HTTPStatus.OK, "text/html; charset=utf-8", body)
        elif path == "/frame.jpg":
            jpeg, _ = self.server.preview.latest()
            if jpeg is None:
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, "text/plain", b"no frame yet\n")
            else:
                self._send(HTTPStatus.OK, "image/jpeg", jpeg)
        elif path == "/stream.mjpg":
            self._stream()
        else:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")

    def _send(self, status: HTTPStatus, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _stream(self) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        seq = 0
        preview = self.server.preview
        try:
            while not preview.closed:
                jpeg, seq = preview.wait_next(seq, timeout=1.0)
                if jpeg is None:
                    continue
                self.wfile.write(
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                )
                self.wfile.write(jpeg)
                self.wfile.write(b"\r\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the viewer went away (or stopped reading for longer than the timeout)


class _PreviewHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64  # a burst of connections is accepted (and served or refused) at once, not left queued
    preview: PreviewServer
    title: str
    client_timeout: float = CLIENT_TIMEOUT_S
    slots: threading.BoundedSemaphore

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        """Serve in a thread while a slot is free; otherwise answer 503 at once and close (no thread)."""
        if not self.slots.acquire(blocking=False):
            try:
                request.settimeout(1.0)
                request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 5\r\n\r\n")
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)  # type: ignore[arg-type]
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        try:
            super().process_request_thread(request, client_address)  # type: ignore[arg-type]
        finally:
            self.slots.release()


def listen(server: type[ThreadingHTTPServer], handler: type, host: str, port: int, flag: str) -> Any:
    """``server((host, port), handler)``, or a one-line :class:`InputError` naming ``flag`` when the port is taken."""
    try:
        return server((host, port), handler)
    except OSError as exc:
        raise InputError(f"{flag} {port}: cannot listen on {host}:{port} ({exc.strerror}); pick another port") from None


class BoundServer:
    """Where a local HTTP server (the preview, the ``--web`` page) listens: ``host`` and ``port`` once bound."""

    host: str
    port: int

    @property
    def public(self) -> bool:
        """Whether the page is reachable from other machines (bound to a non-loopback address)."""
        try:
            return not ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return True

    @property
    def url(self) -> str:
        """The page's URL at the address the server is bound to (``0.0.0.0``: all interfaces)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"


class PreviewServer(BoundServer):
    """Serve the newest published frame as MJPEG on ``http://host:port/`` (``port=0``: any free port)."""

    def __init__(
        self,
        port: int = 8080,
        host: str = "127.0.0.1",
        title: str = "",
        quality: int = 80,
        client_timeout: float = CLIENT_TIMEOUT_S,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.quality = quality
        self._cond = threading.Condition()
        self._jpeg: bytes | None = None
        self._seq = 0
        self.closed = False
        self._httpd = listen(_PreviewHTTPServer, _Handler, host, port, "--preview")
        self._httpd.preview = self
        self._httpd.title = title
        self._httpd.client_timeout = client_timeout
        self._httpd.slots = threading.BoundedSemaphore(max_clients)
        self.host, self.port = self._httpd.server_address[:2]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="munet-preview", daemon=True)
        self._thread.start()

    @property
    def warning(self) -> str | None:
        """One line for a public bind: the page has no authentication (``None`` on loopback)."""
        if not self.public:
            return None
        return (
            f"warning: the preview at {self.url} is open to the network without authentication: anyone who "
            "can reach this machine can watch; use --host 127.0.0.1 (an SSH tunnel) for private images"
        )

    @property
    def stream_url(self) -> str:
        return self.url + "stream.mjpg"

    def publish(self, bgr: np.ndarray) -> None:
        """Encode a BGR frame once and hand it to every viewer."""
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            return
        with self._cond:
            self._jpeg = buf.tobytes()
            self._seq += 1
            self._cond.notify_all()

    def latest(self) -> tuple[bytes | None, int]:
        with self._cond:
            return self._jpeg, self._seq

    def wait_next(self, seq: int, timeout: float = 1.0) -> tuple[bytes | None, int]:
        """Block until a frame newer than ``seq`` exists; ``(None, seq)`` on timeout or close."""
        with self._cond:
            self._cond.wait_for(lambda: self._seq > seq or self.closed, timeout)
            if self._seq > seq and not self.closed:
                return self._jpeg, self._seq
            return None, seq

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()


def display_available() -> tuple[bool, str]:
    """Whether ``cv2.imshow`` can work here: a display variable and an OpenCV built with a GUI backend.

    Without a display OpenCV's window call aborts the whole process, so this must be checked first.
    """
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False, "no display (DISPLAY/WAYLAND_DISPLAY unset)"
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:") and line.split(":", 1)[1].strip().upper() == "NONE":
            return False, "this OpenCV has no GUI backend (opencv-python-headless); install opencv-python for --show"
    return True, ""


class Window:
    """An OpenCV window; ``show`` returns False when the user pressed q or Esc."""

    def __init__(self, title: str = "MU-Net Edge") -> None:
        self.title = title
        cv2.namedWindow(title, cv2.WINDOW_NORMAL)

    def publish(self, bgr: np.ndarray) -> bool:
        cv2.imshow(self.title, bgr)
        key = cv2.waitKey(1) & 0xFF
        return key not in (ord("q"), 27)

    def close(self) -> None:
        cv2.destroyWindow(self.title)
