"""Latency of TFLite variants (and the ONNX Runtime peer) per thread count, each in a fresh process.

For every (variant, thread count) a new Python process loads the model, runs ``warmup`` untimed
frames, then ``runs`` timed frames through the edge :class:`~munet.edge.runtime.Segmenter`, and
reports the median and 90th percentile of pre-processing, inference, post-processing and end to end,
plus its own peak resident memory (``ru_maxrss``: a fresh process per variant keeps it honest).
Achieved GFLOP/s is ``2 * MACs / median inference time`` with MACs counted from the ``.tflite``
graph (:mod:`munet.benchmarks.flops`), next to this machine's float32 peak measured as a NumPy
(BLAS) matrix multiply with the same number of threads.

The ONNX Runtime peer is the same network (the float32 TFLite file converted by tf2onnx) run by
ONNX Runtime with the same pre/post-processing; it runs in a separate Python (``--onnx-python``,
default ``.venv-onnx/bin/python``) because tf2onnx and onnxruntime live outside the main venv.
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

from munet.errors import InputError, ModelError

RESULT_TAG = "MUNET_RESULT "
STAGES = ("pre_ms", "infer_ms", "post_ms", "e2e_ms")
DEFAULT_ONNX_PYTHON = Path(".venv-onnx") / "bin" / "python"


# ---------------------------------------------------------------------------------------------- statistics
def summarize(values: Sequence[float]) -> dict[str, float]:
    """Median, 90th percentile, min and mean of a list of timings."""
    a = np.asarray(values, dtype=np.float64)
    return {
        "median": float(np.median(a)),
        "p90": float(np.percentile(a, 90)),
        "min": float(a.min()),
        "mean": float(a.mean()),
    }


def parse_threads(spec: str | Sequence[int | str]) -> list[int]:
    """``"1,2,all"`` -> ``[1, 2, os.cpu_count()]`` without duplicates, in order."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out: list[int] = []
    for item in items:
        text = str(item).strip().lower()
        if not text:
            continue
        if text == "all":
            n = os.cpu_count() or 1
        else:
            try:
                n = int(text)
            except ValueError:
                raise InputError(f"--threads {spec!r}: expected numbers or 'all', e.g. 1,2,all") from None
        if n < 1:
            raise InputError(f"--threads {spec!r}: thread counts must be >= 1")
        if n not in out:
            out.append(n)
    if not out:
        raise InputError("--threads: give at least one thread count")
    return out


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB.

    Linux: ``VmHWM`` of ``/proc/self/status`` (``ru_maxrss`` would carry the parent's peak over fork + exec).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


# ------------------------------------------------------------------------------------------------- frames
def frames_for(images: Sequence[str] | None, size: tuple[int, int], count: int = 4) -> list[np.ndarray]:
    """RGB uint8 frames: the given image files (first ``count``) or deterministic noise frames of ``size``."""
    if images:
        from munet.edge.imageio import load_image

        return [load_image(p) for p in list(images)[:count]]
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (*size, 3), dtype=np.uint8) for _ in range(count)]


def time_calls(fn: Any, frames: Sequence[np.ndarray], runs: int, warmup: int) -> dict[str, dict[str, float]]:
    """Time ``fn(frame) -> {pre_ms, infer_ms, post_ms}`` over ``runs`` frames after ``warmup`` untimed ones."""
    if runs < 1:
        raise InputError("--runs must be at least 1")
    for i in range(warmup):
        fn(frames[i % len(frames)])
    rec: dict[str, list[float]] = {k: [] for k in STAGES}
    for i in range(runs):
        t0 = time.perf_counter()
        timings = fn(frames[i % len(frames)])
        rec["e2e_ms"].append((time.perf_counter() - t0) * 1e3)
        for k in ("pre_ms", "infer_ms", "post_ms"):
            rec[k].append(float(timings[k]))
    return {k: summarize(v) for k, v in rec.items()}


