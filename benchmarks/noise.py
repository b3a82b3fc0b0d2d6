"""Robustness to image noise (the paper's Sec. 5.3.5 "Effect of noise"): metrics of each TFLite variant under
Gaussian, speckle and salt-and-pepper noise at several strengths, as a table and a plot.

The paper names the experiment but not its noise models or strengths; ours are:

- ``gaussian``: additive ``N(0, sigma^2)`` on the 0..255 scale, sigma in :data:`DEFAULT_LEVELS`;
- ``speckle``: multiplicative ``x + x * N(0, sigma^2)`` (sigma relative);
- ``salt-and-pepper``: a fraction ``amount`` of pixels set to 0 or 255 (half each).

Noise is drawn from a generator seeded per (seed, noise, strength, image), so reruns are identical.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from munet.atomic import write_json
from munet.benchmarks import records
from munet.benchmarks.render import Column, render
from munet.data import LoadedPair, load_pairs
from munet.device import provenance
from munet.edge.evaluate import SegmenterPredictor, evaluate, run_predictor
from munet.errors import InputError

NOISES = ("gaussian", "speckle", "salt-and-pepper")
#: Strengths per noise type (0 = the clean image is the first point of every curve).
DEFAULT_LEVELS: dict[str, tuple[float, ...]] = {
    "gaussian": (10.0, 20.0, 40.0, 80.0),
    "speckle": (0.1, 0.2, 0.4, 0.8),
    "salt-and-pepper": (0.01, 0.05, 0.1, 0.2),
}
TABLE_METRICS = ("dice", "iou", "accuracy", "precision", "recall")


def add_noise(image: np.ndarray, kind: str, strength: float, rng: np.random.Generator) -> np.ndarray:
    """``image`` (RGB uint8) with ``kind`` noise of ``strength``; returns uint8 of the same shape."""
    if strength <= 0:
        return image.copy()
    x = image.astype(np.float32)
    if kind == "gaussian":
        x = x + rng.normal(0.0, strength, x.shape).astype(np.float32)
    elif kind == "speckle":
        x = x + x * rng.normal(0.0, strength, x.shape).astype(np.float32)
    elif kind == "salt-and-pepper":
        u = rng.random(image.shape[:2])
        x[u < strength / 2] = 0.0
        x[(u >= strength / 2) & (u < strength)] = 255.0
    else:
        raise InputError(f"noise {kind!r}: choose one of {', '.join(NOISES)}")
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def evaluate_noise(
    tflite_models: Sequence[str | os.PathLike[str]],
    data: str | os.PathLike[str] | Sequence[LoadedPair],
    out: str | os.PathLike[str] | None = None,
    levels: dict[str, Sequence[float]] | None = None,
    limit: int | None = None,
    seed: int = 0,
    threads: int | None = None,
    command: str | None = None,
) -> dict[str, Any]:
    """Per-image-mean metrics of each model on clean and noisy copies of ``data``; optionally write a report.

    Returns ``{"models": {name: {"clean": metrics, "noise": {kind: [{"strength", **metrics,
    "agreement_with_clean"}]}}}}`` plus provenance. ``agreement_with_clean`` is the mean Dice between the
    masks on the noisy and on the clean image (stability, independent of the ground truth).
    """
    if not tflite_models:
        raise InputError("noise: pass at least one --tflite model")
    levels = dict(levels or DEFAULT_LEVELS)
    samples = list(data) if not isinstance(data, (str, os.PathLike)) else load_pairs(data, limit)
    images, truths = [s.image for s in samples], [s.truth for s in samples]
    models: dict[str, Any] = {}
    for m in tflite_models:
        path = Path(m)
        predictor = SegmenterPredictor(path, threads=threads)
        clean = run_predictor(predictor, images)
        entry: dict[str, Any] = {
            "path": path.as_posix(),
            "quantization": predictor.seg.info.quantization,
            "clean": evaluate(clean, truths).per_image,
            "noise": {},
        }
        for kind, strengths in levels.items():
            rows = entry["noise"][kind] = []
            for level in strengths:
                key = [seed, NOISES.index(kind), int(round(level * 1000))]  # a generator per (key, image): reruns agree
                noisy = (add_noise(im, kind, level, np.random.default_rng([*key, i])) for i, im in enumerate(images))
                ev = evaluate(run_predictor(predictor, noisy), truths, reference=clean)
                rows.append({"strength": float(level), **ev.per_image, "agreement_with_clean": ev.agreement["dice"]})
        models[path.stem if path.stem not in models else path.as_posix()] = entry
    result = {
        **provenance(command),
        "data": Path(data).as_posix() if isinstance(data, (str, os.PathLike)) else "samples",
        "images": len(samples),
        "seed": seed,
        "levels": {k: list(v) for k, v in levels.items()},
        "models": models,
    }
    if out is not None:
        out = Path(out)
        write_json(out / "noise.json", result)
        plot_noise(result, out / "noise.png")
        result["plot"] = "noise.png"
        records.write_markdown(out / "noise.md", noise_markdown(result))
    return result


def plot_noise(result: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Dice (per image, mean) vs. noise strength, one panel per noise type, one line per model."""
    plt = records.pyplot()
    kinds = list(result["levels"])
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.2 * len(kinds), 3.4), squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        for name, m in result["models"].items():
            xs = [0.0] + [r["strength"] for r in m["noise"][kind]]
            ys = [m["clean"]["dice"]] + [r["dice"] for r in m["noise"][kind]]
            ax.plot(xs, ys, marker="o", label=name)
        ax.set_title(kind)
        ax.set_xlabel({"gaussian": "sigma (0-255)", "speckle": "sigma (relative)"}.get(kind, "fraction of pixels"))
        ax.set_ylabel("Dice")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    return records.save_figure(fig, path)


def noise_markdown(result: dict[str, Any]) -> str:
    """Markdown table of :func:`evaluate_noise`'s result."""
    rows = []
    for name, m in result["models"].items():
        rows.append({"model": name, "noise": "none", "strength": 0, **m["clean"], "agreement_with_clean": 1.0})
        rows += [{"model": name, "noise": kind, **r} for kind, entries in m["noise"].items() for r in entries]
    cols = [*(Column(c, c) for c in ("model", "noise", "strength", *TABLE_METRICS))]
    cols.append(Column("Dice vs clean mask", "agreement_with_clean"))
    return (
        f"# Noise robustness on `{result['data']}` ({result['images']} images, per-image means)\n"
        f"{records.provenance_markdown(result)}\n{render(rows, cols)}"
        + (f"\n![Dice under noise]({result['plot']})\n" if result.get("plot") else "")
    )
