"""Is the input pipeline the training bottleneck? Images/s of the tf.data pipeline alone vs. a MU-Net training step.

Run: ``python -m munet.train.pipeline_throughput [--data ../shared/data/isic/train] [--size 192x256]``.
Writes ``benchmarks/results/pipeline_throughput.{json,md}`` (or ``--out``). Without ``--data`` (or when the
default shared folder is absent) it uses the synthetic dermoscopy-like set.

Measured: decoding once (``load_arrays``, thread pool), the training pipeline alone (shuffle + augmentation +
batch + prefetch) with the paper's augmentation and with every augmentation on, a training step of a small
MU-Net on a fixed in-memory batch, and the same step fed batch by batch from the pipeline. The pipeline is not
the bottleneck when it delivers several times more images/s than the step and the fed step keeps the step's speed.
Rates are images per second of wall time over the whole measurement (steady state, after warm-up).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

from munet.device import cpu_model, int8_instructions

DEFAULT_DATA = Path("../shared/data/isic/train")
DEFAULT_OUT = Path("benchmarks/results")


def _rate(fn, images_per_call: int, min_seconds: float, min_calls: int = 3) -> dict:
    """Call ``fn`` until ``min_seconds`` and ``min_calls`` have passed -> images/s (overall, and of the median call)."""
    times = []
    start = time.perf_counter()
    while len(times) < min_calls or time.perf_counter() - start < min_seconds:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    median = times[len(times) // 2]
    return {
        "images_per_s": round(images_per_call * len(times) / sum(times), 1),
        "images_per_s_median_call": round(images_per_call / median, 1),
        "calls": len(times),
    }


def measure(
    data: Path | None,
    size: tuple[int, int],
    batch: int,
    limit: int,
    alpha: float,
    seconds: float,
    workers: int,
) -> dict:
    """Run every measurement and return the results as a JSON-able dict."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import cv2
    import keras
    import numpy as np
    import tensorflow as tf

    import munet
    from munet.data import find_pairs
    from munet.train.losses import get_loss
    from munet.train.models import build_model
    from munet.train.pipeline import AugmentConfig, load_arrays, make_dataset
    from munet.train.synthetic import make_synthetic_dataset

    tmp = None
    if data is None:
        tmp = tempfile.TemporaryDirectory()
        data = make_synthetic_dataset(Path(tmp.name) / "synthetic", n=limit, size=size, seed=0)
        source = f"synthetic ({limit} images)"
    else:
        source = str(data)
    pairs = find_pairs(data)[:limit]

    t = time.perf_counter()
    x, y = load_arrays(pairs, size, workers=workers)
    decode_s = time.perf_counter() - t
    decode = {"images": len(pairs), "seconds": round(decode_s, 2), "images_per_s": round(len(pairs) / decode_s, 1)}
    results: dict = {"decode_once": decode}

    configs = {
        "paper (rotation 20 deg + hflip)": AugmentConfig(),
        "all (rotation, h+v flip, brightness, contrast, noise)": AugmentConfig(
            vflip=True, brightness=0.1, contrast=0.1, noise_std=0.02
        ),
        "none (shuffle + batch only)": AugmentConfig(rotation_deg=0.0, hflip=False),
    }
    pipeline = {}
    for name, config in configs.items():
        ds = make_dataset(x, y, batch, training=True, augment=config, seed=0, drop_remainder=True).repeat()
        it = iter(ds)
        next(it)  # build and warm up
        pipeline[name] = _rate(lambda it=it: next(it), batch, seconds)
    results["pipeline_alone"] = pipeline

    keras.utils.set_random_seed(0)
    model = build_model("munet", alpha=alpha, input_shape=(*size, 3), encoder_weights=None)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=get_loss("focal-tversky"))
    xb, yb = tf.constant(x[:batch]), tf.constant(y[:batch])
    t = time.perf_counter()
    model.train_on_batch(xb, yb)
    first_step = time.perf_counter() - t
    for _ in range(3):  # later calls can still be slow while TF/XLA settle
        model.train_on_batch(xb, yb)
    ds = make_dataset(x, y, batch, training=True, seed=0, drop_remainder=True).repeat()
    it = iter(ds)
    next(it)  # fill the shuffle buffer before timing
    # Interleaved (bare, fed, bare) so a change in the shared machine's load hits both alike.
    bare1 = _rate(lambda: model.train_on_batch(xb, yb), batch, seconds / 2)
    fed = _rate(lambda: model.train_on_batch(*next(it)), batch, seconds)
    bare2 = _rate(lambda: model.train_on_batch(xb, yb), batch, seconds / 2)
    results["train_step"] = {
        "model": f"MU-Net alpha={alpha} (random init), Adam, focal Tversky",
        "params": int(model.count_params()),
        "first_step_s": round(first_step, 1),
        "images_per_s": round((bare1["images_per_s"] + bare2["images_per_s"]) / 2, 1),
        "rounds": [bare1, bare2],
    }
    results["step_fed_by_pipeline"] = fed

    paper = pipeline["paper (rotation 20 deg + hflip)"]["images_per_s"]
    step = results["train_step"]["images_per_s"]
    results["ratio_pipeline_to_step"] = round(paper / step, 1)
    results["fed_vs_step"] = round(results["step_fed_by_pipeline"]["images_per_s"] / step, 2)
    if tmp is not None:
        tmp.cleanup()
    return {
        "what": "tf.data input pipeline throughput vs. MU-Net training step (images/s)",
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m munet.train.pipeline_throughput " + shlex.join(sys.argv[1:]),
        "machine": {
            "cpu": cpu_model(),
            "int8": int8_instructions(),
            "logical_cpus": os.cpu_count(),
            "load_average_1m_at_start": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        },
        "versions": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
            "opencv": cv2.__version__,
            "munet": munet.__version__,
        },
        "settings": {"data": source, "pairs": len(pairs), "size": list(size), "batch": batch, "alpha": alpha},
        "results": results,
    }


