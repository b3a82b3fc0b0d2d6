"""Config: precedence, synthetic defaults, did-you-mean validation, stable hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from munet.errors import MunetError
from munet.train.config import SYNTHETIC_DEFAULTS, TrainConfig, config_from_run, make_config


def test_precedence_defaults_yaml_cli(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        "data: some/folder\nalpha: 1.0\nsize: 192x256\nepochs: 5\nfreeze-encoder-epochs: 2\naugment: {vflip: true}\n"
    )
    c = make_config(cfg, {"epochs": 7, "lr": None})
    assert c.data == "some/folder" and c.alpha == 1.0 and c.input_size == (192, 256)
    assert c.epochs == 7  # command line beats YAML
    assert c.lr == 1e-3  # None = not given: the default stays
    assert c.freeze_encoder_epochs == 2 and c.augment.vflip and c.augment.hflip
    assert c.encoder_weights == "imagenet"  # real data: no tiny defaults


def test_synthetic_defaults_only_fill_unset_keys() -> None:
    c = make_config(overrides={"epochs": 2})
    assert c.data is None and c.alpha == SYNTHETIC_DEFAULTS["alpha"] and c.input_size == (128, 128)
    assert c.epochs == 2 and c.encoder_weights == "none"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"epoch": 3}, "did you mean 'epochs'"),
        ({"loss": "focal_tverski"}, "did you mean 'focal-tversky'"),
        ({"size": "100"}, "multiples of 32"),
        ({"size": "big"}, "expected N or HxW"),
        ({"val_split": 1.5}, "between 0 and 1"),
        ({"val_split": -0.1}, "0 \\(a final fit on all data\\) or between 0 and 1"),
        ({"val_split": 0, "val_data": "val"}, "cannot take val_data"),
        ({"batch": 0}, "at least 1"),
        ({"lr": "fast"}, "expected a number"),
        ({"monitor": "dice"}, "val_dice"),
        ({"augment": {"rotation": 10}}, "did you mean 'augment.rotation_deg'"),
        ({"warmup_epochs": -1}, "warmup_epochs -1.0: must be 0 or more"),
        ({"warmup_epochs": 8, "epochs": 8}, "below epochs"),
        ({"encoder_lr_mult": -0.1}, "encoder_lr_mult"),
        ({"ema": 1.0}, r"EMA momentum must be in \[0, 1\)"),
        ({"lesion_share": 1.0}, r"lesion_share 1.0: must be in \[0, 1\)"),
        ({"lesion_share": -0.1}, r"lesion_share -0.1: must be in \[0, 1\)"),
        ({"lesion_share": "half"}, "lesion_share 'half': expected a number"),
        ({"loss": "focal-tversky+bc"}, "did you mean 'focal-tversky\\+bce'"),
        ({"augment": {"scale": 1.0}}, r"augment.scale 1.0: must be in \[0, 1\)"),
        ({"augment": {"hue": 0.6}}, "augment.hue"),
        ({"augment": {"saturation": -0.2}}, "augment.saturation"),
    ],
)
def test_bad_values_one_line_errors(overrides: dict, message: str) -> None:
    with pytest.raises(MunetError, match=message) as info:
        make_config(overrides=overrides)
    assert "\n" not in str(info.value)


def test_yaml_errors(tmp_path: Path) -> None:
    with pytest.raises(MunetError, match="not found"):
        make_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("alpha: [1,\n")
    with pytest.raises(MunetError, match="not valid YAML"):
        make_config(bad)
    typo = tmp_path / "typo.yaml"
    typo.write_text("alhpa: 1.0\n")
    with pytest.raises(MunetError, match=r"typo.yaml: unknown config key 'alhpa' \(did you mean 'alpha'\?\)"):
        make_config(typo)


def test_hash_is_stable_and_ignores_paths(tmp_path: Path) -> None:
    a = make_config(overrides={"data": "x", "out": "runs/a", "alpha": 1.0})
    b = make_config(overrides={"data": "y", "out": "runs/b", "alpha": 1.0})
    c = make_config(overrides={"data": "x", "out": "runs/a", "alpha": 1.4})
    assert a.config_hash() == b.config_hash() != c.config_hash()
    assert len(a.config_hash()) == 12
    # YAML round trip through a run folder keeps every value and the hash
    (tmp_path / "config.yaml").write_text(c.to_yaml())
    again = config_from_run(tmp_path)
    assert again == c and again.config_hash() == c.config_hash()
    with pytest.raises(MunetError, match="not a munet-train run folder"):
        config_from_run(tmp_path / "nope")


def test_paper_lr_documented() -> None:
    assert TrainConfig().lr == 1e-3 and "0.05" in (TrainConfig.__doc__ or "")


def test_recipe_keys_default_to_todays_behaviour_and_parse(tmp_path: Path) -> None:
    c = TrainConfig()
    assert (c.warmup_epochs, c.encoder_lr_mult, c.ema, c.lesion_share, c.loss) == (0.0, 1.0, 0.0, 0.0, "focal-tversky")
    assert (c.augment.scale, c.augment.hue, c.augment.saturation) == (0.0, 0.0, 0.0)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        "preset: edge\nwarmup-epochs: 1\nencoder_lr_mult: 0.1\nema: 0.99\nlesion-share: 0.5\n"
        "augment: {scale: 0.2, hue: 0.05}"
    )
    c = make_config(cfg, {"ema": "0.999", "loss": "focal-tversky+bce"})
    assert c.warmup_epochs == 1.0 and c.encoder_lr_mult == 0.1 and c.ema == 0.999 and c.loss == "focal-tversky+bce"
    assert c.lesion_share == 0.5 and make_config(cfg, {"lesion_share": "0.3"}).lesion_share == 0.3
    assert c.augment.scale == 0.2 and c.augment.hue == 0.05 and c.augment.rotation_deg == 20.0
    assert c.lr_schedule == "cosine"  # the preset's keys stay


def test_recipe_keys_at_their_defaults_keep_committed_hashes() -> None:
    """A run committed before the recipe keys existed still hashes to the value in its MODEL_CARD.md."""
    import re

    import yaml

    # the card of the bundled skin model of 2026-11 (benchmarks/results/isic-edge), kept as it was written except
    # that its paths into shared/ are relative, with the hash that the config code of then (030c725) gives them
    card = (Path(__file__).parent / "data" / "MODEL_CARD_2026-11.md").read_text()
    recorded = re.search(r"Config hash: `([0-9a-f]{12})`", card).group(1)
    saved = yaml.safe_load(card.split("```yaml\n", 1)[1].split("```", 1)[0])
    assert "ema" not in saved and "lesion_share" not in saved and "scale" not in saved["augment"]  # predate the keys
    base = make_config(base=saved)
    assert base.config_hash() == recorded
    assert saved["preset"] == "edge" and base.encoder_lr_mult == 1.0  # as trained: today's preset is not re-applied
    assert make_config(base={**saved, "lesion_share": 0.0}).config_hash() == recorded  # written at its default
    for changed in (
        {"ema": 0.99},
        {"warmup_epochs": 1},
        {"encoder_lr_mult": 0.1},
        {"lesion_share": 0.5},
        {"augment": {"hue": 0.05}},
    ):
        assert make_config(base=saved, overrides=changed).config_hash() != recorded, changed


def test_final_fit_trains_on_every_pair_and_says_its_monitor_is_not_held_out(tmp_path) -> None:
    """``val_split`` 0: all pairs train; the "validation" monitor is a named sample OF them, not an estimate."""
    from munet.train.synthetic import make_synthetic_dataset
    from munet.train.trainer import FINAL_FIT_MONITOR, _prepare_data

    data = make_synthetic_dataset(tmp_path / "data", n=20, size=(64, 64), seed=0)
    final = _prepare_data(make_config(overrides={"data": str(data), "size": 64, "val_split": 0}), tmp_path)
    split = _prepare_data(make_config(overrides={"data": str(data), "size": 64, "val_split": 0.2}), tmp_path)
    assert len(final.x_train) == 20 and len(final.x_val) == 20 // FINAL_FIT_MONITOR
    assert len(split.x_train) + len(split.x_val) == 20 and len(split.x_val) >= 2
    train_names = {p.image.name for p in final.val_pairs}
    assert train_names and "FINAL FIT on all 20 images" in final.val_source and "TRAINING" in final.val_source
