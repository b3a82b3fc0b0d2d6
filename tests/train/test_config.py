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
        ({"batch": 0}, "at least 1"),
        ({"lr": "fast"}, "expected a number"),
        ({"monitor": "dice"}, "val_dice"),
        ({"augment": {"rotation": 10}}, "did you mean 'augment.rotation_deg'"),
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
