"""Typed training configuration: defaults < synthetic tiny defaults < YAML file < command line.

Unknown keys (in YAML or overrides) fail with a one-line "did you mean" error; the effective
config is written as ``RUN/config.yaml`` and hashed (:meth:`TrainConfig.config_hash`) so converted
models can name the run they came from.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from munet.edge.preprocess import parse_size
from munet.edge.tta import TTA_CHOICES
from munet.errors import MunetError
from munet.train.models.decoder import BLOCK_CONV, HEADS, PAPER_FILTERS, UPSAMPLE, DecoderSpec
from munet.train.pipeline import AugmentConfig
from munet.train.presets import PRESETS, preset_keys

DATASETS = ("auto", "isic", "lgg", "figshare", "folder")
LOSS_NAMES = ("focal-tversky", "dice", "bce", "bce-dice", "focal-tversky+bce", "lovasz", "bce-lovasz")
SCHEDULES = ("plateau", "cosine", "constant")
DISTRIBUTE = ("auto", "none", "mirrored", "multiworker")
MIXED = ("auto", "on", "off")

#: Used when no ``--data`` is given: the procedural synthetic set and a config that trains in minutes.
SYNTHETIC_DEFAULTS: dict[str, Any] = {
    "alpha": 0.35,
    "size": [128, 128],
    "epochs": 8,
    "encoder_weights": "none",
    "synthetic_count": 96,
    "patience": 5,
}

#: Keys that do not change the trained model (left out of the hash).
_NOT_HASHED = ("out", "data", "val_data")
#: Keys added after runs were committed: left out of the hash at these defaults, so older runs keep their hash.
_HASHED_IF_SET = {
    "warmup_epochs": 0.0,
    "encoder_lr_mult": 1.0,
    "ema": 0.0,
    "lesion_share": 0.0,
    "precise_bn": 0,
    "teacher": [],
    "teacher_weight": 0.5,
    "teacher_tta": "flips",
}
_AUGMENT_HASHED_IF_SET = {"scale": 0.0, "hue": 0.0, "saturation": 0.0}


#: Augmentation settings are the pipeline's own dataclass (TF-free to import).
AugmentSettings = AugmentConfig


@dataclass
class TrainConfig:
    """Everything one training run needs (see ``munet-train --help`` for the CLI names).

    ``lr`` defaults to 1e-3: the paper (Sec. 5.1) trains with "Adam with a learning rate of 0.05",
    fifty times Adam's usual step; with Adam's per-parameter normalisation 0.05 makes BatchNorm'd
    fine-tuning of a pretrained encoder diverge, so we read it as a typo-level value and keep
    Adam's default 1e-3.
    """

    data: str | None = None
    dataset: str = "auto"
    val_data: str | None = None
    val_split: float = 0.2
    preset: str | None = None
    arch: str = "munet"
    alpha: float = 1.4
    size: list[int] = field(default_factory=lambda: [256, 256])
    encoder_weights: str = "imagenet"
    decoder_upsample: str = "transpose"
    decoder_conv: str = "none"
    decoder_filters: list[int] = field(default_factory=lambda: list(PAPER_FILTERS))
    decoder_head: str = "transpose"
    epochs: int = 60
    batch: int = 8
    lr: float = 1e-3
    loss: str = "focal-tversky"
    out: str | None = None
    seed: int = 0
    freeze_encoder_epochs: int = 0
    patience: int = 10
    lr_schedule: str = "plateau"
    lr_patience: int = 4
    lr_factor: float = 0.5
    min_lr: float = 1e-6
    warmup_epochs: float = 0.0
    encoder_lr_mult: float = 1.0
    ema: float = 0.0
    lesion_share: float = 0.0
    precise_bn: int = 0
    teacher: list[str] = field(default_factory=list)
    teacher_weight: float = 0.5
    teacher_tta: str = "flips"
    monitor: str = "val_dice"
    threshold: float = 0.5
    augment: AugmentSettings = field(default_factory=AugmentSettings)
    mixed_precision: str = "auto"
    distribute: str = "auto"
    synthetic_count: int = 96
    workers: int = 2
    steps_per_epoch: int | None = None

    # ----------------------------------------------------------------- helpers
    @property
    def input_size(self) -> tuple[int, int]:
        return (int(self.size[0]), int(self.size[1]))

    def decoder_spec(self) -> DecoderSpec:
        """The decoder these keys describe (:mod:`munet.train.models.decoder`)."""
        return DecoderSpec(
            upsample=self.decoder_upsample,
            block_conv=self.decoder_conv,
            filters=tuple(int(f) for f in self.decoder_filters),
            head=self.decoder_head,
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def config_hash(self) -> str:
        """Stable 12-hex-digit hash of the settings that shape the model (not paths)."""
        d = {k: v for k, v in self.to_dict().items() if k not in _NOT_HASHED and not _at_default(_HASHED_IF_SET, k, v)}
        d["augment"] = {k: v for k, v in d["augment"].items() if not _at_default(_AUGMENT_HASHED_IF_SET, k, v)}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def validate(self) -> TrainConfig:
        """Check value ranges and choices; raise a one-line :class:`MunetError`."""
        _choice("dataset", self.dataset, DATASETS)
        _choice("loss", self.loss, LOSS_NAMES)
        _choice("lr_schedule", self.lr_schedule, SCHEDULES)
        _choice("distribute", self.distribute, DISTRIBUTE)
        _choice("mixed_precision", self.mixed_precision, MIXED)
        _choice("decoder_upsample", self.decoder_upsample, UPSAMPLE)
        _choice("decoder_conv", self.decoder_conv, BLOCK_CONV)
        _choice("decoder_head", self.decoder_head, HEADS)
        if self.preset is not None:
            _choice("preset", self.preset, tuple(PRESETS))
        self.decoder_spec().validate(levels=4)  # widths and combinations: the builder's own rules
        h, w = self.input_size
        if h % 32 or w % 32 or h <= 0 or w <= 0:
            raise MunetError(f"size {h}x{w}: height and width must be positive multiples of 32 (e.g. 256 or 192x256)")
        if not 0.0 <= self.val_split < 1.0:
            raise MunetError(
                f"val_split {self.val_split}: must be 0 (a final fit on all data) or between 0 and 1 (e.g. 0.2)"
            )
        if self.val_split == 0 and self.val_data:
            raise MunetError("val_split 0 (a final fit on all data) cannot take val_data; drop one of them")
        for key in ("epochs", "batch", "patience", "synthetic_count", "workers"):
            if getattr(self, key) < 1:
                raise MunetError(f"{key} {getattr(self, key)}: must be at least 1")
        if self.freeze_encoder_epochs < 0:
            raise MunetError("freeze_encoder_epochs: must be 0 or more")
        if not self.lr > 0:
            raise MunetError(f"lr {self.lr}: must be positive (Adam's usual value is 1e-3)")
        if not 0 <= self.warmup_epochs < self.epochs:
            raise MunetError(f"warmup_epochs {self.warmup_epochs}: must be 0 or more and below epochs ({self.epochs})")
        if not self.encoder_lr_mult >= 0:
            raise MunetError(f"encoder_lr_mult {self.encoder_lr_mult}: must be 0 or more (e.g. 0.1; 1 = same lr)")
        if self.precise_bn < 0:
            raise MunetError(f"precise_bn {self.precise_bn}: the number of training batches must be >= 0 (0 = off)")
        if not 0 <= self.ema < 1:
            raise MunetError(f"ema {self.ema}: the EMA momentum must be in [0, 1) (e.g. 0.99; 0 = off)")
        if not 0 <= self.lesion_share < 1:
            raise MunetError(f"lesion_share {self.lesion_share}: must be in [0, 1) (e.g. 0.5; 0 = natural share)")
        if not 0 < self.teacher_weight <= 1:
            raise MunetError(
                f"teacher_weight {self.teacher_weight}: the teacher's share of the target must be in (0, 1] (e.g. 0.5)"
            )
        _choice("teacher_tta", self.teacher_tta, TTA_CHOICES)
        self.augment.validate()
        if not self.monitor.startswith("val_"):
            raise MunetError(f"monitor {self.monitor!r}: use a validation log key such as val_dice or val_loss")
        return self


def _at_default(defaults: dict[str, Any], key: str, value: Any) -> bool:
    return key in defaults and defaults[key] == value


def _choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        close = difflib.get_close_matches(str(value), choices, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise MunetError(f"{key} {value!r}{hint}; choose one of: {', '.join(choices)}")


_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
_AUG_FIELDS = {f.name for f in dataclasses.fields(AugmentSettings)}


def _unknown_key(key: str, valid: list[str], where: str) -> MunetError:
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return MunetError(f"{where}: unknown config key {key!r}{hint}; valid keys: {', '.join(sorted(valid))}")


def _coerce(key: str, value: Any, where: str) -> Any:
    """Convert ``value`` to the type of field ``key`` (``size`` accepts 256, "192x256" or [h, w])."""
    if value is None:
        return None
    if key == "size":
        try:
            return list(parse_size(value if not isinstance(value, list | tuple) else tuple(value)))
        except (ValueError, TypeError):
            raise MunetError(f"{where}: size {value!r}: expected N or HxW, e.g. 256 or 192x256") from None
    if key == "augment":
        if isinstance(value, AugmentSettings):
            return value
        if not isinstance(value, dict):
            raise MunetError(f"{where}: augment must be a mapping such as {{rotation_deg: 20, hflip: true}}")
        for k in value:
            if k not in _AUG_FIELDS:
                raise _unknown_key(f"augment.{k}", [f"augment.{a}" for a in _AUG_FIELDS], where)
        return AugmentSettings(**value)
    if key == "encoder_weights":
        return "none" if value is None else str(value)
    if key == "decoder_filters":
        items = value.replace(",", " ").split() if isinstance(value, str) else value
        try:
            return [int(v) for v in items]
        except (TypeError, ValueError):
            raise MunetError(f"{where}: decoder_filters {value!r}: expected four integers, e.g. 96,64,48,32") from None
    if key == "preset":
        return str(value)
    if key == "teacher":
        items = value.replace(",", " ").split() if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise MunetError(f"{where}: teacher {value!r}: expected model files, e.g. [runs/a/last.keras]")
        return [str(v) for v in items]
    default = _FIELDS[key].default
    try:
        if isinstance(default, bool):
            return bool(value)
        if isinstance(default, int) and not isinstance(default, bool) or key == "steps_per_epoch":
            return int(value)
        if isinstance(default, float):
            return float(value)
    except (TypeError, ValueError):
        raise MunetError(f"{where}: {key} {value!r}: expected a number") from None
    return value if value is None else str(value)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file into a dict (keys with ``-`` accepted as ``_``)."""
    path = Path(path)
    if not path.is_file():
        raise MunetError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise MunetError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise MunetError(f"{path}: a config file must be a mapping of key: value lines")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def make_config(
    yaml_path: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    base: dict[str, Any] | None = None,
) -> TrainConfig:
    """Build a validated config: dataclass defaults < preset < ``base`` < YAML file < ``overrides`` (None = unset).

    ``preset`` (:mod:`munet.train.presets`), named in the YAML file or the overrides, expands to ordinary keys just
    above the defaults. ``base`` is a saved run's complete config (``RUN/config.yaml``): its ``preset`` is a record,
    not expanded again, so a run keeps its settings when a preset changes later (a key the run predates takes the
    dataclass default it trained with).

    With neither ``data`` in the YAML nor in the overrides, :data:`SYNTHETIC_DEFAULTS` fill in every
    key the user did not set.
    """
    layers: list[tuple[str, dict[str, Any]]] = []
    if base:
        layers.append(("config", dict(base)))
    if yaml_path is not None:
        layers.append((str(yaml_path), load_yaml(yaml_path)))
    if overrides:
        layers.append(("command line", {k.replace("-", "_"): v for k, v in overrides.items() if v is not None}))
    for where, layer in layers:
        for key in layer:
            if key not in _FIELDS:
                raise _unknown_key(key, list(_FIELDS), where)
    named = [layer for where, layer in layers if where != "config"]  # a saved run's preset is only a record
    preset = next((layer["preset"] for layer in reversed(named) if layer.get("preset") is not None), None)
    if preset is not None:  # lowest layer: every other source overrides its keys
        layers.insert(0, (f"preset {preset}", preset_keys(str(preset))))
    merged: dict[str, Any] = {}
    for where, layer in layers:
        for key, value in layer.items():
            merged[key] = _coerce(key, value, where)
    if merged.get("data") is None and not base:
        for key, value in SYNTHETIC_DEFAULTS.items():
            merged.setdefault(key, value)
    return TrainConfig(**merged).validate()


def config_from_run(run_dir: str | Path) -> TrainConfig:
    """The effective config saved in ``RUN/config.yaml``."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise MunetError(f"{run_dir}: not a munet-train run folder (no config.yaml); pass the folder given as --out")
    return make_config(base=load_yaml(path))