# ----------------------------------------------------------------------------------------------- workers
def time_interleaved(
    paths: Sequence[str | os.PathLike[str]],
    frame: np.ndarray,
    runs: int,
    threads: int,
    warmup: int = 3,
    end_to_end: bool = False,
) -> list[dict[str, float]]:
    """Median, 10th and 90th percentile ms of each model, timed round-robin in this process.

    Every round runs each model once, so a load spike on a shared machine lands on all models alike
    instead of on whichever one happened to be timed then (sequential timing once read 7.1 vs 2.4 ms
    for two identical int8 graphs on a busy 2-core machine). ``end_to_end`` times
    :meth:`Segmenter.segment` on ``frame`` (pre-processing, inference, post-processing at the frame's
    size); otherwise :meth:`Segmenter.invoke` on the prepared tensor.
    """
    from munet.edge.runtime import Segmenter

    segs = [Segmenter(p, threads=threads) for p in paths]
    calls = [(s.segment, frame) if end_to_end else (s.invoke, s.prepare(frame)) for s in segs]
    for fn, arg in calls:
        for _ in range(warmup):
            fn(arg)
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(max(runs, 1)):
        for (fn, arg), t in zip(calls, times, strict=True):
            t0 = time.perf_counter()
            fn(arg)
            t.append((time.perf_counter() - t0) * 1e3)
    return [
        {q: round(float(np.percentile(t, pct)), 2) for q, pct in (("median", 50), ("p10", 10), ("p90", 90))}
        for t in times
    ]


def _tflite_worker(spec: dict[str, Any]) -> dict[str, Any]:
    from munet.edge.runtime import Segmenter

    seg = Segmenter(spec["model"], threads=spec["threads"], backend=spec.get("backend", "auto"))
    frames = frames_for(spec.get("images"), tuple(spec.get("frame_size") or seg.input_size))
    stats = time_calls(lambda f: seg.segment(f).timings, frames, spec["runs"], spec["warmup"])
    return {"stages": stats, "backend": seg.backend_name, "input_size": list(seg.input_size)}


def _onnx_worker(spec: dict[str, Any]) -> dict[str, Any]:
    import onnxruntime as ort

    from munet.edge.preprocess import postprocess, preprocess

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(spec["threads"])
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(spec["model"], sess_options=opts, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    h, w = int(inp.shape[1]), int(inp.shape[2])
    frames = frames_for(spec.get("images"), tuple(spec.get("frame_size") or (h, w)))

    def run(frame: np.ndarray) -> dict[str, float]:
        t0 = time.perf_counter()
        x = preprocess(frame, (h, w))[None]
        t1 = time.perf_counter()
        y = sess.run(None, {inp.name: x})[0]
        t2 = time.perf_counter()
        postprocess(y[0, :, :, 0], frame.shape[:2])
        t3 = time.perf_counter()
        return {"pre_ms": (t1 - t0) * 1e3, "infer_ms": (t2 - t1) * 1e3, "post_ms": (t3 - t2) * 1e3}

    stats = time_calls(run, frames, spec["runs"], spec["warmup"])
    return {"stages": stats, "backend": f"onnxruntime {ort.__version__}", "input_size": [h, w]}


def _peak_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """float32 matmul GFLOP/s with BLAS limited to ``threads`` (set through the environment by the parent)."""
    n = int(spec.get("n", 1024))
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(int(spec.get("repeats", 5))):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return {"gflops": 2.0 * n**3 / best / 1e9, "n": n}


WORKERS = {"tflite": _tflite_worker, "onnx": _onnx_worker, "peak": _peak_worker}


def run_worker(
    spec: dict[str, Any], python: str | os.PathLike[str] | None = None, timeout: float = 900
) -> dict[str, Any]:
    """Run one measurement in a fresh process (``python -m munet.benchmarks.latency SPEC``)."""
    env = dict(os.environ)
    threads = str(spec.get("threads", 1))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = threads
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cmd = [str(python or sys.executable), "-m", "munet.benchmarks.latency", json.dumps(spec)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG) :])
    err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    raise ModelError(f"{spec.get('model', spec['kind'])}: the {spec['kind']} benchmark process failed ({err})")


def _main(argv: Sequence[str]) -> int:
    spec = json.loads(argv[0])
    out = WORKERS[spec["kind"]](spec)
    out["peak_rss_mb"] = peak_rss_mb()
    print(RESULT_TAG + json.dumps(out), flush=True)
    return 0


# ------------------------------------------------------------------------------------------------- ONNX
def onnx_python(python: str | os.PathLike[str] | None = None) -> Path | None:
    """The Python that has onnxruntime: ``python``, ``$MUNET_ONNX_PYTHON``, ``.venv-onnx/bin/python``; else None."""
    for cand in (python, os.environ.get("MUNET_ONNX_PYTHON"), DEFAULT_ONNX_PYTHON):
        if cand and Path(cand).is_file():
            return Path(cand)
    return None


