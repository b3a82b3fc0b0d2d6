"""The whole MU-Net Edge flow in one call: train -> convert -> run on the edge runtime -> benchmark -> report.

``munet-bench flow`` (the README's main command) does, in a report folder ``OUT``:

1. data: without ``--data`` the embedded synthetic dermoscopy-like set (``munet.train.synthetic``),
   written to ``OUT/data/{train,val}``; with ``--data DIR`` the user's pairs (``DIR/train`` + ``DIR/val`` when
   present, else a seeded group-aware 80/20 split linked into ``OUT/data``);
2. training of a small MU-Net from scratch -> ``OUT/run`` (best.keras, curves.png) and
3. its conversion to int8 (calibrated on the training images) and float32 -> ``OUT/models``: one point of the
   experiment runner (:func:`munet.benchmarks.experiment.run_point`, unscored: step 5 scores it);
4. ``munet-run``'s Python API over the validation images with the int8 model -> ``OUT/masks``;
5. ``munet-bench accuracy`` (float Keras, float32 and int8 TFLite) and ``latency`` -> ``OUT/accuracy``,
   ``OUT/latency``;
6. ``OUT/REPORT.md`` with the training curve, the overlay grid (float vs int8) and the tables.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from munet.atomic import write_json
from munet.benchmarks import records
from munet.benchmarks.latency import benchmark_latency, latency_table
from munet.benchmarks.render import Column, render, timing_note
from munet.device import provenance
from munet.errors import InputError


@dataclass
class FlowConfig:
    """The flow's small recipe (it must finish in minutes on two CPU cores)."""

    alpha: float = 0.35
    size: tuple[int, int] = (128, 128)
    epochs: int = 6
    batch: int = 8
    n_train: int = 96
    n_val: int = 24
    synthetic_size: tuple[int, int] = (192, 256)
    calib_count: int = 64
    threads: int | None = None
    latency_runs: int = 50
    latency_warmup: int = 5
    worst: int = 4
    seed: int = 0


def prepare_data(out: Path, data: Path | None, cfg: FlowConfig) -> tuple[Path, Path, bool]:
    """``(train_dir, val_dir, synthetic)``: folders of ``images/`` + ``masks/`` pairs."""
    if data is None:
        from munet.train.synthetic import make_synthetic_dataset

        train = make_synthetic_dataset(out / "data" / "train", n=cfg.n_train, size=cfg.synthetic_size, seed=cfg.seed)
        val = make_synthetic_dataset(out / "data" / "val", n=cfg.n_val, size=cfg.synthetic_size, seed=cfg.seed + 1)
        return train, val, True
    from munet.data import find_pairs, split_pairs, subset_folder

    data = Path(data)
    if (data / "train").is_dir() and (data / "val").is_dir():
        return data / "train", data / "val", False
    pairs = find_pairs(data)
    if any(p.mask is None or p.mask == p.image for p in pairs):
        raise InputError(f"{data}: the flow needs separate image and mask files (images/ + masks/ or train/ + val/)")
    train_pairs, val_pairs = split_pairs(pairs, 0.2, seed=cfg.seed)
    if not train_pairs or not val_pairs:
        raise InputError(f"{data}: {len(pairs)} pair(s) cannot be split into training and validation; add images")
    train = subset_folder(train_pairs, None, cfg.seed, out / "data" / "train")[0]  # links (copies where they fail)
    return train, subset_folder(val_pairs, None, cfg.seed, out / "data" / "val")[0], False


def run_flow(
    out: str | os.PathLike[str] = "report",
    data: str | os.PathLike[str] | None = None,
    config: FlowConfig | None = None,
    echo: Callable[[str], None] = print,
    command: str | None = None,
) -> Path:
    """Run the whole flow into folder ``out``; returns the path of ``REPORT.md``."""
    from munet.benchmarks.accuracy import evaluate_accuracy

    cfg = config or FlowConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    prov = provenance(command)
    times: dict[str, float] = {}
    t_all = t = time.perf_counter()

    def lap(name: str, seconds: float | None = None) -> None:
        """Time since the last lap (or its first ``seconds``, the rest going to the next lap) -> ``times[name]``."""
        nonlocal t
        now = time.perf_counter() if seconds is None else t + seconds
        times[name] = round(now - t, 1)
        t = now
        echo(f"[flow] {name}: {times[name]:.1f} s")

    train_dir, val_dir, synthetic = prepare_data(out, Path(data) if data else None, cfg)
    echo(f"[flow] data: train {train_dir}, val {val_dir}" + (" (synthetic)" if synthetic else ""))
    lap("data")

    from munet.benchmarks.experiment import Point, Setup, run_point

    overrides = {"alpha": cfg.alpha, "size": list(cfg.size), "epochs": cfg.epochs, "batch": cfg.batch}
    overrides |= {"encoder_weights": "none", "seed": cfg.seed, "patience": max(cfg.epochs, 1)}
    setup = Setup(train_dir, val_dir, out, calib_count=cfg.calib_count, models_dir=out / "models", model_stem="munet")
    row = run_point(Point("run", overrides, ("int8", "float32")), setup, echo=echo)
    run_dir, models = Path(row.run_dir or out / "run"), {m: Path(v["path"]) for m, v in (row.models or {}).items()}
    best = run_dir / "best.keras"
    lap("train", row.train_s)
    lap("convert")  # and the parameter/MAC count of the runner's row

    from munet.edge.runner import RunOptions
    from munet.edge.runner import run as edge_run

    options = RunOptions(out=out / "masks", threads=cfg.threads)
    summary = edge_run(models["int8"], str(val_dir / "images"), options, echo=lambda _m: None)
    lap("munet-run")

    acc = evaluate_accuracy(
        best,
        [models["float32"], models["int8"]],
        val_dir,
        out=out / "accuracy",
        worst=cfg.worst,
        threads=cfg.threads,
        command=prov["command"],
    )
    lap("accuracy")
    threads = "1,all" if cfg.threads is None else str(cfg.threads)
    frames = sorted(str(p) for p in (val_dir / "images").iterdir())[:8]
    lat = benchmark_latency(
        [models["float32"], models["int8"]],
        threads=threads,
        runs=cfg.latency_runs,
        warmup=cfg.latency_warmup,
        images=frames,
        out=out / "latency",
        command=prov["command"],
    )
    lap("latency")
    times["total"] = round(time.perf_counter() - t_all, 1)

    curves = run_dir / "curves.png"
    result = {
        **prov,
        "config": asdict(cfg),
        "synthetic": synthetic,
        "train_data": str(train_dir),
        "val_data": str(val_dir),
        "run_dir": str(run_dir),
        "epochs_completed": row.epochs,
        "models": {k: {"path": str(v), "size_bytes": v.stat().st_size} for k, v in models.items()},
        "munet_run": {k: getattr(summary, k) for k in ("processed", "fps", "backend", "threads")},
        "seconds": times,
    }
    write_json(out / "flow.json", result)
    path = records.write_markdown(out / "REPORT.md", flow_markdown(result, acc, lat, curves, out))
    echo(f"[flow] done in {times['total']:.0f} s")
    return path


