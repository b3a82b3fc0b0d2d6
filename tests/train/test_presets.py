"""Presets (munet.train.presets): expansion into ordinary keys, override order, and the run's config.yaml."""

from __future__ import annotations

import pytest
import yaml

from munet.errors import MunetError
from munet.train.config import load_yaml, make_config
from munet.train.presets import PRESETS


def test_edge_preset_expands_to_the_slim_decoder_and_its_schedule() -> None:
    c = make_config(overrides={"preset": "edge", "data": "d"})
    assert (c.alpha, c.input_size, c.decoder_upsample, c.decoder_conv) == (1.0, (128, 128), "nearest", "separable")
    assert c.decoder_filters == [96, 64, 48, 32]
    assert (c.epochs, c.lr, c.lr_schedule, c.monitor) == (8, 5e-4, "cosine", "val_dice_per_image")
    assert c.encoder_lr_mult == 0.1  # the recipe study's winner (benchmarks/results/recipe*)
    assert make_config(overrides={"preset": "edge", "data": "d", "encoder_lr_mult": 1.0}).encoder_lr_mult == 1.0


def test_paper_preset_is_the_papers_model() -> None:
    c = make_config(overrides={"preset": "paper", "data": "d"})
    assert (c.alpha, c.input_size, c.epochs) == (1.4, (256, 256), 60)
    assert (c.decoder_upsample, c.decoder_conv, c.decoder_head) == ("transpose", "none", "transpose")
    assert c.decoder_filters == [512, 256, 128, 64]
    assert c.augment.rotation_deg == 20.0 and c.augment.hflip


def test_command_line_and_yaml_override_preset_keys(tmp_path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("preset: edge\nepochs: 3\ndecoder_filters: [64, 48, 32, 16]\n")
    c = make_config(cfg, {"data": "d", "size": "96", "decoder_filters": "32,32,16,16"})
    assert c.epochs == 3  # YAML beats the preset
    assert c.input_size == (96, 96) and c.decoder_filters == [32, 32, 16, 16]  # the command line beats both
    assert c.decoder_conv == "separable"  # untouched preset key


def test_effective_config_records_expanded_keys_and_reloads_identically(tmp_path) -> None:
    c = make_config(overrides={"preset": "edge", "data": "d", "alpha": 0.35})
    saved = tmp_path / "config.yaml"
    saved.write_text(c.to_yaml())
    recorded = yaml.safe_load(saved.read_text())
    assert recorded["preset"] == "edge" and recorded["decoder_upsample"] == "nearest" and recorded["alpha"] == 0.35
    assert make_config(base=load_yaml(saved)) == c


def test_unknown_preset_and_bad_decoder_settings_are_one_line_errors() -> None:
    with pytest.raises(MunetError, match="choose one of: paper, edge"):
        make_config(overrides={"preset": "fast", "data": "d"})
    with pytest.raises(MunetError, match="decoder_filters"):
        make_config(overrides={"decoder_filters": "1,2,x,4", "data": "d"})
    with pytest.raises(MunetError, match="decoder_conv to plain or separable"):
        make_config(overrides={"decoder_upsample": "nearest", "data": "d"})


def test_every_preset_key_is_a_config_key() -> None:
    for name in PRESETS:
        make_config(overrides={"preset": name, "data": "d"})  # unknown keys would raise
