"""Named training presets: each expands to ordinary config keys (``munet-train --preset NAME``).

A preset sits just above the dataclass defaults: a YAML config and command-line flags override any of its keys, and
the run's ``config.yaml`` records the expanded keys (plus ``preset``), so a run folder never depends on this table.

- ``paper``: the paper's MU-Net (Nampalle et al., Sec. 3.2 and 5.1): MobileNetV2 α=1.4 (skip channels
  144/192/288/816), 256², transposed-conv decoder 512/256/128/64, 60 epochs, focal Tversky, rotations + horizontal
  flips. Adam at 1e-3, not the paper's 0.05 (see :class:`munet.train.config.TrainConfig`). Use it to reproduce the
  paper; only α=1.0 ImageNet weights exist offline here, so pass ``--alpha 1.0`` with a local weights file.
- ``edge``: the decoder built for int8 CPUs, chosen by the Pareto sweep in ``benchmarks/results/pareto``: α=1.0,
  128², nearest x2 upsampling + concatenation + one separable 3x3 conv (96/64/48/32 filters) per level, the
  committed ``isic128`` schedule (8 epochs, Adam 5e-4, cosine decay), and the pretrained encoder at a tenth of that
  learning rate (``encoder_lr_mult`` 0.1: the recipe study's winner, above the baseline's seed range on ISIC and
  brain MRI with two seeds each, ``benchmarks/results/recipe*``).

Both select the checkpoint by the per-image validation Dice, the number the benchmarks report (the pooled Dice
picked a different epoch than the reported metric on brain MRI).
"""

from __future__ import annotations

import copy
from typing import Any

from munet.errors import MunetError

PRESETS: dict[str, dict[str, Any]] = {
    "paper": {
        "arch": "munet",
        "alpha": 1.4,
        "size": [256, 256],
        "decoder_upsample": "transpose",
        "decoder_conv": "none",
        "decoder_filters": [512, 256, 128, 64],
        "decoder_head": "transpose",
        "epochs": 60,
        "batch": 8,
        "lr": 1e-3,
        "loss": "focal-tversky",
        "augment": {"rotation_deg": 20.0, "hflip": True},
        "monitor": "val_dice_per_image",
    },
    "edge": {
        "arch": "munet",
        "alpha": 1.0,
        "size": [128, 128],
        "decoder_upsample": "nearest",
        "decoder_conv": "separable",
        "decoder_filters": [96, 64, 48, 32],
        "decoder_head": "upsample_conv",
        "epochs": 8,
        "batch": 8,
        "lr": 5e-4,
        "lr_schedule": "cosine",
        "encoder_lr_mult": 0.1,
        "loss": "focal-tversky",
        "monitor": "val_dice_per_image",
    },
}


def preset_keys(name: str) -> dict[str, Any]:
    """The config keys of preset ``name`` (a copy); unknown names get a one-line error listing the presets."""
    if name not in PRESETS:
        raise MunetError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return copy.deepcopy(PRESETS[name])
