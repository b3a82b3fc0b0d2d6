"""The recipe sweep's files: each lever = the edge preset + that one lever, in its config and in the points file."""

from __future__ import annotations

from pathlib import Path

import pytest

from munet.benchmarks.experiment import load_points
from munet.train.config import load_yaml, make_config

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "benchmarks" / "configs"
POINTS = CONFIGS / "recipe_points.yaml"
BASELINE = ("edge", "edge-seed1", "edge-seed2")  # round 1: the edge preset before encoder_lr joined it
ROUND1 = {"encoder_lr_mult": 1.0}  # written out on every round-1 point: today's preset has 0.1
ROUND2 = "encoder_lr"  # round 2's baseline: round 1's winner, today's preset
BRAIN_ONLY = ("lesion_share",)  # levers for sets with lesion-free images (ISIC has none): brain MRI points only


def _effective(overrides: dict) -> dict:
    """The effective config as the sweep trains it (``--epochs 8`` below the point's keys, paths left out)."""
    cfg = make_config(overrides={"epochs": 8, "data": "d", **overrides}).to_dict()
    return {k: v for k, v in cfg.items() if k not in ("data", "encoder_weights")}


def _changed(base: dict, other: dict) -> set[str]:
    return {k for k in base if base[k] != other[k]}


def test_every_point_is_a_baseline_a_lever_or_a_seed_repeat_and_differs_in_its_lever_only() -> None:
    points = {p.name: p.overrides for p in load_points(POINTS)}
    levers = sorted(p.stem.removeprefix("recipe_") for p in CONFIGS.glob("recipe_*.yaml") if p.name != POINTS.name)
    assert len(levers) >= 6
    weights = {str(o.get("encoder_weights")) for o in points.values()}
    assert weights == {"../shared/weights/mobilenet_v2_1.0_imagenet_qat_notop.h5"}  # all from the ImageNet encoder
    base, today = _effective(points["edge"]), _effective(points[ROUND2])
    assert base["preset"] == "edge" and base["alpha"] == 1.0 and base["lr_schedule"] == "cosine"
    assert today == _effective({"preset": "edge"}) and _changed(base, today) == {"encoder_lr_mult"}
    brain = {p.name: p.overrides for p in load_points(CONFIGS / "brain_recipe_points.yaml")}
    every = {**points, **{n: o for n, o in brain.items() if n.split("+")[-1].startswith(BRAIN_ONLY)}}
    for name, keys in every.items():
        stem = name.rsplit("-seed", 1)[0] if "-seed" in name else name
        if stem != name:  # <point>-seedN: another seed of a point
            assert every[name] == {**every[stem], "seed": int(name.rsplit("-seed", 1)[1])}, name
            continue
        if name in BASELINE:
            continue
        round2 = name.startswith(f"{ROUND2}+")
        lever = name.removeprefix(f"{ROUND2}+")
        assert lever in levers, f"{name}: no benchmarks/configs/recipe_{lever}.yaml"
        config = load_yaml(CONFIGS / f"recipe_{lever}.yaml")
        assert config.pop("preset") == "edge", lever
        written = {k: v for k, v in keys.items() if k not in ("preset", "encoder_weights")}
        # round 2: today's preset + the lever; round 1: the old preset (ROUND1 written out) + the lever
        assert written == ({"encoder_lr_mult": 0.1} | config if round2 or lever == ROUND2 else ROUND1 | config), name
        ref, mine = (today if round2 else base), _effective(keys)
        changed = _changed(ref, mine)
        if "augment" in config:  # only the new augmentation keys move
            changed.discard("augment")
            extra = {k for k, v in mine["augment"].items() if ref["augment"][k] != v}
            assert extra and extra <= {"scale", "hue", "saturation"}, name
        assert changed == set(config) - {"augment"}, name
    brain = {p.name for p in load_points(CONFIGS / "brain_recipe_points.yaml")}
    measured = {n.rsplit("-seed", 1)[0].removeprefix(f"{ROUND2}+") for n in {*points, *brain}}
    assert set(levers) <= measured  # every lever config is measured by some point (ISIC or brain MRI)
    for name in BASELINE[1:]:
        if name in points:
            assert _changed(base, _effective(points[name])) == {"seed"}


def test_reproduce_has_the_recipe_targets() -> None:
    """The recipe studies are sweep configs with the settings of their committed runs; `reproduce.sh sweeps` runs
    them (its list is checked in test_sweep)."""
    from munet.benchmarks.sweep import load_sweep

    for stem, data, points, epochs in (
        ("recipe", "isic", "recipe_points.yaml", 8),
        ("brain_recipe", "brain_mri", "brain_recipe_points.yaml", 15),
    ):
        cfg = load_sweep(CONFIGS / f"{stem}.yaml")
        assert (cfg.kind, cfg.epochs, cfg.threads, cfg.runs) == ("points", epochs, 2, 50)
        assert cfg.data == [Path(f"../shared/data/{data}/train")] and cfg.val_data == Path(f"../shared/data/{data}/val")
        assert cfg.points == load_points(CONFIGS / points)
        name = {"recipe": "recipe", "brain_recipe": "recipe-brain"}[stem]
        assert (cfg.out, cfg.runs_dir) == (Path(f"benchmarks/results/{name}"), Path(f"runs/{name}"))


def test_brain_points_are_isic_points_under_the_same_names() -> None:
    """The brain check repeats ISIC points as they are (same keys), so one name means one recipe on both sets;
    a brain-only ``<point>-seedN`` is that ISIC point with another seed."""
    isic = {p.name: p.overrides for p in load_points(POINTS)}
    brain = load_points(CONFIGS / "brain_recipe_points.yaml")
    assert brain[0].name == "edge" and len(brain) >= 2
    for p in brain:
        if p.name.split("+")[-1].startswith(BRAIN_ONLY):
            assert p.name not in isic, p.name
            continue
        if p.name in isic:
            assert p.overrides == isic[p.name], p.name
        else:  # a seed repeat run on brain MRI only: the ISIC point under its stem, another seed
            stem, seed = p.name.rsplit("-seed", 1)
            assert p.overrides == {**isic[stem], "seed": int(seed)}, p.name


@pytest.mark.parametrize("name", ["warmup", "ema"])
def test_lever_configs_train_with_munet_train(name: str) -> None:
    cfg = make_config(CONFIGS / f"recipe_{name}.yaml", {"data": "d"})
    assert cfg.preset == "edge" and cfg.decoder_conv == "separable" and cfg.epochs == 8
    assert cfg.encoder_lr_mult == 0.1 and (cfg.warmup_epochs, cfg.ema) != (0.0, 0.0)
