"""``munet-train``: a thin click command over :func:`munet.train.trainer.train`."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from munet.errors import MunetError, cli_errors, require_tensorflow
from munet.train.config import LOSS_NAMES, SYNTHETIC_DEFAULTS, TrainConfig
from munet.train.models import ARCHITECTURES

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

#: The values a run uses for keys it is not given (help texts show them).
_DEFAULTS = TrainConfig().to_dict()


def _default(key: str) -> str:
    """``[default]`` for --help from :class:`TrainConfig`, plus the synthetic demo's value where it differs."""
    value = _DEFAULTS[key]
    shown = _show(value)
    if key in SYNTHETIC_DEFAULTS and SYNTHETIC_DEFAULTS[key] != value:
        shown += f"; synthetic demo: {_show(SYNTHETIC_DEFAULTS[key])}"
    return f"[{shown}]"


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return str(value[0]) if len(set(value)) == 1 else "x".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _arch_help() -> str:
    return f"model: {' | '.join(ARCHITECTURES)} {_default('arch')}"


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--data", type=click.Path(), help="training folder; without it: a synthetic demo set and a tiny config")
@click.option("--dataset", type=click.Choice(["auto", "isic", "lgg", "figshare", "folder"]), help="folder layout")
@click.option("--val-data", type=click.Path(), help="validation folder (default: split --data by --val-split)")
@click.option(
    "--val-split", type=float, help=f"validation fraction of --data, group-aware; 0: final fit {_default('val_split')}"
)
@click.option("--preset", help="paper | edge: expands to config keys that --config and flags override (see README)")
@click.option("--arch", help=_arch_help())
@click.option("--alpha", type=float, help=f"MobileNetV2 width multiplier {_default('alpha')}")
@click.option("--size", help=f"input size N or HxW, multiples of 32 {_default('size')}, e.g. 192x256")
@click.option("--encoder-weights", help=f"imagenet | PATH to a notop .h5 | none {_default('encoder_weights')}")
@click.option("--decoder-upsample", help="transpose (paper) | nearest | bilinear [transpose]")
@click.option("--decoder-conv", help="conv after each concatenation: none (paper) | plain | separable [none]")
@click.option("--decoder-filters", help="four decoder widths, deepest first [512,256,128,64], e.g. 96,64,48,32")
@click.option("--decoder-head", help="last x2 step: transpose (paper) | upsample_conv | conv_upsample [transpose]")
@click.option("--epochs", type=int, help=f"epochs {_default('epochs')}")
@click.option("--batch", type=int, help=f"batch size {_default('batch')}")
@click.option("--lr", type=float, help=f"Adam learning rate {_default('lr')}")
@click.option("--loss", type=click.Choice(LOSS_NAMES), help=f"loss {_default('loss')}")
@click.option("--out", type=click.Path(), help="run folder [runs/munet-DATE-TIME]")
@click.option("--config", "config_path", type=click.Path(), help="YAML config; command-line options override it")
@click.option("--resume", type=click.Path(), help="continue the run in RUN_DIR from its last completed epoch")
@click.option("--seed", type=int, help=f"random seed {_default('seed')}")
@click.option(
    "--freeze-encoder-epochs", type=int, help=f"encoder frozen for N first epochs {_default('freeze_encoder_epochs')}"
)
@click.option("--patience", type=int, help=f"early-stopping patience in epochs {_default('patience')}")
@click.option("--warmup-epochs", type=float, help=f"linear lr warm-up before the schedule {_default('warmup_epochs')}")
@click.option("--encoder-lr-mult", type=float, help=f"encoder lr = lr x this {_default('encoder_lr_mult')}, e.g. 0.1")
@click.option("--ema", type=float, help=f"weight EMA momentum, 0 = off {_default('ema')}, e.g. 0.99")
@click.option(
    "--precise-bn",
    type=int,
    help=f"recompute BatchNorm statistics on N training batches before each validation {_default('precise_bn')}",
)
@click.option(
    "--lesion-share",
    type=float,
    help=f"share of lesion images per training epoch, 0 = natural {_default('lesion_share')}, e.g. 0.5 (brain MRI)",
)
@click.option(
    "--teacher",
    multiple=True,
    type=click.Path(),
    help="distil: a trained model (.keras or run folder) whose flip-averaged probabilities become soft targets; "
    "repeat for several",
)
@click.option("--teacher-weight", type=float, help=f"the teacher's share of each target {_default('teacher_weight')}")
@cli_errors
def main(config_path: str | None, resume: str | None, **options: Any) -> None:
    """Train MU-Net (or another registered model) and write a run folder.

    \b
    RUN/best.keras, last.keras   checkpoints (atomic; last includes the optimizer)
    RUN/config.yaml              effective config
    RUN/log.csv, curves.png      per-epoch log and curves
    RUN/metrics.json             final validation metrics (per image and pixel-pooled, masks at the original size)
    RUN/MODEL_CARD.md            data, config, metrics, parameters
    Ctrl-C finishes the epoch and saves; continue with --resume RUN.
    """
    try:
        _main(config_path, resume, options)
    except KeyboardInterrupt:  # before the first epoch or on a third Ctrl-C
        where = resume or options.get("out") or "the run folder"
        click.echo(f"interrupted: nothing more was saved; resume with munet-train --resume {where}", err=True)
        sys.exit(130)


def _main(config_path: str | None, resume: str | None, options: dict[str, Any]) -> None:
    from munet.train.config import make_config

    require_tensorflow()

    given = {k: v for k, v in options.items() if v is not None and v != ()}  # () = a multiple option not given
    if resume:
        extra = sorted(set(given) - {"epochs"})
        if extra or config_path:
            names = ", ".join("--" + k.replace("_", "-") for k in extra) or "--config"
            raise MunetError(f"--resume {resume}: {names} cannot change a run; only --epochs may extend it")
        from munet.train.trainer import resume_run

        result = resume_run(resume, epochs=given.get("epochs"))
    else:
        if given.get("arch"):
            from munet.train.models import get_builder

            get_builder(given["arch"])  # unknown names: one-line 'did you mean' error
        config = make_config(config_path, given)
        from munet.train.trainer import train

        result = train(config)
    m = result.metrics.get("per-image", {})
    summary = (
        f"{result.run_dir}: {result.epochs_completed} epoch(s), best {result.monitor} {result.best_value:.4f} "
        f"at epoch {result.best_epoch}"
        if result.best_value is not None
        else f"{result.run_dir}: no completed epoch"
    )
    if m:
        summary += f"; validation Dice {m['dice']:.4f}, IoU {m['iou']:.4f} (per image)"
    if result.synthetic:
        summary += " [SYNTHETIC data]"
    click.echo(summary)
    if result.interrupted:
        click.echo(f"interrupted: resume with munet-train --resume {result.run_dir}", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
