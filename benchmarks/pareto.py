"""Accuracy vs. edge latency over MU-Net's width multiplier alpha and input size (the Pareto front).

For each (alpha, size): train a MU-Net (``munet.train.trainer``), convert it to int8 (``munet.convert``),
score the Keras float and int8 models on the validation pairs (per-image Dice, original size) and time
the int8 model end to end (fresh process, ``threads`` threads). When every point is done, all int8
models are timed again round-robin in one process (``latency.time_interleaved``, end to end on one
validation image) and that pass is the ``latency_ms`` of the front: points trained minutes apart
were otherwise timed under different machine load. The per-point figure stays as ``latency_alone_ms``.

Only alpha = 1.0 has ImageNet MobileNetV2 weights offline (``../shared/weights/``); the other points are
trained FROM SCRATCH and are marked so, which handicaps them: compare them with each other, and the
alpha = 1.0 point with and without weights.

The default grid is the issue's (alpha in {0.35, 0.5, 1.0, 1.4} x sizes); a smoke configuration
(``alphas=[0.35], sizes=[(64, 64)], epochs=1``) runs in a couple of minutes.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from munet.benchmarks import report
from munet.errors import InputError

PRETRAINED_ALPHA = 1.0
ALONE_TIMING = "each point in a fresh process right after its training"  # sweeps from before the interleaved pass


def _subset(folder: Path, n: int | None, dest: Path, seed: int = 0) -> Path:
    """``folder`` itself, or ``dest`` holding links to ``n`` image/mask pairs drawn with ``seed``.

    A seeded sample, not the first ``n`` files: ISIC's file order follows its archive history, so the first
    pairs are not a fair sample of the set (the same sampler as ``munet-bench compare``).
    """
    if not n:
        return folder
    from munet.benchmarks.compare import subset_folder
    from munet.train.datasets import find_pairs

    pairs = find_pairs(folder)
    return subset_folder(pairs, n, seed, dest)[0] if n < len(pairs) else folder


def pareto_front(points: Sequence[dict[str, Any]], x: str = "latency_ms", y: str = "dice_int8") -> list[int]:
    """Indices of the points no other point beats on both ``x`` (lower is better) and ``y`` (higher)."""
    front = []
    for i, p in enumerate(points):
        dominated = any(
            q[x] <= p[x] and q[y] >= p[y] and (q[x] < p[x] or q[y] > p[y]) for j, q in enumerate(points) if j != i
        )
        if not dominated:
            front.append(i)
    return front


def run_pareto(
    data: str | os.PathLike[str] | None = None,
    val_data: str | os.PathLike[str] | None = None,
    alphas: Sequence[float] = (0.35, 0.5, 1.0, 1.4),
    sizes: Sequence[tuple[int, int]] = ((128, 128), (192, 256), (256, 256)),
    epochs: int = 10,
    limit: int | None = None,
    weights: str | os.PathLike[str] | None = None,
    threads: int = 2,
    runs: int = 30,
    out: str | os.PathLike[str] = "benchmarks/results/pareto",
    batch: int = 8,
    echo: Callable[[str], None] = print,
    command: str | None = None,
    runs_dir: str | os.PathLike[str] = "runs/pareto",
    reuse: bool = False,
) -> dict[str, Any]:
    """Train, convert and measure every (alpha, size); write ``pareto.json``, ``pareto.md`` and ``pareto.png``.

    The results are rewritten after every point, and each point's numbers are kept in
    ``runs_dir/<tag>/point.json``: with ``reuse`` a rerun of an interrupted sweep skips finished points.

    Args:
        data: training pairs (default: the synthetic set, 96 train + 24 val images).
        val_data: validation pairs (default: ``data``'s ``val`` sibling when ``data`` ends in ``train``, else
            a synthetic set / the trainer's 20 % split is NOT used: pass it explicitly).
        weights: ImageNet MobileNetV2 alpha=1.0 ``.h5`` used for the alpha=1.0 points (others: from scratch).
        limit: use a seeded sample of ``limit`` training pairs (all when None).
        runs_dir: where the trained models go (outside the committed results: they are tens of MB).
    """
    from munet.benchmarks.accuracy import evaluate_accuracy, load_samples
    from munet.benchmarks.latency import benchmark_latency
    from munet.convert.api import Converter
    from munet.train.config import make_config
    from munet.train.trainer import train

    out, runs_dir = Path(out), Path(runs_dir)
    prov = report.provenance(command)
    if data is None:
        from munet.train.synthetic import make_synthetic_dataset

        train_dir = make_synthetic_dataset(runs_dir / "data" / "train", n=96, size=(192, 256), seed=0)
        val_dir = make_synthetic_dataset(runs_dir / "data" / "val", n=24, size=(192, 256), seed=1)
    else:
        train_dir = Path(data)
        if val_data is None and train_dir.name == "train" and (train_dir.parent / "val").is_dir():
            val_data = train_dir.parent / "val"
        if val_data is None:
            raise InputError(f"{data}: pass --val-data DIR (the Pareto points are scored on one fixed set)")
        val_dir = Path(val_data)
    train_dir = _subset(train_dir, limit, runs_dir / "data" / "train_subset")
    samples = load_samples(val_dir)
    points: list[dict[str, Any]] = []
    result = {
        **prov,
        "train_data": train_dir.as_posix(),
        "val_data": val_dir.as_posix(),
        "limit": limit,
        "epochs": epochs,
        "threads": threads,
        "runs": runs,
        "points": points,
        "plot": "pareto.png",
    }
    for alpha in alphas:
        for size in sizes:
            tag = f"a{alpha:g}_{size[0]}x{size[1]}"
            pretrained = alpha == PRETRAINED_ALPHA and weights is not None
            saved = runs_dir / tag / "point.json"
            if reuse and saved.is_file():
                points.append(json.loads(saved.read_text()))
                echo(f"[pareto] {tag}: reusing {saved}")
                _write(result, out)
                continue
            t0 = time.perf_counter()
            echo(f"[pareto] {tag}: training {epochs} epoch(s) {'from ImageNet' if pretrained else 'from scratch'}")
            cfg = make_config(
                overrides={
                    "data": str(train_dir),
                    "val_data": str(val_dir),
                    "dataset": "folder",
                    "alpha": alpha,
                    "size": list(size),
                    "epochs": epochs,
                    "batch": batch,
                    "out": str(runs_dir / tag),
                    "encoder_weights": str(weights) if pretrained else "none",
                    "patience": max(epochs, 1),
                }
            )
            run = train(cfg)
            best = run.run_dir / "best.keras"
            int8 = runs_dir / tag / "munet_int8.tflite"
            with Converter(best) as conv:
                conv.set_calibration(train_dir, calib_count=64)
                conv.convert("int8", int8)
            acc = evaluate_accuracy(best, [int8], samples, worst=0, command=prov["command"])
            lat = benchmark_latency(
                [int8],
                threads=str(threads),
                runs=runs,
                warmup=3,
                measure_peak=False,
                images=[str(p) for p in sorted((val_dir / "images").iterdir())[:8]],
            )
            v = lat["variants"][int8.stem]
            res = v["results"][str(threads)]
            points.append(
                {
                    "alpha": alpha,
                    "size": list(size),
                    "pretrained": pretrained,
                    "init": "ImageNet" if pretrained else "scratch",
                    "epochs": run.epochs_completed,
                    "dice_float": acc["models"]["keras-float"]["per-image"]["dice"],
                    "dice_int8": acc["models"][int8.stem]["per-image"]["dice"],
                    "agreement_dice": acc["models"][int8.stem]["agreement_with_float"]["dice"],
                    "latency_ms": res["stages"]["e2e_ms"]["median"],
                    "latency_p90_ms": res["stages"]["e2e_ms"]["p90"],
                    "gmacs": v["macs"] / 1e9,
                    "size_mb": v["size_bytes"] / 1e6,
                    "peak_rss_mb": res["peak_rss_mb"],
                    "seconds": round(time.perf_counter() - t0, 1),
                }
            )
            report.write_json(saved, points[-1])
            echo(f"[pareto] {tag}: Dice int8 {points[-1]['dice_int8']:.3f}, {points[-1]['latency_ms']:.1f} ms")
            _write(result, out)
    if retime_points(points, runs_dir, samples[0].image, runs, threads):
        result["latency_method"] = f"interleaved: all {len(points)} int8 models round-robin, end to end, one process"
        echo(f"[pareto] {result['latency_method']}")
        _write(result, out)
    return result


def point_model(runs_dir: Path, point: dict[str, Any]) -> Path:
    """The int8 model file of a point (``runs_dir/a<alpha>_<H>x<W>/munet_int8.tflite``)."""
    return runs_dir / f"a{point['alpha']:g}_{point['size'][0]}x{point['size'][1]}" / "munet_int8.tflite"


def retime_points(points: list[dict[str, Any]], runs_dir: Path, frame: Any, runs: int, threads: int) -> bool:
    """Time every point's int8 model round-robin; False (nothing changed) when a model file is missing."""
    from munet.benchmarks.latency import time_interleaved

    files = [point_model(runs_dir, p) for p in points]
    if not files or not all(f.is_file() for f in files):
        return False
    for p, s in zip(points, time_interleaved(files, frame, runs, threads, end_to_end=True), strict=True):
        p.setdefault("latency_alone_ms", p["latency_ms"])
        p["latency_ms"], p["latency_p90_ms"] = s["median"], s["p90"]
    return True


def _write(result: dict[str, Any], out: Path) -> None:
    """Mark the front and (re)write ``pareto.json``/``.md``/``.png``: a cut-short sweep keeps its points."""
    front = pareto_front(result["points"])
    for i, p in enumerate(result["points"]):
        p["on_front"] = i in front
    report.write_json(out / "pareto.json", result)
    plot_pareto(result, out / "pareto.png")
    report.write_markdown(out / "pareto.md", pareto_markdown(result))


def plot_pareto(result: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Dice (int8) vs. int8 latency; filled markers: ImageNet encoder, hollow: trained from scratch."""
    plt = report.pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    alphas = sorted({p["alpha"] for p in result["points"]})
    colors = {a: plt.cm.viridis(i / max(len(alphas) - 1, 1)) for i, a in enumerate(alphas)}
    for p in result["points"]:
        c = colors[p["alpha"]]
        ax.scatter(
            p["latency_ms"],
            p["dice_int8"],
            s=60,
            edgecolors=[c],
            facecolors=[c] if p["pretrained"] else "none",
            linewidths=1.5,
        )
        ax.annotate(
            f"α={p['alpha']:g} {p['size'][0]}x{p['size'][1]}" + ("" if p["pretrained"] else " (scratch)"),
            (p["latency_ms"], p["dice_int8"]),
            fontsize=7,
            xytext=(4, 3),
            textcoords="offset points",
        )
    front = sorted((p for p in result["points"] if p.get("on_front")), key=lambda p: p["latency_ms"])
    if len(front) > 1:
        ax.plot([p["latency_ms"] for p in front], [p["dice_int8"] for p in front], "--", color="gray", lw=1)
    ax.set_xlabel(f"int8 latency, ms (end to end, {result['threads']} threads)")
    ax.set_ylabel("Dice (int8, per-image mean)")
    ax.set_title("MU-Net: accuracy vs. edge latency (hollow = trained from scratch)")
    ax.grid(alpha=0.3)
    return report.save_figure(fig, path)


def pareto_markdown(result: dict[str, Any]) -> str:
    """Markdown table of :func:`run_pareto`'s points."""
    rows = [
        [
            f"{p['alpha']:g}",
            f"{p['size'][0]}x{p['size'][1]}",
            p["init"],
            p["epochs"],
            p["gmacs"],
            p["size_mb"],
            p["dice_float"],
            p["dice_int8"],
            p["agreement_dice"],
            p["latency_ms"],
            "yes" if p["on_front"] else "",
        ]
        for p in result["points"]
    ]
    return "".join(
        [
            f"# Pareto: Dice vs. int8 latency (train `{result['train_data']}`, val `{result['val_data']}`)\n\n",
            f"int8 ms: end-to-end median at {result.get('threads', '?')} thread(s), "
            f"{result.get('latency_method', ALONE_TIMING)}.\n\n",
            report.provenance_markdown(result),
            "\n",
            report.markdown_table(
                [
                    "alpha",
                    "size",
                    "encoder init",
                    "epochs",
                    "GMACs",
                    "MB",
                    "Dice float",
                    "Dice int8",
                    "int8 vs float Dice",
                    "int8 ms",
                    "Pareto",
                ],
                rows,
            ),
            f"\n![Pareto plot]({result['plot']})\n\n",
            "Only alpha=1.0 has offline ImageNet weights; 'scratch' points start from random weights "
            "and are handicapped by it.\n",
        ]
    )
