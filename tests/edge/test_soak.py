"""2,000 live frames (reader thread, segmenter, overlay, MJPEG preview) leave no memory behind.

The Python heap (tracemalloc) is the exact check: one 64x64 mask kept per frame would add 7 MB.
RSS catches native leaks; its bound is loose because in a 1.3 GB pytest process glibc arenas move
it by several MB without any leak (CI measured 6.4 MB once); one leaked camera frame per call
would add 100 MB.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("psutil")


def test_soak_2000_frames_bounded_memory(tiny_int8):
    from munet.benchmarks.soak import soak

    res = soak(tiny_int8, frames=2000, warmup=200, threads=1, size=(120, 160), fps=300.0)
    print(res)
    assert res["frames"] == 2000 and res["dropped"] > 0  # the camera outpaces the model: stale frames dropped
    assert res["py_growth_mb"] < 1.0, res
    assert res["rss_growth_mb"] < 32.0, res


def test_soak_heap_measure_sees_a_leak(tiny_int8, monkeypatch):
    """The heap measure is not blind: a loop that keeps every mask is caught."""
    from munet.benchmarks import soak as soak_mod
    from munet.edge import runner

    kept: list[np.ndarray] = []
    real_run = runner.run

    def leaky_run(*args, on_frame=None, **kw):
        def hook(n, result):
            kept.append(np.full((64, 64), n % 256, np.uint8))  # what a leaking loop would retain per frame
            on_frame(n, result)

        return real_run(*args, on_frame=hook, **kw)

    monkeypatch.setattr(runner, "run", leaky_run)
    res = soak_mod.soak(tiny_int8, frames=600, warmup=100, threads=1, size=(120, 160), fps=300.0)
    assert res["py_growth_mb"] > 1.0, res
