"""Latency of TFLite variants (and the ONNX Runtime peer) per thread count, all timed in one interleaved pass.

Every (variant, thread count) is loaded into ONE fresh process and timed round-robin
(:mod:`munet.benchmarks.workers`), so machine load lands on all rows alike; the pass's load and CPU steal are
recorded and judged by :mod:`munet.device`'s busy rule. Per row: median / p10 / p90 of pre-processing,
inference, post-processing and end to end, peak RSS from a fresh process per row, and achieved GFLOP/s
(``2 * MACs / median inference``) next to the float32 BLAS peak with the same threads. The ONNX Runtime peer is the
float32 TFLite file exported with tf2onnx; when this Python lacks onnxruntime the whole pass runs in one that has it
(``--onnx-python``, ``$MUNET_ONNX_PYTHON``, ``.venv-onnx``), whose LiteRT backend the ``runtime`` column names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from munet.atomic import write_json
from munet.benchmarks import records
from munet.benchmarks.render import render
from munet.benchmarks.workers import run_worker
from munet.device import BUSY_RULE, BusyMachine, busy_reasons, describe_machine, machine_state, provenance, settle
from munet.edge.timing import STAGE_NAMES, STAGES, median_p90, parse_threads
from munet.errors import InputError


def _onnx_variant(variants: dict[str, dict[str, Any]], onnx_model: Any, python: Any, out: Any) -> dict[str, Any]:
    from munet.convert.onnx import export_onnx, require_onnx

    # The whole pass runs in that Python: it must time the TFLite rows on LiteRT too, not on tf.lite's interpreter.
    py = require_onnx(python, need=("onnxruntime", "ai_edge_litert"))
    float32 = next((v for v in variants.values() if v["quantization"] == "float32"), None)
    if onnx_model is None:
        if float32 is None:
            raise InputError(
                "--onnx: pass a float32 .tflite among --tflite (it is exported with tf2onnx) "
                "or an .onnx file with --onnx-model"
            )
        src = Path(float32["path"])
        onnx_model = export_onnx(src, (Path(out) if out else src.parent) / f"{src.stem}.onnx", require_onnx(python))
    onnx_model = Path(onnx_model)
    return {
        "kind": "onnx",
        "path": onnx_model.as_posix(),
        "quantization": "float32",
        "size_bytes": onnx_model.stat().st_size,
        "python": py.as_posix(),
        "macs": float32["macs"] if float32 else None,
        "results": {},
    }


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
    strict: bool = False,
) -> dict[str, Any]:
    """Time every TFLite variant (and optionally ONNX Runtime) at every thread count in one pass; write a report.

    Args:
        tflite_models: ``.tflite`` files (their quantization is read from the embedded metadata).
        threads: thread counts, e.g. ``"1,2,all"``.
        runs, warmup: timed rounds and untimed frames per variant.
        images: image files used as frames (cycled); default: deterministic noise frames.
        frame_size: (H, W) of the noise frames (default: the model input size).
        onnx: also time the float32 network on ONNX Runtime (exported from the float32 variant with tf2onnx
            unless ``onnx_model`` is given).
        out: folder for ``latency.json`` and ``latency.md`` (nothing written if None).
        strict: raise :class:`~munet.device.BusyMachine` (nothing written) when the pass is busy.
    """
    from munet.convert.ops_report import count_tflite_macs
    from munet.edge.metadata import read_model_info
    from munet.edge.runtime import read_tflite

    counts = parse_threads(threads)
    variants: dict[str, dict[str, Any]] = {}
    for m in tflite_models:
        path = Path(m)
        read_tflite(path)  # one-line error for a missing / non-TFLite file
        info = read_model_info(path)
        variants[path.stem if path.stem not in variants else path.as_posix()] = {
            "kind": "tflite",
            "path": path.as_posix(),
            "quantization": info.quantization if info is not None else "unknown",
            "size_bytes": path.stat().st_size,
            "macs": count_tflite_macs(path).macs,
            "results": {},
        }
    if onnx:
        variants["onnxruntime-float32"] = _onnx_variant(variants, onnx_model, onnx_python_path, out)
    python = variants["onnxruntime-float32"]["python"] if onnx else None
    frames = {
        "images": [str(p) for p in images] if images else None,
        "frame_size": list(frame_size) if frame_size else None,
    }
    rows = [(name, t) for t in counts for name in variants]
    specs = [{"kind": variants[n]["kind"], "model": variants[n]["path"], "threads": t} for n, t in rows]
    settled = settle()  # $MUNET_SETTLE_S: the conversions above (or the ONNX export) must not read as load
    start = machine_state()  # before any of this benchmark's processes ran
    timed = run_worker(
        {"kind": "interleaved", "variants": specs, "runs": runs, "warmup": warmup, "threads": max(counts), **frames},
        python,
    )
    machine = {**timed["machine"], "load_before": start["loadavg"] or timed["machine"]["load_before"]}
    machine["settled_s"] = round(settled + machine.get("settled_s", 0.0), 1)
    for (name, t), spec, res in zip(rows, specs, timed["results"], strict=True):
        v = variants[name]
        res["peak_rss_mb"] = run_worker({"kind": "rss", "variant": spec, "threads": t, **frames}, python)["peak_rss_mb"]
        infer = res["stages"]["infer_ms"]["median"]
        res["gflops"] = 2.0 * v["macs"] / (infer / 1e3) / 1e9 if v["macs"] and infer > 0 else None
        v["results"][str(t)] = res
    peaks = {str(t): run_worker({"kind": "peak", "threads": t})["gflops"] for t in counts} if measure_peak else {}
    busy = busy_reasons(machine, {f"{n}@{t}": variants[n]["results"][str(t)]["stages"]["e2e_ms"] for n, t in rows})
    result = {
        **provenance(command),
        "runs": runs,
        "warmup": warmup,
        "threads": counts,
        "frames": "images" if images else "noise",
        "method": "interleaved: every (variant, threads) round-robin in one process",
        "load": machine,  # the pass's load record ("machine" is the provenance: CPU, versions)
        "busy": busy,
        "busy_rule": BUSY_RULE,
        "float32_matmul_peak_gflops": peaks,
        "variants": variants,
        "ratios": speed_ratios(variants),
    }
    if busy and strict:
        raise BusyMachine("; ".join(busy))
    if out is not None:
        out = Path(out)
        write_json(out / "latency.json", result)
        records.write_markdown(out / "latency.md", latency_markdown(result))
    return result


def speed_ratios(variants: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per thread count: int8 latency as a ratio of the float32 TFLite and the ONNX Runtime float32 latency
    (inference and end-to-end medians; < 1 means int8 is faster)."""

    def pick(kind: str, quantization: str) -> dict[str, Any] | None:
        return next((v for v in variants.values() if (v["kind"], v["quantization"]) == (kind, quantization)), None)

    int8 = pick("tflite", "int8")
    refs = {"float32_tflite": pick("tflite", "float32"), "onnxruntime_float32": pick("onnx", "float32")}
    if int8 is None:
        return {}
    out: dict[str, dict[str, float]] = {}
    for t, res in int8["results"].items():
        out[t] = {}
        for ref_name, ref in refs.items():
            if ref is None or t not in ref["results"]:
                continue
            for stage in ("infer_ms", "e2e_ms"):
                a, b = res["stages"][stage]["median"], ref["results"][t]["stages"][stage]["median"]
                out[t][f"int8_vs_{ref_name}_{stage[:-3]}"] = a / b if b > 0 else float("nan")
    return out


