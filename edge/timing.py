"""How fast a model runs on THIS device: timed round-robin, with the CPU, its int8 instructions and the load named.

``munet-run MODEL --time`` (:func:`time_model`) is the device maker's check: the same timing rule as every committed
latency (``munet-bench latency`` builds on :func:`round_robin`), on the device itself. Each round runs every call
once on its next frame, so a load spike lands on all variants alike (one variant per fresh process, one after
another, once read 7.1 vs 2.4 ms for two identical int8 graphs on a busy 2-core machine). The load averages and
CPU steal around the pass are recorded and judged by :func:`munet.device.busy_reasons`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from munet.device import (
    busy_reasons,
    cpu_model,
    describe_cpu,
    describe_machine,
    int8_instructions,
    load_record,
    machine_state,
    settle,
)
from munet.errors import InputError

STAGES = ("pre_ms", "infer_ms", "post_ms", "e2e_ms")
STAGE_NAMES = {"pre_ms": "pre", "infer_ms": "inference", "post_ms": "post", "e2e_ms": "end to end"}
Call = Callable[[np.ndarray], dict[str, float]]  # frame -> {pre_ms, infer_ms, post_ms}


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Median, 10th and 90th percentile, min, mean and the number of runs of a list of timings (ms)."""
    a = np.asarray(values, dtype=np.float64)
    return {
        "median": float(np.median(a)),
        "p10": float(np.percentile(a, 10)),
        "p90": float(np.percentile(a, 90)),
        "min": float(a.min()),
        "mean": float(a.mean()),
        "runs": int(a.size),
    }


def median_p90(stats: dict[str, float]) -> str:
    """``"median / p90"`` of a :func:`summarize` result, in ms with two decimals (the reports' cells)."""
    return f"{stats['median']:.2f} / {stats['p90']:.2f}"


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


def frames_for(images: Sequence[str] | None, size: tuple[int, int], count: int = 4) -> list[np.ndarray]:
    """RGB uint8 frames: the given image files (first ``count``) or deterministic noise frames of ``size``."""
    if images:
        from munet.imageio import load_image

        return [load_image(p) for p in list(images)[:count]]
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (*size, 3), dtype=np.uint8) for _ in range(count)]


def round_robin(
    calls: Sequence[tuple[Call, Sequence[np.ndarray]]], runs: int, warmup: int
) -> tuple[list[dict[str, dict[str, float]]], dict[str, Any]]:
    """Time ``calls`` (fn, frames) round-robin: per call, per stage summaries; and the machine record.

    Each call is warmed up ``warmup`` times; then every round runs each call once on its next frame, starting one
    call later each round, so that every call takes every place in the round equally often. (Measured on a 2-core
    AMD EPYC: at 2 threads the first call given still timed 1-3 % slower than an identical graph given later, in
    either order of two files: compare two files in both orders.) Before that,
    :func:`munet.device.settle` waits (``$MUNET_SETTLE_S``) for the load average to settle.
    """
    if runs < 1:
        raise InputError("--runs must be at least 1")
    settled = settle()  # the models were just built/loaded here: let the load average forget it ($MUNET_SETTLE_S)
    for fn, frames in calls:
        for i in range(warmup):
            fn(frames[i % len(frames)])
    recs: list[dict[str, list[float]]] = [{k: [] for k in STAGES} for _ in calls]
    before = machine_state()
    for i in range(runs):
        for j in range(len(calls)):
            (fn, frames), rec = calls[(i + j) % len(calls)], recs[(i + j) % len(calls)]
            t0 = time.perf_counter()
            timings = fn(frames[i % len(frames)])
            rec["e2e_ms"].append((time.perf_counter() - t0) * 1e3)
            for k in ("pre_ms", "infer_ms", "post_ms"):
                rec[k].append(float(timings.get(k, 0.0)))
    record = load_record(before, machine_state(), settled_s=settled)
    return [{k: summarize(v) for k, v in rec.items()} for rec in recs], record


def timed_invoke(invoke: Callable[[], Any]) -> dict[str, float]:
    """``{"infer_ms": ...}`` of one call of ``invoke``."""
    t0 = time.perf_counter()
    invoke()
    return {"infer_ms": (time.perf_counter() - t0) * 1e3}


def tflite_call(
    model: str | os.PathLike[str],
    threads: int | None,
    end_to_end: bool = True,
    backend: str = "auto",
    tta: str = "none",
):
    """``(call, segmenter)`` timing LiteRT: ``segment`` (pre + inference + post; with ``tta``, every flipped pass)
    or ``invoke`` alone."""
    from munet.edge.runtime import Segmenter

    seg = Segmenter(model, threads=threads, backend=backend, tta=tta)
    if end_to_end:
        return (lambda f: seg.segment(f).timings), seg
    prepared: dict[int, np.ndarray] = {}

    def infer(frame: np.ndarray) -> dict[str, float]:
        x = prepared.get(id(frame))
        if x is None:
            x = prepared[id(frame)] = seg.prepare(frame)
        return timed_invoke(lambda: seg.invoke(x))

    return infer, seg


@dataclass
class DeviceTiming:
    """One model timed on this device (:func:`time_model`): per stage median/p10/p90 ms, and where it ran."""

    model: str
    threads: int
    backend: str
    tta: str
    input_size: list[int]
    frames: str
    cpu: str
    int8: list[str]
    stages: dict[str, dict[str, float]]
    machine: dict[str, Any]
    busy: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """The report ``munet-run --time`` prints."""
        h, w = self.input_size
        e2e = self.stages["e2e_ms"]["median"]
        cells = ", ".join(f"{STAGE_NAMES[k]} {median_p90(self.stages[k])}" for k in STAGES)
        out = [
            f"{self.model}: {h}x{w} input, {self.threads} thread(s), {self.backend}, "
            + ("" if self.tta == "none" else f"TTA {self.tta}, ")
            + f"{self.stages['e2e_ms']['runs']} runs on {self.frames}",
            f"  ms median / p90: {cells}; {1e3 / e2e:.0f} images/s" if e2e > 0 else f"  ms median / p90: {cells}",
            f"  on {describe_cpu(self.cpu, self.int8)}; " + describe_machine(self.machine),
        ]
        if self.busy:
            out.append("  busy machine, do not trust these numbers: " + "; ".join(self.busy))
        return out


def time_model(
    model: str | os.PathLike[str],
    threads: int | None = None,
    runs: int = 50,
    warmup: int = 5,
    images: Sequence[str] | None = None,
    backend: str = "auto",
    tta: str = "none",
) -> DeviceTiming:
    """Time ``model`` end to end (pre-processing, inference, mask back at the frame's size) on this device.

    Frames: the first 4 of ``images``, else noise at the model's input size. ``threads`` defaults to every core;
    ``tta`` (``hflip``/``flips``) times the flipped passes too, as ``munet-run --tta`` runs them.
    """
    call, seg = tflite_call(model, threads, backend=backend, tta=tta)
    frames = frames_for(images, seg.input_size)
    stats, record = round_robin([(call, frames)], runs, warmup)
    what = f"{len(frames)} image(s)" if images else f"{len(frames)} noise frames"
    return DeviceTiming(
        model=os.fspath(model),
        threads=seg.threads,
        backend=seg.backend_name,
        tta=tta,
        input_size=list(seg.input_size),
        frames=what,
        cpu=cpu_model(),
        int8=int8_instructions(),
        stages={k: {q: round(v, 3) for q, v in s.items()} for k, s in stats[0].items()},
        machine=record,
        busy=busy_reasons(record, {os.fspath(model): stats[0]["e2e_ms"]}),
    )
