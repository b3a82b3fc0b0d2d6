"""``munet-run MODEL --web PORT``: the phone path in a browser, served from this machine.

A static page (``web/index.html`` + ``web/app.mjs``) runs the model on the device that opens it, inside the
browser, with MediaPipe Tasks Vision for the web (``ImageSegmenter``, WASM on the CPU): the camera
(``getUserMedia``, e.g. a phone-attached dermatoscope) or a chosen photo in, the overlay, the lesion area % and a
"save" button for the 0/255 mask PNG out. Nothing is uploaded: the server only hands out the page, the model
file (``/model.tflite``), its settings (``/model.json``: threshold, min_area, input size) and the MediaPipe runtime.

The runtime (npm ``@mediapipe/tasks-vision``, pinned in ``web/package.json`` + ``package-lock.json``) is vendored
into the git-ignored ``web/vendor/`` by ``make web``; nothing is fetched from a CDN at run time. The model must be
one MediaPipe accepts: uint8 or float32 input and MediaPipe metadata (``munet-convert ... --mediapipe``).
Standard library only; it binds 127.0.0.1 unless told otherwise (no authentication).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from munet.edge.bundled import resolve_model
from munet.edge.integrity import verify_model
from munet.edge.metadata import metadata_spans, model_info_from_bytes, sidecar_path
from munet.edge.preview import BoundServer, listen
from munet.errors import ModelError, MunetError

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).with_name("web")
VENDOR_DIR = WEB_DIR / "vendor"
#: What ``make web`` copies from the npm package (the page loads the bundle; it picks the SIMD or no-SIMD WASM).
VENDOR_FILES = (
    "vision_bundle.mjs",
    "wasm/vision_wasm_internal.js",
    "wasm/vision_wasm_internal.wasm",
    "wasm/vision_wasm_nosimd_internal.js",
    "wasm/vision_wasm_nosimd_internal.wasm",
)
PAGE_FILES = {"/": "index.html", "/index.html": "index.html", "/app.mjs": "app.mjs"}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".tflite": "application/octet-stream",
}
MEDIAPIPE_METADATA = "TFLITE_METADATA"  # the TFLite Metadata entry MediaPipe Tasks reads


def check_vendor(vendor: Path) -> None:
    """One-line :class:`MunetError` unless the MediaPipe web runtime has been vendored into ``vendor``."""
    missing = [name for name in VENDOR_FILES if not (vendor / name).is_file()]
    if missing:
        raise MunetError(
            f"{vendor}: the MediaPipe web runtime is not there (missing {missing[0]}); run `make web` "
            "in the munet source folder (npm installs the pinned @mediapipe/tasks-vision and copies it)"
        )


def model_settings(path: Path, name: str) -> dict[str, object]:
    """What the page needs to know about ``path``; a one-line :class:`ModelError` when MediaPipe would refuse it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the model ({exc.strerror}); check the path") from None
    info = model_info_from_bytes(data, str(path))
    if info is None and sidecar_path(path).is_file():
        from munet.edge.metadata import read_model_info

        info = read_model_info(path)
    fix = f"munet-convert {path} --io uint8 --mediapipe"
    if info is not None and info.io_dtype == "int8":
        raise ModelError(
            f"{path}: int8 input, which MediaPipe's ImageSegmenter refuses (it takes uint8 or float32); "
            f"convert it with `{fix}` and serve the *_mediapipe.tflite file"
        )
    try:
        entries = metadata_spans(data)
    except Exception:
        raise ModelError(f"{path}: not a TFLite model MediaPipe can read; re-convert it with munet-convert") from None
    if MEDIAPIPE_METADATA not in entries:
        raise ModelError(
            f"{path}: no MediaPipe metadata, so MediaPipe's ImageSegmenter cannot load it; add it with `{fix}` "
            "(uint8 input) and serve the *_mediapipe.tflite file"
        )
    # MediaPipe does not check munet's content digest: a changed or truncated copy is refused here, as munet-run does
    verify_model(data, str(path))
    return {
        "name": name,
        "file": path.name,
        "size_bytes": len(data),
        "threshold": info.threshold if info is not None else 0.5,
        "min_area": info.min_area if info is not None else 0.0,
        "input_size": list(info.input_size) if info is not None else None,
        "class_name": info.class_name if info is not None else "lesion",
    }


