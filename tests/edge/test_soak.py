"""2,000 live frames (reader thread, segmenter, overlay, MJPEG preview) keep RSS growth under 5 MB."""

from __future__ import annotations

import pytest

pytest.importorskip("psutil")


def test_soak_2000_frames_bounded_memory(tiny_int8):
    from munet.benchmarks.soak import soak

    res = soak(tiny_int8, frames=2000, warmup=200, threads=1, size=(120, 160), fps=300.0)
    print(res)
    assert res["frames"] == 2000 and res["dropped"] > 0  # the camera outpaces the model: stale frames dropped
    assert res["rss_growth_mb"] < 5.0, res
