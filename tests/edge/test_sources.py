"""Sources: video files (every frame, or paced like a camera with drops counted), lost cameras, the reader."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from munet.edge.preview import PreviewServer
from munet.edge.runner import RunOptions, run
from munet.edge.sources import LatestFrameReader, classify, open_source
from munet.errors import InputError


def test_classify():
    assert classify("0") == "camera" and classify("/dev/video2") == "camera"
    assert classify("rtsp://10.0.0.2/stream") == "stream" and classify("http://127.0.0.1:8080/x.mjpg") == "stream"
    assert classify("picamera2") == "picamera2" and classify("picamera2:1") == "picamera2"
    assert classify("clip.avi") == "video" and classify("clip.MP4") == "video"
    assert classify("imgs/*.jpg") == "images" and classify("imgs") == "images" and classify("a.png") == "images"


def test_video_file_every_frame(tiny_int8, tmp_path, make_video):
    video = make_video(tmp_path / "clip.avi", 12, fps=25)
    s = run(tiny_int8, str(video), RunOptions(out=tmp_path / "out", threads=1))
    assert (s.processed, s.dropped, s.skipped, s.source_kind) == (12, 0, 0, "video")
    assert len(list((tmp_path / "out").glob("clip_*_segmentation.png"))) == 12


def test_video_as_camera_drops_stale_frames_and_reports_fps(tiny_int8, tmp_path, make_video):
    n = 120
    video = make_video(tmp_path / "cam.avi", n, fps=400)  # a frame every 2.5 ms
    # The tiny model alone can keep up with 400 FPS on a quiet machine: a consumer that takes 10 ms per frame
    # (as a real model on a Pi does) makes the drops certain, whatever the load.
    s = run(tiny_int8, str(video), RunOptions(threads=1, realtime=True), on_frame=lambda n, r: time.sleep(0.01))
    assert s.source_kind == "video" and s.ended == "end of input"
    assert s.processed > 0 and s.dropped > 0
    assert s.processed + s.dropped == n  # every captured frame was either processed or counted as dropped
    assert s.fps > 0 and s.mean_infer_ms > 0


def test_picamera2_is_imported_only_when_asked(tmp_path):
    import sys

    assert "picamera2" not in sys.modules
    try:
        import picamera2  # noqa: F401
    except ImportError:
        with pytest.raises(InputError, match="system-site-packages"):
            open_source("picamera2")


def test_missing_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="no such"):
        open_source(str(tmp_path / "nothing.avi"))
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"not a video")
    with pytest.raises(InputError, match="cannot open"):
        open_source(str(bad))
    with pytest.raises(InputError, match="no such file or folder"):
        open_source(str(tmp_path / "missing_folder"))


def test_reader_keeps_newest_and_retries_with_backoff():
    frames = iter(range(5))
    opens = []

    def read():
        i = next(frames, None)
        return None if i is None else np.full((2, 2, 3), i, np.uint8)

    def reopen():
        opens.append(time.monotonic())
        return False  # the camera stays gone

    reader = LatestFrameReader(read, reopen, retries=3, backoff=0.05)
    deadline = time.monotonic() + 10
    while not reader.finished and time.monotonic() < deadline:
        time.sleep(0.01)
    assert reader.finished and "3 reconnection attempts" in reader.reason
    assert len(opens) == 3
    gaps = np.diff(opens)
    assert gaps[1] > gaps[0] * 1.5  # exponential back-off
    last = reader.get(timeout=0.1)
    assert last is not None and int(last[0, 0, 0]) == 4  # only the newest frame is kept
    assert reader.get(timeout=0.1) is None
    assert reader.captured == 5 and reader.dropped == 4


def test_stream_that_disappears_is_retried_then_ends_cleanly(tiny_int8, tmp_path):
    server = PreviewServer(port=0)  # an MJPEG camera on 127.0.0.1
    stop_feed = threading.Event()

    def feed():
        i = 0
        while not stop_feed.is_set():
            frame = np.full((96, 128, 3), (i * 9) % 250, np.uint8)
            server.publish(frame)
            i += 1
            time.sleep(0.02)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    got = []

    def on_frame(n, result):
        got.append(n)
        if n == 5:  # the camera goes away mid-run
            stop_feed.set()
            server.close()

    t0 = time.monotonic()
    s = run(tiny_int8, server.stream_url, RunOptions(threads=1, retries=2, backoff=0.1), on_frame=on_frame)
    assert s.source_kind == "stream"
    assert s.processed >= 5 and got[:5] == [1, 2, 3, 4, 5]
    assert s.ended.startswith("source lost") and "2 reconnection attempts" in s.ended
    assert time.monotonic() - t0 < 60


def test_missing_camera_is_a_one_line_error():
    with pytest.raises(InputError, match="camera 9 \\(V4L2\\): cannot open") as info:
        open_source("9")
    assert "\n" not in str(info.value)


def test_truncated_video_says_so(tiny_int8, tmp_path, make_video, caplog):
    video = make_video(tmp_path / "clip.avi", 60, fps=25)
    whole = run(tiny_int8, str(video), RunOptions(threads=1))
    assert whole.processed == 60 and whole.ended == "end of input"
    video.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    s = run(tiny_int8, str(video), RunOptions(out=tmp_path / "out", threads=1))
    assert 0 < s.processed < 60
    assert s.ended.startswith(f"truncated input: read {s.processed} of the 60 frames")
    assert any("truncated" in r.getMessage() and str(video) in r.getMessage() for r in caplog.records)
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["ended"] == s.ended


def _cli(*args: str):
    from click.testing import CliRunner

    from munet.edge.cli import main

    return CliRunner().invoke(main, [*args, "--threads", "1"])


@pytest.mark.parametrize("name, fourcc", [("clip.avi", "MJPG"), ("clip.mp4", "mp4v")])
def test_video_cut_in_half_exits_3_naming_the_file(tiny_int8, tmp_path, make_video, name, fourcc):
    """`head -c HALF clip > cut`: an AVI loses its last frames (and its index); an MP4 written by OpenCV loses its
    'moov' index (written last), so no frame can be read. Both are truncated inputs: exit 3, one line naming the
    file, with and without --realtime; the whole file still exits 0."""
    from munet.edge.sources import container_cut_short

    video = make_video(tmp_path / name, 30, fps=100, fourcc=fourcc)
    assert container_cut_short(video) is None
    res = _cli(str(tiny_int8), str(video), "--out", str(tmp_path / "whole"))
    assert res.exit_code == 0 and "processed 30 frame(s)" in res.output, res.output
    cut = tmp_path / f"cut{video.suffix}"
    cut.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    assert "cut short" in container_cut_short(cut)
    for extra in ([], ["--realtime"]):
        res = _cli(str(tiny_int8), str(cut), "--out", str(tmp_path / f"out{len(extra)}"), *extra)
        problem = [line for line in res.output.splitlines() if line.startswith("finished with problems")]
        assert res.exit_code == 3 and len(problem) == 1, (extra, res.output)
        assert f"({cut}: truncated input" in problem[0] and problem[0].endswith("exit status 3"), problem
        summary = json.loads((tmp_path / f"out{len(extra)}" / "summary.json").read_text())
        assert summary["ended"].startswith("truncated input") and summary["processed"] < 30
        if fourcc == "MJPG":  # the AVI keeps its first frames: they are processed, and the count says how many
            assert summary["processed"] > 0 and "of the 30 frames the container announces" in summary["ended"]
        else:
            assert summary["processed"] == 0 and "no frame readable" in summary["ended"]


def test_stream_credentials_never_reach_the_summary(tiny_int8, tmp_path):
    server = PreviewServer(port=0)
    stop = threading.Event()

    def feed():
        while not stop.is_set():
            server.publish(np.full((48, 64, 3), 120, np.uint8))
            time.sleep(0.03)

    threading.Thread(target=feed, daemon=True).start()
    url = f"http://viewer:s3cret@127.0.0.1:{server.port}/stream.mjpg?token=t0k"
    messages: list[str] = []
    try:
        s = run(
            tiny_int8,
            url,
            RunOptions(out=tmp_path / "out", threads=1, max_frames=3, preview_port=0),
            echo=messages.append,
        )
    finally:
        stop.set()
        server.close()
    assert s.processed == 3 and s.source == f"http://***@127.0.0.1:{server.port}/stream.mjpg?token=***"
    for path in (tmp_path / "out" / "summary.json", tmp_path / "out" / "summary.csv"):
        text = path.read_text()
        assert "s3cret" not in text and "t0k" not in text and "***@127.0.0.1" in text
    assert not any("s3cret" in m or "t0k" in m for m in messages)
