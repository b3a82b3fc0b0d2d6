"""``munet-bench``: accuracy, latency, noise, Pareto and the whole flow in one command (thin click layer)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from munet.errors import InputError, cli_errors, require_tensorflow

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

EXISTING = click.Path(exists=True, path_type=Path)
#: munet.edge.tta.TTA_CHOICES, spelled out so that ``munet-bench -h`` does not load OpenCV (a test checks they match).
TTA_CHOICES = ("none", "hflip", "flips")


def _size(text: str | None) -> tuple[int, int] | None:
    from munet.edge.preprocess import parse_size

    return parse_size(text) if text else None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Benchmarks of MU-Net models: float vs. quantized accuracy, latency, noise robustness, Pareto front.

    Every result is written as JSON + Markdown (+ PNG) with the exact command, the machine and the date.
    Each timed pass first waits up to $MUNET_SETTLE_S seconds (default here 180; 0 = never) for the 1-min load
    average to fall to 0.5 x cores: the benchmark's own training or conversion otherwise reads as a busy machine.
    """
    from munet.device import SETTLE_CLI_S, SETTLE_ENV

    os.environ.setdefault(SETTLE_ENV, f"{SETTLE_CLI_S:g}")


@main.command()
@click.option("--keras", "keras_model", type=EXISTING, help="Float .keras model (or munet-train run folder).")
@click.option("--tflite", "tflite", multiple=True, type=EXISTING, help="TFLite variant; repeat or list several.")
@click.argument("more_tflite", nargs=-1, type=EXISTING)
@click.option("--data", required=True, type=EXISTING, help="Folder of image/mask pairs (images/ + masks/, ISIC, ...).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("benchmarks/results/accuracy"), show_default=True)
@click.option("--worst", default=5, show_default=True, help="How many worst images to list and draw.")
@click.option("--limit", type=int, default=None, help="Only the first N pairs (smoke runs).")
@click.option("--threads", type=int, default=None, help="Interpreter threads (default: all cores).")
@click.option(
    "--tta",
    type=click.Choice(TTA_CHOICES),
    default="none",
    show_default=True,
    help="Also run each TFLite model with test-time flips: Dice and ms both ways, uncertainty AUROC vs Dice < 0.7.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress lines / bar.")
@cli_errors
def accuracy(
    keras_model: Path | None,
    tflite: tuple[Path, ...],
    more_tflite: tuple[Path, ...],
    data: Path,
    out: Path,
    worst: int,
    limit: int | None,
    threads: int | None,
    tta: str,
    quiet: bool,
) -> None:
    """Paper metrics + mIoU + ISIC Jaccard of the Keras float model and each TFLite variant, agreement with float.

    Example: munet-bench accuracy --keras run/best.keras --tflite run/munet_float32.tflite run/munet_int8.tflite
    --data ../shared/data/isic/val (add --tta flips for test-time flips and the uncertainty check)
    """
    from munet.benchmarks.accuracy import accuracy_markdown, evaluate_accuracy
    from munet.progress import Stages

    models = [*tflite, *more_tflite]
    with Stages(len(models) + (keras_model is not None), "accuracy", quiet=quiet) as progress:
        result = evaluate_accuracy(
            keras_model, models, data, out=out, worst=worst, limit=limit, threads=threads, tta=tta, progress=progress
        )
    click.echo(accuracy_markdown(result))
    grid = f", {result['grid']}" if result.get("grid") else " (no overlay grid: it compares two models)"
    click.echo(f"wrote {out}/accuracy.json, accuracy.md{grid}")


@main.command()
@click.option("--tflite", "tflite", multiple=True, type=EXISTING, help="TFLite variant; repeat or list several.")
@click.argument("more_tflite", nargs=-1, type=EXISTING)
@click.option("--threads", default="1,2,all", show_default=True, help="Thread counts, comma separated.")
@click.option("--runs", default=50, show_default=True, help="Timed runs per measurement.")
@click.option("--warmup", default=5, show_default=True, help="Untimed warm-up runs.")
@click.option("--data", type=EXISTING, default=None, help="Use these images as frames (default: noise frames).")
@click.option("--frame-size", default=None, help="HxW of the noise frames (default: the model input size).")
@click.option("--onnx", is_flag=True, help="Also time ONNX Runtime float32 (tf2onnx of the float32 variant).")
@click.option("--onnx-model", type=EXISTING, default=None, help="Use this .onnx instead of converting.")
@click.option("--onnx-python", type=EXISTING, default=None, help="Python with onnxruntime (default .venv-onnx).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("benchmarks/results/latency"), show_default=True)
@click.option("--strict", is_flag=True, help="Refuse (exit 1, nothing written) when the machine looks busy.")
@cli_errors
def latency(
    tflite: tuple[Path, ...],
    more_tflite: tuple[Path, ...],
    threads: str,
    runs: int,
    warmup: int,
    data: Path | None,
    frame_size: str | None,
    onnx: bool,
    onnx_model: Path | None,
    onnx_python: Path | None,
    out: Path,
    strict: bool,
) -> None:
    """Median/p90 latency (pre, inference, post, end to end), peak RSS, size and GFLOP/s per variant and thread count.

    All rows are timed round-robin in one pass; the load average and CPU steal are recorded and a busy
    machine is flagged (--strict: refused, exit 1).

    Example: munet-bench latency --tflite run/munet_float32.tflite run/munet_int8.tflite --threads 1,2,all --onnx
    """
    from munet.benchmarks.latency import benchmark_latency, latency_markdown
    from munet.device import BUSY_RULE, BusyMachine

    images = None
    if data is not None:
        from munet.imageio import list_images

        folder = data / "images" if (data / "images").is_dir() else data
        images = [str(p) for p in list_images(folder)[:8]]
    try:
        result = benchmark_latency(
            [*tflite, *more_tflite],
            threads=threads,
            runs=runs,
            warmup=warmup,
            images=images,
            frame_size=_size(frame_size),
            onnx=onnx,
            onnx_model=onnx_model,
            onnx_python_path=onnx_python,
            out=out,
            strict=strict,
        )
    except BusyMachine as exc:
        click.echo(f"error: busy machine, nothing written ({exc}); rule: {BUSY_RULE}", err=True)
        raise SystemExit(1) from None
    click.echo(latency_markdown(result))


@main.command()
@click.option("--tflite", "tflite", multiple=True, type=EXISTING, help="TFLite variant; repeat or list several.")
@click.argument("more_tflite", nargs=-1, type=EXISTING)
@click.option("--data", required=True, type=EXISTING, help="Folder of image/mask pairs.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("benchmarks/results/noise"), show_default=True)
@click.option("--limit", type=int, default=None, help="Only the first N pairs.")
@click.option("--seed", default=0, show_default=True)
@cli_errors
def noise(
    tflite: tuple[Path, ...], more_tflite: tuple[Path, ...], data: Path, out: Path, limit: int | None, seed: int
) -> None:
    """Metrics under Gaussian, speckle and salt-and-pepper noise at several strengths (paper Sec. 5.3.5)."""
    from munet.benchmarks.noise import evaluate_noise, noise_markdown

    result = evaluate_noise([*tflite, *more_tflite], data, out=out, limit=limit, seed=seed)
    click.echo(noise_markdown(result))


@main.command()
@click.option("--data", type=EXISTING, default=None, help="Your image/mask folder (default: the synthetic set).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("report"), show_default=True)
@click.option("--epochs", default=None, type=int, help="Training epochs (default: the flow's small recipe).")
@click.option("--size", default=None, help="Model input HxW (default 128x128... see munet-bench flow -h).")
@click.option("--alpha", default=None, type=float, help="MobileNetV2 width multiplier (default 0.35).")
@click.option("--threads", default=None, type=int, help="Threads for inference (default: all cores).")
@cli_errors
def flow(
    data: Path | None, out: Path, epochs: int | None, size: str | None, alpha: float | None, threads: int | None
) -> None:
    """The whole flow: train -> convert (int8 + float32) -> munet-run -> accuracy + latency -> REPORT.md.

    Without --data it runs on the embedded synthetic dermoscopy-like set, in a few minutes on 2 CPU cores.
    """
    require_tensorflow()  # before run_flow creates OUT
    from munet.benchmarks.flow import FlowConfig, run_flow

    given = {"epochs": epochs, "size": _size(size), "alpha": alpha, "threads": threads}
    cfg = FlowConfig(**{k: v for k, v in given.items() if v is not None})
    report_path = run_flow(out, data=data, config=cfg, echo=click.echo)
    click.echo(f"report: {report_path}")


@main.command("sweep")
@click.argument("config", type=EXISTING)
@click.option("--reuse", is_flag=True, help="Keep finished rows (results JSON or runs), continue interrupted ones.")
@click.option("--point", "points", multiple=True, help="Only this point (cv) or arch (compare); repeat.")
@click.option("--fold", "folds", multiple=True, type=int, help="Only this fold (cv; repeat); default: every fold.")
@click.option("--redo", default="", help="compare: comma-separated archs trained again under --reuse.")
@click.option("--report", "report_only", is_flag=True, help="Train nothing: rewrite the report of the results.")
@click.option(
    "--final",
    "final_point",
    default=None,
    help="cv: fit this point on ALL the data (nothing held out, last epoch) and convert it as the folds were.",
)
@click.option("--threads", type=int, default=None, help="Interpreter threads (default: the config's, else 2).")
@click.option("--runs-dir", type=click.Path(path_type=Path), default=None, help="Default: the config's.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Default: the config's.")
@cli_errors
def sweep(
    config: Path,
    reuse: bool,
    points: tuple[str, ...],
    folds: tuple[int, ...],
    redo: str,
    report_only: bool,
    final_point: str | None,
    threads: int | None,
    runs_dir: Path | None,
    out: Path | None,
) -> None:
    """Run the study of CONFIG (benchmarks/configs/*.yaml; kind: points | grid | cv | compare) and write its report.

    Example: munet-bench sweep benchmarks/configs/recipe.yaml --reuse (`pareto`, `cv`, `compare`: its old names)
    """
    from dataclasses import replace

    from munet.benchmarks.sweep import load_sweep, run_sweep
    from munet.device import command_line

    cfg = load_sweep(config)
    given = {"threads": threads, "runs_dir": runs_dir, "out": out}
    cfg = replace(cfg, **{k: v for k, v in given.items() if v is not None})
    if not report_only:
        require_tensorflow()
    if final_point is not None:
        if cfg.kind != "cv":
            raise InputError(f"--final: only cv sweeps fit a chosen point on all data ({config} is kind {cfg.kind})")
        from munet.benchmarks.cv import final_fit
        from munet.benchmarks.sweep import cv_config

        model = final_fit(cv_config(cfg), final_point, cfg.runs_dir, reuse, click.echo)
        click.echo(f"final fit of {final_point}: {model} (its estimate: the cross-validation in {cfg.out})")
        return
    result = run_sweep(
        cfg, reuse, points, folds, report_only, click.echo, command_line(), [a for a in redo.split(",") if a]
    )
    if cfg.kind == "cv":
        from munet.benchmarks.cv import cv_markdown as markdown
    elif cfg.kind == "compare":
        from munet.benchmarks.compare_report import compare_markdown as markdown
    else:
        from munet.benchmarks.pareto import pareto_markdown as markdown
    click.echo(markdown(result))


for _name in ("pareto", "cv", "compare"):  # the old names of `sweep` (a points/grid, cv or compare config)
    main.add_command(sweep, _name)


@main.command("cv-folds")
@click.option("--data", "data", multiple=True, required=True, type=EXISTING, help="Data folder (repeat to pool).")
@click.option("--k", default=5, show_default=True, help="Number of folds.")
@click.option("--seed", default=0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Fold file, e.g. benchmarks/folds/isic.csv")
@click.option("--force", is_flag=True, help="Overwrite a fold file that holds another assignment.")
@cli_errors
def cv_folds(data: tuple[Path, ...], k: int, seed: int, out: Path, force: bool) -> None:
    """Assign the pooled images of --data to K folds, grouped (patients stay in one fold), into a CSV."""
    from munet.data import make_folds, pooled_pairs, write_folds

    items = make_folds(pooled_pairs(data), k, seed)
    write_folds(out, items, force=force)
    sizes = [sum(1 for i in items if i.fold == f) for f in range(k)]
    click.echo(f"{out}: {len(items)} images, {len({i.group for i in items})} groups, fold sizes {sizes}")


@main.command("readme-table")
@click.option("--readme", type=EXISTING, default=Path("README.md"), show_default=True)
@click.option("--results", type=EXISTING, default=Path("benchmarks/results"), show_default=True)
@click.option(
    "--index",
    type=click.Path(path_type=Path),
    help="The bundled models' index whose 'measured' entries are written too [default: edge/models/index.json "
    "of the repository holding --results; none when absent].",
)
@click.option("--check", is_flag=True, help="Exit 1 if a generated block is out of date (CI); writes nothing.")
@cli_errors
def readme_table(readme: Path, results: Path, index: Path | None, check: bool) -> None:
    """Regenerate the result blocks (between their markers) of --readme and of the study READMEs under --results
    (results/README.md, compare/, pareto/, pareto/decoders/, recipe/) from the results JSON files, and the
    bundled models' measured numbers in --index (what munet-run --list-models shows)."""
    from munet.benchmarks.readme_table import update_all, update_index

    if index is None:  # benchmarks/results -> the repository's edge/models/index.json
        index = Path(os.path.relpath(results.resolve().parents[1] / "edge" / "models" / "index.json"))
    changed = {index: not update_index(index, results, check=check)} if index.is_file() else {}
    changed |= update_all(readme, results, check=check)
    stale = [path.as_posix() for path, was in changed.items() if was]
    if check and stale:
        raise SystemExit(f"generated result blocks out of date in {', '.join(stale)}: run munet-bench readme-table")
    for path, was in changed.items():
        click.echo(f"{path.as_posix()}: {'updated' if was else 'up to date'}")


if __name__ == "__main__":
    main()
