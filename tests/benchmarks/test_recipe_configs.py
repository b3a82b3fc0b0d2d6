"""The recipe sweep's files: each lever = the edge preset + that one lever, in its config and in the points file."""

from __future__ import annotations

from pathlib import Path

import pytest

from munet.benchmarks.experiment import load_points
from munet.train.config import load_yaml, make_config

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "benchmarks" / "configs"
POINTS = CONFIGS / "recipe_points.yaml"
BASELINE = ("edge", "edge-seed1", "edge-seed2")


def _effective(overrides: dict) -> dict:
    """The effective config as the sweep trains it (``--epochs 8`` below the point's keys, paths left out)."""
    cfg = make_config(overrides={"epochs": 8, "data": "d", **overrides}).to_dict()
    return {k: v for k, v in cfg.items() if k not in ("data", "encoder_weights")}


def test_every_lever_config_is_a_point_and_differs_from_the_edge_preset_in_its_lever_only() -> None:
    points = {p.name: p.overrides for p in load_points(POINTS)}
    levers = sorted(p.stem.removeprefix("recipe_") for p in CONFIGS.glob("recipe_*.yaml") if p.name != POINTS.name)
    repeats = {
        n for n in points if "-seed" in n and n.rsplit("-seed", 1)[0] in levers
    }  # <lever>-seedN: a lever's other seeds
    assert len(levers) >= 6 and set(points) == set(BASELINE) | set(levers) | repeats
    for name in repeats:
        lever, seed = name.rsplit("-seed", 1)
        assert points[name] == {**points[lever], "seed": int(seed)}, name
    weights = {str(o.get("encoder_weights")) for o in points.values()}
    assert weights == {"../shared/weights/mobilenet_v2_1.0_imagenet_qat_notop.h5"}  # all from the ImageNet encoder
    base = _effective(points["edge"])
    assert base["preset"] == "edge" and base["alpha"] == 1.0 and base["lr_schedule"] == "cosine"
    for name in levers:
        keys = load_yaml(CONFIGS / f"recipe_{name}.yaml")
        assert keys.pop("preset") == "edge", name
        assert {k: v for k, v in points[name].items() if k not in ("preset", "encoder_weights")} == keys, name
        lever = _effective(points[name])
        changed = {k for k in base if base[k] != lever[k]}
        if "augment" in keys:  # only the new augmentation keys move
            changed.discard("augment")
            extra = {k for k, v in lever["augment"].items() if base["augment"][k] != v}
            assert extra and extra <= {"scale", "hue", "saturation"}, name
        assert changed == set(keys) - {"augment"}, name
    for name in BASELINE[1:]:
        other = _effective(points[name])
        assert {k for k in base if base[k] != other[k]} == {"seed"}


def test_reproduce_has_the_recipe_targets() -> None:
    script = (REPO / "benchmarks" / "reproduce.sh").read_text()
    target = script.split("\n  recipe)\n", 1)[1].split(";;", 1)[0]
    for part in ("munet-bench pareto", "--points benchmarks/configs/recipe_points.yaml", "--epochs 8", "--reuse"):
        assert part in target
    assert "--out benchmarks/results/recipe " in target and "--runs-dir runs/recipe " in target
    brain = script.split("\n  recipe-brain)\n", 1)[1].split(";;", 1)[0]
    for part in ("brain_mri/train", "--points benchmarks/configs/brain_recipe_points.yaml", "--epochs 15", "--reuse"):
        assert part in brain
    assert "--out benchmarks/results/recipe-brain" in brain and "--runs-dir runs/recipe-brain" in brain


def test_brain_points_are_isic_points_under_the_same_names() -> None:
    """The brain check repeats ISIC points as they are (same keys), so one name means one recipe on both sets."""
    isic = {p.name: p.overrides for p in load_points(POINTS)}
    brain = load_points(CONFIGS / "brain_recipe_points.yaml")
    assert brain[0].name == "edge" and len(brain) >= 2
    for p in brain:
        assert p.overrides == isic[p.name], p.name


@pytest.mark.parametrize("name", ["warmup", "encoder_lr", "ema"])
def test_lever_configs_train_with_munet_train(name: str) -> None:
    cfg = make_config(CONFIGS / f"recipe_{name}.yaml", {"data": "d"})
    assert cfg.preset == "edge" and cfg.decoder_conv == "separable" and cfg.epochs == 8
    assert (cfg.warmup_epochs, cfg.encoder_lr_mult, cfg.ema) != (0.0, 1.0, 0.0)