def _lan_address() -> str | None:
    """This machine's address on its default route (what a phone on the same Wi-Fi opens); no packet is sent."""
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("10.255.255.255", 1))
            return str(sock.getsockname()[0])
    except OSError:
        return None


class _Handler(BaseHTTPRequestHandler):
    server: _WebHTTPServer

    def log_message(self, fmt: str, *args: object) -> None:  # quiet: no line per request
        log.debug("web %s " + fmt, self.address_string(), *args)

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        path = self.path.split("?", 1)[0]
        app = self.server.app
        if path in PAGE_FILES:
            self._file(WEB_DIR / PAGE_FILES[path])
        elif path == "/model.json":
            self._send(HTTPStatus.OK, CONTENT_TYPES[".json"], json.dumps(app.settings).encode())
        elif path == "/model.tflite":
            self._file(app.model)
        elif path.startswith("/vendor/") and path.removeprefix("/vendor/") in VENDOR_FILES:
            self._file(app.vendor / path.removeprefix("/vendor/"), cache=True)
        else:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")

    def _file(self, path: Path, cache: bool = False) -> None:
        try:
            body = path.read_bytes()
        except OSError:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")
            return
        self._send(HTTPStatus.OK, CONTENT_TYPES.get(path.suffix, "application/octet-stream"), body, cache)

    def _send(self, status: HTTPStatus, ctype: str, body: bytes, cache: bool = False) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "max-age=86400" if cache else "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the browser went away


class _WebHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    app: WebServer


class WebServer(BoundServer):
    """Serve the in-browser page for ``model`` (a bundled name or a ``.tflite`` path) on ``http://host:port/``.

    ``port=0`` picks a free port (see :attr:`url`). Raises a one-line :class:`MunetError` when the runtime is not
    vendored (``make web``), the model is missing or MediaPipe would refuse it, or the port is taken.
    """

    def __init__(
        self, model: str | Path, port: int = 8000, host: str = "127.0.0.1", vendor: Path | None = None
    ) -> None:
        self.vendor = VENDOR_DIR if vendor is None else Path(vendor)
        check_vendor(self.vendor)
        self.model = resolve_model(model)
        name = self.model.stem if Path(model).is_file() else str(model)
        self.settings = model_settings(self.model, name)
        self._httpd = listen(_WebHTTPServer, _Handler, host, port, "--web")
        self._httpd.app = self
        self.host, self.port = self._httpd.server_address[:2]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="munet-web", daemon=True)
        self._thread.start()

    @property
    def warning(self) -> str | None:
        """One line for a public bind: who can reach it, and why the camera needs HTTPS there."""
        if not self.public:
            return None
        lan = f"http://{_lan_address()}:{self.port}/ " if self.host in ("0.0.0.0", "::") and _lan_address() else ""
        return (
            f"note: {lan or self.url + ' '}is open to the network without authentication (it serves the page and "
            "the model, never images); a phone's browser allows the camera only over HTTPS or on localhost: "
            "choosing a photo works over plain HTTP"
        )

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> WebServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(model: str | Path, port: int, host: str, stop: threading.Event, echo: Callable[[str], None] = print) -> None:
    """Run :class:`WebServer` until ``stop`` is set (Ctrl-C), printing its URL first."""
    with WebServer(model, port, host) as server:
        echo(f"web page: {server.url} (model {server.settings['name']}, runs in the browser; Ctrl-C to stop)")
        if server.warning:
            echo(server.warning)
        while not stop.wait(0.5):
            pass
