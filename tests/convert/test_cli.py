"""munet-convert CLI: the accuracy gate passes on a sane int8 model and fails on a wrong calibration."""

from __future__ import annotations

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
