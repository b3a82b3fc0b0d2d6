"""munet-convert CLI: the accuracy gate passes on a sane int8 model and fails on a wrong calibration."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from munet.convert.cli import main
from munet.edge.preprocess import NORM_OFFSET, NORM_SCALE

pytest.importorskip("ai_edge_litert")

#: A small calibration set keeps each CLI conversion quick; the gate verdicts do not depend on its size.
CALIB = ["--calib-count", "16"]


def test_int8_gate_passes_and_writes_reports(trained_run: Path, blob_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.tflite"
    res = CliRunner().invoke(
        main, [str(trained_run), "--int8", "--calib-data", str(blob_data), *CALIB, "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "gate" in res.output and "PASS" in res.output
    assert "TRANSPOSE_CONV" in res.output and "tflite-runtime 2.14" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.ops.txt", "m.tflite"]


def test_wrong_calibration_fails_gate_and_points_at_it(
    trained_run: Path, blob_data: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import munet.convert.api as api

    real = api.calibration_arrays

    def scaled_twice(*args, **kwargs):
        x, held = real(*args, **kwargs)
        return (x * np.float32(NORM_SCALE) + np.float32(NORM_OFFSET)).astype(np.float32), held

    monkeypatch.setattr(api, "calibration_arrays", scaled_twice)
    out = tmp_path / "bad.tflite"
    res = CliRunner().invoke(
        main,
        [
            str(trained_run),
            "--int8",
            "--calib-data",
            str(blob_data),
            *CALIB,
            "--val-data",
            str(blob_data),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 1, res.output
    assert "FAIL" in res.output
    assert "calibration" in res.output.split("FAIL", 1)[1]


@pytest.mark.parametrize("content", [b"not a zip", b""])
def test_non_keras_model_is_a_one_line_error(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "model.keras"
    bad.write_bytes(content)
    res = CliRunner().invoke(main, [str(bad), "--float32"])
    assert res.exit_code == 2
    assert res.output.startswith("error: ") and len(res.output.strip().splitlines()) == 1
    assert "Traceback" not in res.output


def test_empty_calibration_folder_is_refused(tiny_keras_path: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    res = CliRunner().invoke(main, [str(tiny_keras_path), "--int8", "--calib-data", str(empty)])
    assert res.exit_code == 2
    assert "error:" in res.output and "no image" in res.output


def _run_folder(tmp_path: Path, trained_run: Path, data: Path) -> Path:
    """A copy of the shared run whose config.yaml names ``data`` as its training data."""
    import shutil

    import yaml

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(trained_run / "best.keras", run / "best.keras")
    config = yaml.safe_load((trained_run / "config.yaml").read_text())
    (run / "config.yaml").write_text(yaml.safe_dump({**config, "data": str(data)}))
    return run


def test_bare_run_builds_int8_calibrated_on_its_training_data(
    trained_run: Path, blob_data: Path, tmp_path: Path
) -> None:
    run = _run_folder(tmp_path, trained_run, blob_data)
    res = CliRunner().invoke(main, [str(run), *CALIB])
    assert res.exit_code == 0, res.output
    assert "mode: int8 (default" in res.output
    assert f"calibration: {blob_data} (the training data named in {run / 'config.yaml'}" in res.output
    assert (run / "munet_int8.tflite").is_file() and "PASS" in res.output  # the gate used held-back images
    # not a terminal: one line per finished stage with its seconds
    for stage in ("load model", "calibration data", "[1/1] int8: convert", "[1/1] int8: gate", "[1/1] int8: write"):
        assert re.search(rf"^{re.escape(stage)} \d+\.\d s$", res.output, re.M), stage


def test_bare_run_whose_training_data_is_gone(trained_run: Path, tmp_path: Path) -> None:
    run = _run_folder(tmp_path, trained_run, tmp_path / "moved")
    res = CliRunner().invoke(main, [str(run)])
    assert res.exit_code == 2
    last = res.output.strip().splitlines()[-1]
    assert last.startswith(f"error: {tmp_path / 'moved'}: the training data named in") and "--calib-data DIR" in last
    assert "is gone" in last and "Traceback" not in res.output
    res = CliRunner().invoke(main, [str(trained_run / "best.keras").replace("best", "nope"), "--int8"])
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_quiet_prints_no_progress(trained_run: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(main, [str(trained_run), "--float32", "--no-gate", "--quiet", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "float32: wrote" in res.output and "mode: int8" not in res.output
    assert not re.search(r"\d+\.\d s$", res.output, re.M)
