"""Untrained models with a run's architecture, converted like the run, for re-timing a latency table whose trained
run is gone: LiteRT's kernels do the same work whatever the weights hold. ``bash benchmarks/reproduce.sh retime``
first checks that on the machine (a trained and an untrained copy in one interleaved pass).

    python -m munet.benchmarks.retime --config benchmarks/configs/isic_a1.0_128.yaml --alpha 1.0 --size 128 \\
        --encoder-weights W.h5 --calib-data ../shared/data/isic/train --out runs/retime/isic128
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from munet.errors import cli_errors

MODES = ("float32", "fp16", "dynamic", "int8")


def architecture_models(
    config_overrides: dict[str, Any],
    calib_data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: str | os.PathLike[str] | None = None,
    modes: tuple[str, ...] = MODES,
    calib_count: int = 64,
    seed: int = 0,
) -> dict[str, Path]:
    """Build the configured architecture untrained, save ``out/best.keras`` and convert it to ``out/munet_<mode>``.

    Returns ``{mode: tflite path}``. ``config_overrides`` are TrainConfig keys (``alpha``, ``size``, ``preset``,
    ``encoder_weights`` ...) over ``config`` (a YAML file), as ``munet-train`` would take them.
    """
    import keras

    from munet.convert.api import Converter
    from munet.train.config import make_config
    from munet.train.trainer import build_for

    cfg = make_config(config, {"data": str(calib_data), **config_overrides})
    keras.utils.set_random_seed(seed)
    model = build_for(cfg)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    best = out / "best.keras"
    model.save(best)
    paths: dict[str, Path] = {}
    with Converter(best) as conv:
        for mode in modes:
            if mode == "int8":
                conv.set_calibration(calib_data, calib_count=calib_count)
            paths[mode] = conv.convert(mode, out / f"munet_{mode}.tflite").path
    return paths


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", type=click.Path(exists=True, dir_okay=False), default=None, help="The run's YAML config.")
@click.option("--preset", default=None, help="Training preset (paper|edge).")
@click.option("--alpha", type=float, default=None)
@click.option("--size", default=None, help="N or HxW.")
@click.option("--encoder-weights", default=None, help="ImageNet MobileNetV2 .h5 (as the run had it).")
@click.option("--calib-data", type=click.Path(exists=True, file_okay=False), required=True)
@click.option("--out", type=click.Path(file_okay=False), required=True)
@click.option("--modes", default=",".join(MODES), show_default=True)
@click.option("--onnx", is_flag=True, help="Also export the float32 model to munet_float32.onnx (tf2onnx).")
@cli_errors
def main(**kw: Any) -> None:
    """Untrained model(s) with a run's architecture, converted like the run, for re-timing its latency table."""
    from munet.edge.preprocess import parse_size

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    overrides: dict[str, Any] = {k: kw[k] for k in ("preset", "alpha", "encoder_weights") if kw[k] is not None}
    if kw["size"]:
        overrides["size"] = list(parse_size(kw["size"]))
    modes = tuple(m.strip() for m in kw["modes"].split(",") if m.strip())
    paths = architecture_models(overrides, kw["calib_data"], kw["out"], kw["config"], modes)
    if kw["onnx"]:
        from munet.convert.onnx import export_onnx

        if "float32" not in paths:
            raise click.UsageError("--onnx exports the float32 model: keep float32 in --modes")
        paths["onnx"] = export_onnx(paths["float32"], Path(kw["out"]) / "munet_float32.onnx")
    for mode, path in paths.items():
        click.echo(f"{mode}: {path}")


if __name__ == "__main__":
    main()
