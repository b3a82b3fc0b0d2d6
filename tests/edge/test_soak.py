"""Soak test of the edge loop: thousands of live frames through ``munet.edge.runner.run`` leave no memory behind.

A synthetic camera (a background reader paced at ``fps``, newest frame only) feeds the segmenter; every frame is
overlaid and published to the MJPEG preview, as in a live session. Two measures of a leak, both after a warm-up:
the Python heap (``tracemalloc``: every NumPy/OpenCV array the loop keeps alive, exact; one 64x64 mask kept per
frame would add 7 MB) and RSS (native memory such as the interpreter's, but loose in a 1.3 GB pytest process:
glibc arenas move it by several MB without any leak, CI measured 6.4 MB once; one leaked camera frame per call
would add 100 MB). The suite checks 2,000 frames; run as a script it soaks a model of your own::

    python tests/edge/test_soak.py MODEL.tflite --frames 10000 [--threads 1] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("psutil")


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def synthetic_camera(size: tuple[int, int] = (192, 256), fps: float = 250.0, seed: int = 0):
    """A live :class:`~munet.edge.sources.LiveSource` cycling through 8 synthetic RGB frames at ``fps``."""
    from munet.edge.sources import LiveSource

    rng = np.random.default_rng(seed)
    h, w = size
    frames = []
    for i in range(8):
        img = np.empty((h, w, 3), np.uint8)
        img[:] = (205, 160, 140)
        y, x = np.ogrid[:h, :w]
        cy, cx, r = h / 2 + 8 * np.sin(i), w / 2 + 8 * np.cos(i), min(h, w) / 5
        img[(y - cy) ** 2 + (x - cx) ** 2 < r**2] = (110, 70, 50)
        frames.append(np.clip(img + rng.normal(0, 10, img.shape), 0, 255).astype(np.uint8))
    counter = {"i": 0}

    def read() -> np.ndarray:
        counter["i"] += 1
        return frames[counter["i"] % len(frames)]

    return LiveSource(
        "synthetic", f"synthetic camera {w}x{h} @ {fps:g} fps", read, None, lambda: None, bgr=False, pace=1.0 / fps
    )


def soak(
    model: str | Path,
    frames: int = 10_000,
    warmup: int = 200,
    threads: int | None = 1,
    size: tuple[int, int] = (192, 256),
    fps: float = 250.0,
    preview: bool = True,
) -> dict[str, Any]:
    """Run ``frames`` frames; returns FPS, drops, and after ``warmup`` frames vs the end: RSS (MB) and the
    Python heap still allocated by the loop (``py_growth_mb``, traced with :mod:`tracemalloc`)."""
    import tracemalloc

    from munet.edge.runner import RunOptions, run

    samples: dict[int, float] = {}
    heap: dict[str, float] = {}
    was_tracing = tracemalloc.is_tracing()

    def on_frame(n: int, _result: Any) -> None:
        if n == warmup:
            gc.collect()
            samples[n] = _rss_mb()
            tracemalloc.start()
            heap["start"] = tracemalloc.get_traced_memory()[0]
        elif n == frames:
            gc.collect()
            samples[n] = _rss_mb()
            heap["end"] = tracemalloc.get_traced_memory()[0]
            if not was_tracing:
                tracemalloc.stop()

    t0 = time.perf_counter()
    options = RunOptions(threads=threads, max_frames=frames, preview_port=0 if preview else None)
    summary = run(model, synthetic_camera(size, fps), options, on_frame=on_frame, echo=lambda m: None)
    return {
        "model": str(model),
        "frames": summary.processed,
        "dropped": summary.dropped,
        "fps": round(summary.fps, 2),
        "mean_infer_ms": round(summary.mean_infer_ms, 3),
        "rss_warm_mb": round(samples[warmup], 2),
        "rss_end_mb": round(samples[frames], 2),
        "rss_growth_mb": round(samples[frames] - samples[warmup], 2),
        "py_growth_mb": round((heap["end"] - heap["start"]) / 2**20, 3),
        "wall_s": round(time.perf_counter() - t0, 1),
        "backend": summary.backend,
        "threads": summary.threads,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--fps", type=float, default=250.0, help="synthetic camera frame rate")
    ap.add_argument("--no-preview", action="store_true")
    ap.add_argument("--max-growth-mb", type=float, default=5.0, help="RSS growth limit (a standalone process)")
    ap.add_argument("--max-py-growth-mb", type=float, default=1.0, help="Python-heap growth limit")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    res = soak(args.model, args.frames, args.warmup, args.threads, fps=args.fps, preview=not args.no_preview)
    text = json.dumps(res, indent=2)
    print(text)
    if args.json:
        from munet.atomic import write_text_atomic

        write_text_atomic(args.json, text + "\n")
    ok = res["rss_growth_mb"] < args.max_growth_mb and res["py_growth_mb"] < args.max_py_growth_mb
    return 0 if ok else 1


def test_soak_2000_frames_bounded_memory(tiny_int8):
    res = soak(tiny_int8, frames=2000, warmup=200, threads=1, size=(120, 160), fps=300.0)
    print(res)
    assert res["frames"] == 2000 and res["dropped"] > 0  # the camera outpaces the model: stale frames dropped
    assert res["py_growth_mb"] < 1.0, res
    assert res["rss_growth_mb"] < 32.0, res


def test_soak_heap_measure_sees_a_leak(tiny_int8, monkeypatch):
    """The heap measure is not blind: a loop that keeps every mask is caught."""
    from munet.edge import runner

    kept: list[np.ndarray] = []
    real_run = runner.run

    def leaky_run(*args, on_frame=None, **kw):
        def hook(n, result):
            kept.append(np.full((64, 64), n % 256, np.uint8))  # what a leaking loop would retain per frame
            on_frame(n, result)

        return real_run(*args, on_frame=hook, **kw)

    monkeypatch.setattr(runner, "run", leaky_run)
    res = soak(tiny_int8, frames=600, warmup=100, threads=1, size=(120, 160), fps=300.0)
    assert res["py_growth_mb"] > 1.0, res


if __name__ == "__main__":
    sys.exit(main())
