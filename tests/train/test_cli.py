"""munet-train: help and one-line errors (no training here; tests/train/test_trainer.py trains)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from munet.train.cli import main


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.output


def test_help_lists_the_issue_options() -> None:
    code, out = _run(["--help"])
    assert code == 0
    for opt in (
        "--data",
        "--dataset",
        "--val-data",
        "--val-split",
        "--arch",
        "--alpha",
        "--size",
        "--encoder-weights",
        "--epochs",
        "--batch",
        "--lr",
        "--loss",
        "--out",
        "--config",
        "--resume",
        "--seed",
        "--freeze-encoder-epochs",
        "--patience",
        "--lesion-share",
    ):
        assert opt in out, opt


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "100"], "multiples of 32"),
        (["--val-split", "2"], "between 0 and 1"),
        (["--config", "missing.yaml"], "missing.yaml: config file not found"),
        (["--arch", "mnet"], "did you mean 'munet'"),
        (["--resume", "runs/x", "--alpha", "1.0"], "--alpha cannot change a run"),
        (["--resume", "no/such/run"], "not a munet-train run folder"),
        (["--lesion-share", "1"], "lesion_share 1.0: must be in [0, 1)"),
    ],
)
def test_one_line_errors(args: list[str], message: str) -> None:
    code, out = _run(args)
    assert code == 2
    assert message in out and "Traceback" not in out
    assert len(out.strip().splitlines()) == 1


def test_recipe_flags_reach_the_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import munet.train.trainer as trainer

    seen = []

    def fake_train(config):
        seen.append(config)
        return trainer.RunResult(tmp_path, 0, None, None, config.monitor)

    monkeypatch.setattr(trainer, "train", fake_train)
    code, out = _run(["--lesion-share", "0.5", "--ema", "0.99", "--out", str(tmp_path / "run")])
    assert code == 0 and "no completed epoch" in out
    assert seen[0].lesion_share == 0.5 and seen[0].ema == 0.99
    _run(["--out", str(tmp_path / "run")])
    assert seen[1].lesion_share == 0.0  # not given: the natural share


def test_missing_and_empty_data_folders(tmp_path: Path) -> None:
    code, out = _run(["--data", str(tmp_path / "nope"), "--out", str(tmp_path / "run")])
    assert code == 2 and "nope" in out and len(out.strip().splitlines()) == 1
    (tmp_path / "empty").mkdir()
    code, out = _run(["--data", str(tmp_path / "empty"), "--out", str(tmp_path / "run")])
    assert code == 2 and "empty" in out and len(out.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()  # nothing is created for bad input


def test_bad_image_leaves_no_run_folder(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")

    from munet.train.synthetic import make_synthetic_dataset

    data = make_synthetic_dataset(tmp_path / "data", n=10, size=(64, 64), seed=0)
    bad = sorted((data / "images").iterdir())[3]
    bad.write_bytes(bad.read_bytes()[:40])  # truncated: the header only
    run = tmp_path / "run"
    args = ["--data", str(data), "--out", str(run), "--size", "64", "--alpha", "0.35", "--encoder-weights", "none"]
    code, out = _run([*args, "--epochs", "1"])
    assert code == 2 and bad.name in out and len(out.strip().splitlines()) == 1
    assert not run.exists()  # the folder is made only once every image decoded


def test_help_shows_the_defaults_a_run_uses_and_the_architectures() -> None:
    from munet.train.cli import _default
    from munet.train.config import SYNTHETIC_DEFAULTS, TrainConfig

    code, out = _run(["--help"])
    flat = " ".join(out.split()).replace("- ", "-")  # click wraps "unet-vgg19" after the hyphen
    for key in ("alpha", "epochs", "patience"):
        expected = f"[{getattr(TrainConfig(), key):g}; synthetic demo: {SYNTHETIC_DEFAULTS[key]:g}]"
        assert _default(key) == expected
        assert expected in flat, key
    assert "[1.4; synthetic demo: 0.35]" in flat and "[256; synthetic demo: 128]" in flat
    assert "munet | unet | unet-resnet50 | unet-vgg19 | segnet | fcn [munet]" in flat


def test_static_architecture_list_matches_the_registry() -> None:
    pytest.importorskip("keras")
    from munet.train.models import ARCHITECTURES, available_models

    assert sorted(ARCHITECTURES) == available_models()