def latency_table(result: dict[str, Any]) -> str:
    """The Markdown table of every (variant, threads) row of :func:`benchmark_latency`'s result."""
    header = ["model", "quantization", "threads", "MB", *STAGE_NAMES.values(), "peak RSS MB", "GFLOP/s", "runtime"]
    rows = []
    for name, v in result["variants"].items():
        for t, res in v["results"].items():
            times = [median_p90(res["stages"][k]) for k in STAGES]
            gflops = None if res.get("gflops") is None else round(res["gflops"], 1)
            mb, rss = round(v["size_bytes"] / 1e6, 2), round(res["peak_rss_mb"], 1)
            rows.append([name, v["quantization"], t, mb, *times, rss, gflops, res.get("backend", "")])
    return render(rows, header)


def latency_markdown(result: dict[str, Any]) -> str:
    """Markdown report of :func:`benchmark_latency`'s result."""
    busy = f"\n\n> **BUSY machine** ({'; '.join(result['busy'])}): {result['busy_rule']}." if result["busy"] else ""
    lines = [
        f"# Latency ({result['runs']} timed runs after {result['warmup']} warm-up, {result['frames']} frames)\n",
        records.provenance_markdown(result),
        f"\nTimes in ms, median / p90; all rows timed round-robin in one process ({result['runs']} rounds); peak RSS "
        f"from a fresh process per row. Machine: {describe_machine(result['load'])}.{busy}\n\n",
        latency_table(result),
    ]
    if peaks := result.get("float32_matmul_peak_gflops"):
        per_thread = ", ".join(f"{t} thread(s): {g:.1f} GFLOP/s" for t, g in peaks.items())
        lines.append(f"\nThis machine's float32 peak (NumPy/BLAS 1024² matmul): {per_thread}\n")
    if keys := sorted({k for r in (result.get("ratios") or {}).values() for k in r}):  # needs an int8 and a float
        lines.append("\n## int8 latency as a ratio (< 1: int8 faster)\n\n")
        lines.append(render([[t, *(r.get(k) for k in keys)] for t, r in result["ratios"].items()], ["threads", *keys]))
    return "".join(lines)