def export_onnx(
    tflite_float32: str | os.PathLike[str], out: str | os.PathLike[str], python: str | os.PathLike[str], opset: int = 17
) -> Path:
    """Convert a float32 ``.tflite`` to ONNX with tf2onnx (run by ``python``, which must have tf2onnx)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(python),
        "-m",
        "tf2onnx.convert",
        "--tflite",
        str(tflite_float32),
        "--output",
        str(out),
        "--opset",
        str(opset),
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0 or not out.is_file():
        err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ModelError(f"{tflite_float32}: tf2onnx could not convert it ({err[:200]})")
    return out


# ------------------------------------------------------------------------------------------------ driver
def _quantization(path: Path) -> str:
    from munet.edge.metadata import read_model_info

    info = read_model_info(path)
    return info.quantization if info is not None else "unknown"


def benchmark_latency(
    tflite_models: Sequence[str | os.PathLike[str]],
    threads: str | Sequence[int | str] = "1,2,all",
    runs: int = 50,
    warmup: int = 5,
    images: Sequence[str | os.PathLike[str]] | None = None,
    frame_size: tuple[int, int] | None = None,
    onnx: bool = False,
    onnx_model: str | os.PathLike[str] | None = None,
    onnx_python_path: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    command: str | None = None,
    measure_peak: bool = True,
) -> dict[str, Any]:
    """Benchmark each TFLite variant (and optionally ONNX Runtime) at each thread count; write a report.

    Args:
        tflite_models: ``.tflite`` files (their quantization is read from the embedded metadata).
        threads: thread counts, e.g. ``"1,2,all"``.
        runs, warmup: timed and untimed frames per measurement (the issue asks >= 50 timed runs).
        images: image files used as frames (cycled); default: deterministic noise frames.
        frame_size: (H, W) of the noise frames (default: the model input size).
        onnx: also time the float32 network on ONNX Runtime (converted from the float32 variant with tf2onnx
            unless ``onnx_model`` is given).
        out: folder for ``latency.json`` and ``latency.md`` (nothing written if None).
    """
    from munet.benchmarks import report
    from munet.benchmarks.flops import count_tflite_macs
    from munet.edge.runtime import read_tflite

    counts = parse_threads(threads)
    variants: dict[str, dict[str, Any]] = {}
    for m in tflite_models:
        path = Path(m)
        read_tflite(path)  # one-line error for a missing / non-TFLite file
        name = path.stem if path.stem not in variants else path.as_posix()
        macs = count_tflite_macs(path)
        variants[name] = {
            "kind": "tflite",
            "path": path.as_posix(),
            "quantization": _quantization(path),
            "size_bytes": path.stat().st_size,
            "macs": macs.macs,
            "results": {},
        }
    if onnx:
        py = onnx_python(onnx_python_path)
        if py is None:
            raise InputError(
                "--onnx needs a Python with onnxruntime and tf2onnx: create .venv-onnx "
                "(python -m venv .venv-onnx && .venv-onnx/bin/pip install onnxruntime tf2onnx "
                "tensorflow-cpu && .venv-onnx/bin/pip install --no-deps -e .) or pass --onnx-python"
            )
        if onnx_model is None:
            floats = [v for v in variants.values() if v["quantization"] == "float32"]
            if not floats:
                raise InputError(
                    "--onnx: pass a float32 .tflite among --tflite (it is converted with tf2onnx) "
                    "or an .onnx file with --onnx-model"
                )
            src = Path(floats[0]["path"])
            target = (Path(out) if out else src.parent) / f"{src.stem}.onnx"
            onnx_model = export_onnx(src, target, py)
        onnx_model = Path(onnx_model)
        variants["onnxruntime-float32"] = {
            "kind": "onnx",
            "path": onnx_model.as_posix(),
            "quantization": "float32",
            "size_bytes": onnx_model.stat().st_size,
            "python": py.as_posix(),
            "macs": next((v["macs"] for v in variants.values() if v["quantization"] == "float32"), None),
            "results": {},
        }
    image_list = [str(p) for p in images] if images else None
    peaks: dict[str, float] = {}
    for t in counts:
        if measure_peak:
            peaks[str(t)] = run_worker({"kind": "peak", "threads": t})["gflops"]
        for v in variants.values():
            spec = {
                "kind": v["kind"],
                "model": v["path"],
                "threads": t,
                "runs": runs,
                "warmup": warmup,
                "images": image_list,
                "frame_size": list(frame_size) if frame_size else None,
            }
            res = run_worker(spec, v.get("python"))
            infer = res["stages"]["infer_ms"]["median"]
            res["gflops"] = 2.0 * v["macs"] / (infer / 1e3) / 1e9 if v["macs"] and infer > 0 else None
            v["results"][str(t)] = res
    result = {
        **report.provenance(command),
        "runs": runs,
        "warmup": warmup,
        "threads": counts,
        "frames": "images" if image_list else "noise",
        "float32_matmul_peak_gflops": peaks,
        "variants": variants,
        "ratios": speed_ratios(variants),
    }
    if out is not None:
        out = Path(out)
        report.write_json(out / "latency.json", result)
        report.write_markdown(out / "latency.md", latency_markdown(result))
    return result


def speed_ratios(variants: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per thread count: int8 latency as a ratio of the float32 TFLite and the ONNX Runtime float32 latency
    (inference and end-to-end medians; < 1 means int8 is faster)."""

    def pick(pred: Any) -> dict[str, Any] | None:
        return next((v for v in variants.values() if pred(v)), None)

    int8 = pick(lambda v: v["kind"] == "tflite" and v["quantization"] == "int8")
    refs = {
        "float32_tflite": pick(lambda v: v["kind"] == "tflite" and v["quantization"] == "float32"),
        "onnxruntime_float32": pick(lambda v: v["kind"] == "onnx"),
    }
    out: dict[str, dict[str, float]] = {}
    if int8 is None:
        return out
    for t, res in int8["results"].items():
        row: dict[str, float] = {}
        for ref_name, ref in refs.items():
            if ref is None or t not in ref["results"]:
                continue
            for stage in ("infer_ms", "e2e_ms"):
                a = res["stages"][stage]["median"]
                b = ref["results"][t]["stages"][stage]["median"]
                row[f"int8_vs_{ref_name}_{stage[:-3]}"] = a / b if b > 0 else float("nan")
        out[t] = row
    return out