def _rel(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:
        return path.as_posix()


def flow_markdown(result: dict[str, Any], acc: dict[str, Any], lat: dict[str, Any], curves: Path, out: Path) -> str:
    """``REPORT.md``: what was run, the training curve, accuracy, the overlay grid and latency."""
    cfg, r, seconds = result["config"], result["munet_run"], result["seconds"]
    data = "the embedded SYNTHETIC dermoscopy-like set" if result["synthetic"] else f"`{result['train_data']}`"
    files = [
        {"variant": k, "file": f"`{_rel(Path(v['path']), out)}`", "MB": v["size_bytes"] / 1e6}
        for k, v in result["models"].items()
    ]
    metrics = ("dice", "iou", "miou", "precision", "recall", "accuracy", "isic_jaccard")
    scores = [{"model": n, **m["per-image"]} for n, m in acc["models"].items()]
    agree = [{"model": n, **m["agreement_with_float"]} for n, m in acc["models"].items() if "agreement_with_float" in m]
    lines = [
        f"# MU-Net Edge flow report\n\n{records.provenance_markdown(result)}\nMU-Net (MobileNetV2 encoder "
        f"alpha={cfg['alpha']}, from scratch) trained {result['epochs_completed']} epoch(s) at "
        f"{cfg['size'][0]}x{cfg['size'][1]} on {data}; validation images: `{result['val_data']}`.\n",
        "\n> Synthetic data: these numbers show the pipeline works, not clinical accuracy.\n"
        if result["synthetic"]
        else "",
        f"\n## Time per stage (s)\n\n{render([list(seconds.values())], list(seconds))}",
        f"\n## Training curve\n\n![training curve]({_rel(curves, out)})\n" if curves.is_file() else "",
        f"\n## Models\n\n{render(files, [Column(c, c) for c in ('variant', 'file', 'MB')])}",
        f"\n`munet-run` (int8, {r['backend']}, {r['threads']} thread(s)) segmented {r['processed']} "
        f"validation image(s) at {r['fps']:.1f} FPS into `masks/`.\n",
        "\n## Accuracy (per-image means, masks at the original size)\n\n",
        render(scores, [Column(c, c) for c in ("model", *metrics)]),
    ]
    if agree:
        cols = [Column("model", "model"), Column("mask Dice", "dice"), Column("mean |Δprob|", "mean_abs_prob_diff")]
        lines.append(f"\nAgreement with the Keras float masks:\n\n{render(agree, cols)}")
    if acc.get("grid"):
        lines.append(
            "\n## Float vs int8 on the worst images\n\nColumns: image, truth, Keras float, int8, "
            f"difference (magenta: float only, cyan: int8 only).\n\n![overlay grid](accuracy/{acc['grid']})\n"
        )
    lines.append("\n## Latency (ms, median / p90, all rows round-robin in one process)\n\n" + latency_table(lat))
    lines += [
        f"\nint8 / float32 end-to-end latency at {t} thread(s): {ratio['int8_vs_float32_tflite_e2e']:.2f}\n"
        for t, ratio in lat.get("ratios", {}).items()
        if "int8_vs_float32_tflite_e2e" in ratio
    ]
    if note := timing_note(lat):
        lines.append(f"\n{note[2].upper()}{note[3:]}.\n")  # "; machine ..." -> "Machine ..."
    lines.append("\nDetails: `accuracy/accuracy.md`, `latency/latency.md`, `run/MODEL_CARD.md`.\n")
    return "".join(lines)