def to_markdown(report: dict) -> str:
    """A short Markdown rendering of :func:`measure`'s report."""
    r, s = report["results"], report["settings"]
    lines = [
        "# Input pipeline throughput vs. training step",
        "",
        f"- Command: `{report['command']}`",
        f"- Date: {report['date']}; CPU: {report['machine']['cpu']} ({report['machine']['logical_cpus']} logical), "
        f"1-min load at start {report['machine']['load_average_1m_at_start']} (shared machine: trust ratios more "
        "than absolutes)",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
        f"- Data: {s['data']}, {s['pairs']} pairs at {s['size'][0]}x{s['size'][1]}, batch {s['batch']}",
        "",
        "| stage | images/s |",
        "|---|---|",
        f"| decode once (`load_arrays`, thread pool) | {r['decode_once']['images_per_s']} |",
    ]
    for name, value in r["pipeline_alone"].items():
        lines.append(f"| pipeline alone, augmentation {name} | {value['images_per_s']} |")
    step = r["train_step"]
    lines += [
        f"| training step, {step['model']}, {step['params']:,} params (first step {step['first_step_s']} s) "
        f"| {step['images_per_s']} |",
        f"| training step fed by the pipeline (paper augmentation) | {r['step_fed_by_pipeline']['images_per_s']} |",
        "",
        f"The pipeline alone delivers {r['ratio_pipeline_to_step']}x the images/s of the training step; "
        f"the step fed by the pipeline runs at {r['fed_vs_step']}x the speed of the step on a fixed batch "
        "(pipeline and step share the same cores).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None, help=f"pairs folder (default {DEFAULT_DATA} if present)")
    parser.add_argument("--synthetic", action="store_true", help="use the synthetic set even if --data exists")
    parser.add_argument("--size", default="192x256", help="model input HxW (default 192x256)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--limit", type=int, default=400, help="pairs to decode (default 400)")
    parser.add_argument("--alpha", type=float, default=0.35, help="MU-Net width of the timed model (default 0.35)")
    parser.add_argument("--seconds", type=float, default=8.0, help="time per measurement (default 8)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    from munet.atomic import write_text_atomic
    from munet.edge.preprocess import parse_size

    data = args.data
    if data is None and not args.synthetic and DEFAULT_DATA.is_dir():
        data = DEFAULT_DATA
    if args.synthetic:
        data = None
    report = measure(data, parse_size(args.size), args.batch, args.limit, args.alpha, args.seconds, args.workers)
    args.out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.out / "pipeline_throughput.json", json.dumps(report, indent=2) + "\n")
    markdown = to_markdown(report)
    write_text_atomic(args.out / "pipeline_throughput.md", markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
