"""Per-block int8 time of a MU-Net: truncated sub-models, converted alike and timed round-robin.

LiteRT's Python interpreter has no per-op profiler, so the model is cut after the encoder, after each decoder
block and after the head; every cut is a sub-model that still computes the skips the rest of the decoder needs (so
the encoder is never pruned), converted to full int8 with the same calibration images, and all cuts are timed
round-robin in one process (bare ``invoke``, no pre/post-processing). A block's time is the difference between
consecutive cuts. ``munet-bench breakdown --keras M.keras --calib-data DIR``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from munet.benchmarks.workers import run_worker
from munet.device import busy_reasons

#: Decoder blocks of :mod:`munet.train.models.decoder` are named ``up1`` (deepest) .. ``up4``; the head ``mask*``.
BLOCKS = ("up1", "up2", "up3", "up4")


def cut_models(model: Any) -> list[tuple[str, Any]]:
    """``[(stage, keras sub-model)]``: ``encoder``, ``up1``..``up4``, ``head`` (the whole model)."""
    import keras

    # The encoder's outputs as called in the outer graph (``.output`` would be its own inner graph's tensors).
    encoder_out = list(model.get_layer("encoder")._inbound_nodes[-1].output_tensors)
    skips = encoder_out[:-1]  # shallowest first; block up_i consumes skips[4 - i]
    cuts = [("encoder", encoder_out)]
    names = [layer.name for layer in model.layers]
    for i, block in enumerate(BLOCKS, start=1):
        last = [n for n in names if n.startswith(f"{block}_")][-1]
        cuts.append((block, [model.get_layer(last).output, *skips[: len(skips) - i]]))
    models = [(stage, keras.Model(model.inputs, outs, name=f"cut_{stage}")) for stage, outs in cuts]
    return [*models, ("head", model)]


def breakdown(
    keras_path: str | Path,
    calib_data: str | Path,
    threads: Sequence[int] = (1, 2),
    runs: int = 100,
    calib_count: int = 50,
    out_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Per-stage int8 ms (median of the cut minus the previous cut) and MACs of the model in ``keras_path``; the
    full-int8 ``cut_<stage>_int8.tflite`` files go to ``out_dir`` (default: a temporary folder)."""
    from munet.convert.export import convert_model, input_size, load_keras, serving_function
    from munet.convert.representative import calibration_arrays, representative_dataset
    from munet.train.models.complexity import count_macs

    model = load_keras(keras_path)
    size = input_size(model)
    calib, _ = calibration_arrays(calib_data, size, count=calib_count, holdout=False)
    work = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="munet-breakdown-"))
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"model": str(keras_path), "input": list(size), "stages": [], "timing": {}}
    cuts: list[tuple[str, Path]] = []
    prev_macs = 0
    for stage, sub in cut_models(model):
        path = work / f"cut_{stage}_int8.tflite"
        path.write_bytes(convert_model(serving_function(sub), "int8", representative_dataset(calib)))
        cuts.append((stage, path))
        macs = int(count_macs(sub))
        result["stages"].append({"stage": stage, "macs": macs - prev_macs, "cumulative_macs": macs})
        prev_macs = macs
    for t in threads:
        # Timed round-robin in a fresh process without TensorFlow: the converter's idle thread pools and its own
        # load in this one made the pass busy (p90/median 2, two threads slower than one).
        variants = [{"kind": "bare", "model": str(p), "threads": t} for _, p in cuts]
        res = run_worker({"kind": "interleaved", "variants": variants, "runs": runs, "warmup": 10, "threads": t})
        stats = [r["stages"]["infer_ms"] for r in res["results"]]
        total, rows, prev = stats[-1]["median"], [], 0.0
        for (stage, _), s in zip(cuts, stats, strict=True):
            ms, prev = s["median"] - prev, s["median"]
            rows.append({"stage": stage, "ms": ms, "share": ms / total if total else 0.0, "cumulative_ms": s})
        busy = busy_reasons(res["machine"], {stage: s for (stage, _), s in zip(cuts, stats, strict=True)})
        result["timing"][str(t)] = {"rows": rows, "total_ms": total, "load": res["machine"], "busy": busy}
    return result


def breakdown_markdown(results: Sequence[dict[str, Any]]) -> str:
    """One table per model: stage, MACs, ms and share per thread count."""
    from munet.benchmarks.render import Column, percent, render

    lines = []
    for r in results:
        timing = r["timing"]
        cols = [Column("stage", "stage"), Column("MMACs", lambda st: f"{st['macs'] / 1e6:.1f}")]
        for t in timing:
            cols += [
                Column(f"ms ({t} thr.)", lambda st, t=t: f"{st[t]['ms']:.3f}"),
                Column("share", f"{t}.share", lambda v: percent(v, 0)),
            ]
        rows = [{**st, **{t: timing[t]["rows"][i] for t in timing}} for i, st in enumerate(r["stages"])]
        totals = ", ".join(f"{v['total_ms']:.2f} ms at {t} thr." for t, v in timing.items())
        busy = [f"{t} thr.: {'; '.join(v['busy'])}" for t, v in timing.items() if v["busy"]]
        lines += [f"### `{r['model']}` ({r['input'][0]}x{r['input'][1]})", "", render(rows, cols)]
        lines += [f"Whole model (bare int8 invoke, median): {totals}." + (f" BUSY: {busy}" if busy else ""), ""]
    return "\n".join(lines)
