"""The table of every config key (name, default, meaning) in :data:`DOC` (``docs/config.md``, linked from the README),
generated from :class:`TrainConfig`.

Regenerate it with ``python -m munet.train.config_doc`` (or ``... FILE`` for another file; ``--check`` exits 1 when
it is stale); ``tests/train/test_config_doc.py`` fails when a key has no meaning here or the table is out of date.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

from munet.edge.tta import TTA_CHOICES
from munet.errors import InputError
from munet.train.config import (
    DATASETS,
    DISTRIBUTE,
    LOSS_NAMES,
    MIXED,
    SCHEDULES,
    SYNTHETIC_DEFAULTS,
    AugmentSettings,
    TrainConfig,
)

START, END = "<!-- config-keys:start -->", "<!-- config-keys:end -->"
#: The reference doc that holds the table (relative to the repository root).
DOC = "docs/config.md"


def _one_of(choices: tuple[str, ...]) -> str:
    return " \\| ".join(f"`{c}`" for c in choices)


#: What each key means (``augment.*``: the augmentation mapping's keys). Every config key must be here.
KEY_HELP: dict[str, str] = {
    "data": "training folder (`--data`); none: the synthetic demo set in `RUN/synthetic` and the demo defaults",
    "dataset": f"folder layout: {_one_of(DATASETS)}",
    "val_data": "validation folder; none: split `data` by `val_split`",
    "val_split": "validation fraction of `data`, split by patient/group; 0: a final fit on all of `data`",
    "preset": "named preset (`paper`, `edge`) expanded to the keys it sets; config and flags override them",
    "arch": "model from the registry (`munet-train --help` lists them)",
    "alpha": "MobileNetV2 width multiplier",
    "size": "input height and width (N or HxW, multiples of 32)",
    "encoder_weights": "`imagenet`, a path to a notop `.h5`, or `none` (random init)",
    "decoder_upsample": "decoder x2 step: `transpose` (paper), `nearest` or `bilinear` (parameter-free resize)",
    "decoder_conv": "conv after each skip concatenation: `none` (paper), `plain` 3x3 or `separable` 3x3",
    "decoder_filters": "the four decoder widths, deepest first",
    "decoder_head": "last x2 step to full size: `transpose` (paper), `upsample_conv` or `conv_upsample`",
    "epochs": "training epochs (a resumed run may extend them with `--epochs`)",
    "batch": "batch size (global, over all replicas)",
    "lr": "Adam learning rate (the paper's 0.05: see docs/model.md, Optimizer)",
    "loss": f"loss: {_one_of(LOSS_NAMES)} (`focal-tversky+bce`: focal Tversky + BCE, equal weights; `lovasz`: the "
    "Lovász surrogate of per-image 1 - IoU)",
    "out": "run folder; none: `runs/munet-DATE-TIME`",
    "seed": "random seed (split, synthetic set, initialisation, augmentation)",
    "freeze_encoder_epochs": "epochs with the encoder frozen before fine-tuning all layers",
    "patience": "early stopping after this many epochs without improvement of `monitor`",
    "lr_schedule": f"learning-rate schedule: {_one_of(SCHEDULES)}",
    "lr_patience": "`plateau`: epochs without improvement before the learning rate is cut",
    "lr_factor": "`plateau`: factor of each cut",
    "min_lr": "`plateau`: lowest learning rate; `cosine`: the final one",
    "warmup_epochs": "linear learning-rate warm-up from ~0 to `lr` over this many epochs, then `lr_schedule` "
    "(again after an encoder unfreeze)",
    "encoder_lr_mult": "the pretrained encoder learns at `lr` x this (e.g. 0.1), the decoder at `lr`",
    "precise_bn": "training batches whose mean BatchNorm statistics replace the moving ones before each "
    "validation (precise BN, Wu & Johnson 2021; 0: off)",
    "ema": "momentum of an exponential moving average of the weights (e.g. 0.99; 0: off); validation, "
    "`best.keras` and the final metrics use the average",
    "lesion_share": "training draws: this share of each epoch's images has a lesion on average (lesion and "
    "lesion-free images drawn as two pools, e.g. 0.5 for brain MRI; 0: one shuffle, the natural share); "
    "validation is never resampled",
    "teacher": "knowledge distillation: Keras model files (or run folders: their `last.keras`) whose probabilities, "
    "averaged over their `teacher_tta` flips and over the teachers, become the training images' soft targets "
    "(computed once at the start; validation keeps the true masks; none: off)",
    "teacher_weight": "the teachers' share of each soft target: (1 − w) x mask + w x teacher probability",
    "teacher_tta": f"flips each teacher's probabilities are averaged over: {_one_of(TTA_CHOICES)}",
    "monitor": "validation log key that picks `best.keras` (`*loss*` is minimised, others maximised)",
    "threshold": "probability threshold of the masks (metrics, model card, converted metadata)",
    "augment.rotation_deg": "random rotation in ±degrees (reflect fill), the same for image and mask",
    "augment.hflip": "random horizontal flip",
    "augment.vflip": "random vertical flip",
    "augment.brightness": "random brightness shift in ± this fraction of the [-1, 1] range",
    "augment.contrast": "random contrast factor in [1 − c, 1 + c] around each image's mean",
    "augment.noise_std": "Gaussian noise standard deviation in the [-1, 1] input space",
    "augment.scale": "random zoom in [1 − s, 1 + s] about the centre, the same for image and mask",
    "augment.hue": "random hue shift in ± this fraction of the colour wheel (colour images only)",
    "augment.saturation": "random saturation factor in [1 − s, 1 + s]",
    "mixed_precision": f"float16 compute on GPUs: {_one_of(MIXED)} (`auto`: on when a GPU is visible)",
    "distribute": f"distribution strategy: {_one_of(DISTRIBUTE)} (`auto`: several GPUs or `TF_CONFIG` workers)",
    "synthetic_count": "images in the synthetic demo set (no `data`)",
    "workers": "threads that decode the images",
    "steps_per_epoch": "batches per epoch; none: one pass over the training images",
}


def config_keys() -> list[tuple[str, Any]]:
    """Every config key with its dataclass default, ``augment.*`` expanded, in dataclass order."""
    keys: list[tuple[str, Any]] = []
    for f in dataclasses.fields(TrainConfig):
        if f.name == "augment":
            keys += [(f"augment.{a.name}", a.default) for a in dataclasses.fields(AugmentSettings)]
        else:
            keys.append((f.name, getattr(TrainConfig(), f.name)))
    return keys


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def config_keys_markdown() -> str:
    """The Markdown table (between the markers of :data:`DOC`); a key without a :data:`KEY_HELP` entry is an error."""
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for key, default in config_keys():
        if key not in KEY_HELP:
            raise InputError(f"config key {key!r} has no meaning in munet.train.config_doc.KEY_HELP; add one")
        shown = f"`{_show(default)}`"
        if key in SYNTHETIC_DEFAULTS and SYNTHETIC_DEFAULTS[key] != default:
            shown += f" (synthetic demo: `{_show(SYNTHETIC_DEFAULTS[key])}`)"
        lines.append(f"| `{key}` | {shown} | {KEY_HELP[key]} |")
    return "\n".join(lines)


def update_doc(doc: str | Path = DOC, check: bool = False) -> bool:
    """Replace the table between the markers of ``doc``; True when it changed (``check``: only say so, write
    nothing)."""
    doc = Path(doc)
    text = doc.read_text()
    if START not in text or END not in text:
        raise InputError(f"{doc}: no {START} ... {END} markers for the config-key table")
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    new = f"{head}{START}\n{config_keys_markdown()}\n{END}{tail}"
    if new != text and not check:
        from munet.atomic import write_text_atomic

        write_text_atomic(doc, new)
    return new != text


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--check"]
    stale = update_doc(args[0] if args else DOC, check="--check" in sys.argv)
    sys.exit(1 if stale and "--check" in sys.argv else 0)
