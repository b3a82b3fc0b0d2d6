"""Timed passes of several variants, round-robin in one process (:func:`munet.edge.timing.round_robin`).

A variant is a model file at a thread count: LiteRT through :class:`munet.edge.runtime.Segmenter`, a bare LiteRT
``invoke`` (``kind: bare``, any graph) or ONNX Runtime with the same pre/post-processing. ``python -m
munet.benchmarks.workers SPEC`` runs one measurement in a fresh process, which also reports its peak memory.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from munet.device import busy_reasons
from munet.edge.timing import Call, frames_for, round_robin, tflite_call, timed_invoke
from munet.errors import ModelError

RESULT_TAG = "MUNET_RESULT "


def bare_call(model: str | os.PathLike[str], threads: int) -> tuple[Call, tuple[int, int], str]:
    """``(call, (1, 1), backend)`` timing a bare ``invoke`` of any ``.tflite`` graph on zeros (no pre/post-processing:
    the frames are not read)."""
    from munet.edge.runtime import load_backend

    name, module = load_backend()
    it = module.Interpreter(model_path=os.fspath(model), num_threads=threads)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
    return (lambda _frame: timed_invoke(it.invoke)), (1, 1), name


def onnx_call(model: str | os.PathLike[str], threads: int) -> tuple[Call, tuple[int, int], str]:
    """``(call, input size, backend)`` timing ONNX Runtime with the edge's own pre/post-processing."""
    import onnxruntime as ort

    from munet.edge.preprocess import postprocess, preprocess

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(threads)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(str(model), sess_options=opts, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    h, w = int(inp.shape[1]), int(inp.shape[2])

    def run(frame: np.ndarray) -> dict[str, float]:
        t0 = time.perf_counter()
        x = preprocess(frame, (h, w))[None]
        t1 = time.perf_counter()
        y = sess.run(None, {inp.name: x})[0]
        t2 = time.perf_counter()
        postprocess(y[0, :, :, 0], frame.shape[:2])
        t3 = time.perf_counter()
        return {"pre_ms": (t1 - t0) * 1e3, "infer_ms": (t2 - t1) * 1e3, "post_ms": (t3 - t2) * 1e3}

    return run, (h, w), f"onnxruntime {ort.__version__}"


def timed_pass(
    models: Sequence[tuple[str | os.PathLike[str], int]],
    frame: np.ndarray,
    runs: int,
    warmup: int = 3,
    end_to_end: bool = False,
) -> dict[str, Any]:
    """One round-robin pass over LiteRT models ``(path, threads)`` on one frame, in this process.

    Returns ``{"results": [median/p10/p90/runs ms per model, in order], "machine": load record,
    "busy": reasons}``. ``end_to_end`` times :meth:`Segmenter.segment` on ``frame`` (resize, inference,
    mask back at the frame's size); otherwise :meth:`Segmenter.invoke` on the prepared tensor.
    """
    calls = [(tflite_call(p, t, end_to_end)[0], [frame]) for p, t in models]
    stats, record = round_robin(calls, max(runs, 1), warmup)
    stage = "e2e_ms" if end_to_end else "infer_ms"
    results = [{q: round(s[stage][q], 2) for q in ("median", "p10", "p90")} | {"runs": runs} for s in stats]
    named = {f"{os.fspath(p)}@{t}": r for (p, t), r in zip(models, results, strict=True)}
    return {"results": results, "machine": record, "busy": busy_reasons(record, named)}


# ------------------------------------------------------------------------------------- fresh-process kinds
def _variant(v: dict[str, Any], spec: dict[str, Any]) -> tuple[Call, list[np.ndarray], dict[str, Any]]:
    """A variant ``{kind: tflite|bare|onnx, model, threads}`` of ``spec``: its call, frames and backend."""
    if v["kind"] in ("onnx", "bare"):
        fn, size, backend = (onnx_call if v["kind"] == "onnx" else bare_call)(v["model"], v["threads"])
    else:
        fn, seg = tflite_call(v["model"], v["threads"], backend=v.get("backend", "auto"))
        size, backend = seg.input_size, seg.backend_name
    frames = frames_for(spec.get("images"), tuple(spec.get("frame_size") or size))
    return fn, frames, {"backend": backend, "input_size": list(size)}


def _interleaved_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """All variants of ``spec["variants"]`` round-robin, with stage timings."""
    loaded = [_variant(v, spec) for v in spec["variants"]]
    stats, record = round_robin([(fn, frames) for fn, frames, _ in loaded], spec["runs"], spec["warmup"])
    return {"results": [{"stages": s, **m} for s, (_, _, m) in zip(stats, loaded, strict=True)], "machine": record}


def _rss_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Load one variant and run a few frames: this fresh process's peak RSS is the variant's."""
    fn, frames, _ = _variant(spec["variant"], spec)
    for frame in frames:
        fn(frame)
    return {}


def _peak_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """float32 ``n x n`` matmul GFLOP/s, best of ``repeats`` (BLAS threads: set by :func:`run_worker`)."""
    n = int(spec.get("n", 1024))
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(int(spec.get("repeats", 5))):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return {"gflops": 2.0 * n**3 / best / 1e9, "n": n}


WORKERS = {"interleaved": _interleaved_worker, "rss": _rss_worker, "peak": _peak_worker}


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB: Linux's ``VmHWM`` (``ru_maxrss`` would carry the parent's peak
    over fork + exec), elsewhere ``ru_maxrss``."""
    status = Path("/proc/self/status")
    for line in status.read_text().splitlines() if status.is_file() else []:
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def run_worker(
    spec: dict[str, Any], python: str | os.PathLike[str] | None = None, timeout: float = 1800
) -> dict[str, Any]:
    """Run one measurement in a fresh process (``python -m munet.benchmarks.workers SPEC``)."""
    env = dict(os.environ)
    threads = str(spec.get("threads", 1))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = threads
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cmd = [str(python or sys.executable), "-m", "munet.benchmarks.workers", json.dumps(spec)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG) :])
    err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    raise ModelError(f"{spec.get('model', spec['kind'])}: the {spec['kind']} benchmark process failed ({err})")


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    out = WORKERS[spec["kind"]](spec)
    print(RESULT_TAG + json.dumps({**out, "peak_rss_mb": peak_rss_mb()}), flush=True)
