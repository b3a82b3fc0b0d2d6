"""The MJPEG preview serves advancing frames that OpenCV can read back; --show falls back without a display."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request

import cv2
import numpy as np
import pytest

from munet.edge.preview import PreviewServer, display_available
from munet.edge.runner import RunOptions, run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _read_frames(url: str, n: int, timeout: float = 30.0) -> list[np.ndarray]:
    frames: list[np.ndarray] = []
    deadline = time.monotonic() + timeout
    cap = cv2.VideoCapture(url)
    while not cap.isOpened() and time.monotonic() < deadline:  # the server may not be listening yet
        time.sleep(0.2)
        cap = cv2.VideoCapture(url)
    while len(frames) < n and time.monotonic() < deadline:
        ok, frame = cap.read()
        if ok:
            frames.append(frame)
    cap.release()
    return frames


def test_server_streams_advancing_frames():
    server = PreviewServer(port=0)
    assert server.host == "127.0.0.1"
    stop = threading.Event()

    def feed():
        i = 0
        while not stop.is_set():
            server.publish(np.full((48, 64, 3), min(10 + 3 * i, 250), np.uint8))
            i += 1
            time.sleep(0.03)

    threading.Thread(target=feed, daemon=True).start()
    try:
        frames = _read_frames(server.stream_url, 5)
        page = urllib.request.urlopen(server.url, timeout=10).read().decode()
        jpeg = urllib.request.urlopen(server.url + "frame.jpg", timeout=10).read()
    finally:
        stop.set()
        server.close()
    assert len(frames) == 5 and frames[0].shape == (48, 64, 3)
    levels = [float(f.mean()) for f in frames]
    assert levels == sorted(levels) and levels[-1] > levels[0]  # newer frames, in order
    assert "/stream.mjpg" in page and jpeg[:2] == b"\xff\xd8"


def test_run_preview_serves_overlays_of_a_camera_stand_in(tiny_int8, tmp_path, make_video):
    video = make_video(tmp_path / "cam.avi", 60, fps=20)  # 3 s
    port = _free_port()
    result = {}
    options = RunOptions(threads=1, realtime=True, preview_port=port)
    t = threading.Thread(
        target=lambda: result.setdefault("s", run(tiny_int8, str(video), options)),
        daemon=True,
    )
    t.start()
    frames = _read_frames(f"http://127.0.0.1:{port}/stream.mjpg", 4)
    t.join(timeout=60)
    assert len(frames) == 4 and frames[0].shape == (120, 160, 3)
    assert any(not np.array_equal(frames[0], f) for f in frames[1:])  # the preview advances
    s = result["s"]
    assert s.preview_url == f"http://127.0.0.1:{port}/" and s.processed > 0


def test_show_without_display_falls_back_to_preview(tiny_int8, edge_images, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    ok, why = display_available()
    assert not ok and "display" in why
    messages: list[str] = []
    s = run(tiny_int8, str(edge_images), RunOptions(show=True, preview_port=0), echo=messages.append)
    assert s.processed == 3 and s.preview_url is not None
    assert any("serving the preview instead" in m for m in messages)


def test_busy_port_is_a_one_line_error():
    from munet.errors import InputError

    first = PreviewServer(port=0)
    try:
        with pytest.raises(InputError, match="pick another port"):
            PreviewServer(port=first.port)
    finally:
        first.close()


def test_page_escapes_the_title_and_redacts_credentials():
    title = 'm.tflite on http://user:s3cret@cam.local/x.mjpg?token=t0k&a=1 <script>alert("x")</script>'
    server = PreviewServer(port=0, title=title)
    try:
        page = urllib.request.urlopen(server.url, timeout=10).read().decode()
    finally:
        server.close()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "s3cret" not in page and "t0k" not in page and "http://***@cam.local/x.mjpg?token=***" in page


def test_public_bind_warns_and_prints_the_real_address(tiny_int8, edge_images):
    local = PreviewServer(port=0)
    try:
        assert local.warning is None and local.url.startswith("http://127.0.0.1:")
    finally:
        local.close()
    messages: list[str] = []
    s = run(tiny_int8, str(edge_images), RunOptions(threads=1, preview_port=0, host="0.0.0.0"), echo=messages.append)
    assert s.preview_url.startswith("http://0.0.0.0:")
    assert any(m.startswith(f"preview: {s.preview_url}") for m in messages)
    assert any("without authentication" in m and s.preview_url in m for m in messages), messages


def test_idle_clients_time_out_and_are_capped():
    server = PreviewServer(port=0, client_timeout=1.5, max_clients=3)
    base = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(10)]
    try:
        time.sleep(0.3)
        assert threading.active_count() <= base + 3  # one thread per served client, at most the cap
        refused = 0
        for sock in idle[3:]:
            refused += sock.recv(64).startswith(b"HTTP/1.0 503")
        assert refused == 7
        for sock in idle[:3]:  # idle clients are dropped after the timeout instead of holding a thread
            sock.settimeout(5)
            assert sock.recv(4096) == b""  # closed by the server, no thread left behind
        deadline = time.monotonic() + 5
        while threading.active_count() > base and time.monotonic() < deadline:
            time.sleep(0.05)
        assert threading.active_count() <= base
        page = urllib.request.urlopen(server.url, timeout=5).read()  # slots are free again
        assert b"/stream.mjpg" in page
    finally:
        for sock in idle:
            sock.close()
        server.close()