def latency_markdown(result: dict[str, Any]) -> str:
    """Markdown report of :func:`benchmark_latency`'s result."""
    from munet.benchmarks import report

    rows = []
    for name, v in result["variants"].items():
        for t, res in v["results"].items():
            s = res["stages"]
            rows.append(
                [
                    name,
                    v["quantization"],
                    t,
                    round(v["size_bytes"] / 1e6, 2),
                    f"{s['pre_ms']['median']:.2f} / {s['pre_ms']['p90']:.2f}",
                    f"{s['infer_ms']['median']:.2f} / {s['infer_ms']['p90']:.2f}",
                    f"{s['post_ms']['median']:.2f} / {s['post_ms']['p90']:.2f}",
                    f"{s['e2e_ms']['median']:.2f} / {s['e2e_ms']['p90']:.2f}",
                    round(res["peak_rss_mb"], 1),
                    None if res.get("gflops") is None else round(res["gflops"], 1),
                    res.get("backend", ""),
                ]
            )
    lines = [
        f"# Latency ({result['runs']} timed runs after {result['warmup']} warm-up, {result['frames']} frames)\n",
        report.provenance_markdown(result),
        "\nTimes in ms, median / p90; each row is a fresh process.\n\n",
        report.markdown_table(
            [
                "model",
                "quantization",
                "threads",
                "MB",
                "pre",
                "inference",
                "post",
                "end to end",
                "peak RSS MB",
                "GFLOP/s",
                "runtime",
            ],
            rows,
        ),
    ]
    peaks = result.get("float32_matmul_peak_gflops") or {}
    if peaks:
        lines.append(
            "\nThis machine's float32 peak (NumPy/BLAS 1024² matmul): "
            + ", ".join(f"{t} thread(s): {g:.1f} GFLOP/s" for t, g in peaks.items())
            + "\n"
        )
    if result.get("ratios"):
        lines.append("\n## int8 latency as a ratio (< 1: int8 faster)\n\n")
        keys = sorted({k for r in result["ratios"].values() for k in r})
        lines.append(
            report.markdown_table(
                ["threads", *keys], [[t, *(r.get(k) for k in keys)] for t, r in result["ratios"].items()]
            )
        )
    return "".join(lines)


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
