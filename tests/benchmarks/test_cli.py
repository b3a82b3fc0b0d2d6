"""munet-bench CLI: subcommands exist, bad input is a one-line error (exit 2), accuracy runs end to end."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from munet.benchmarks.cli import main


def test_help_lists_subcommands() -> None:
    res = CliRunner().invoke(main, ["--help"])
    assert res.exit_code == 0
    for name in ("accuracy", "latency", "noise", "pareto", "flow", "readme-table"):
        assert name in res.output


def test_not_a_tflite_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "model.tflite"
    bad.write_text("hello")
    res = CliRunner().invoke(main, ["latency", "--tflite", str(bad), "--runs", "1", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "error:" in res.output and "Traceback" not in res.output


def test_accuracy_command_writes_results(tiny_tflites: dict[str, Path], tiny_pairs: Path, tmp_path: Path) -> None:
    out = tmp_path / "acc"
    res = CliRunner().invoke(
        main,
        [
            "accuracy",
            "--tflite",
            str(tiny_tflites["float32"]),
            str(tiny_tflites["int8"]),
            "--data",
            str(tiny_pairs),
            "--out",
            str(out),
            "--worst",
            "1",
            "--threads",
            "1",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads((out / "accuracy.json").read_text())
    assert set(data["models"]) == {"tiny_float32", "tiny_int8"}
    assert (out / "accuracy_grid.png").is_file()
    assert f"wrote {out}/accuracy.json, accuracy.md, accuracy_grid.png" in res.output


def test_accuracy_of_one_model_does_not_claim_a_grid(
    tiny_tflites: dict[str, Path], tiny_pairs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "acc"
    args = ["accuracy", "--tflite", str(tiny_tflites["int8"]), "--data", str(tiny_pairs), "--out", str(out)]
    res = CliRunner().invoke(main, [*args, "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert not (out / "accuracy_grid.png").exists()
    assert "accuracy_grid.png" not in res.output and "no overlay grid" in res.output


def test_accuracy_reports_progress_per_model_unless_quiet(
    tiny_tflites: dict[str, Path], tiny_pairs: Path, tmp_path: Path
) -> None:
    base = ["accuracy", "--tflite", str(tiny_tflites["int8"]), str(tiny_tflites["float32"]), "--data", str(tiny_pairs)]
    res = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "a"), "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert "[1/2] tiny_int8.tflite: 4 images" in res.output and "[2/2] tiny_float32.tflite" in res.output
    quiet = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "b"), "--threads", "1", "--quiet"])
    assert quiet.exit_code == 0 and "[1/2]" not in quiet.output


def test_compare_is_a_name_of_sweep(tmp_path: Path) -> None:
    """`munet-bench compare CONFIG` runs the sweep engine; the flag-based comparison is gone."""
    res = CliRunner().invoke(main, ["compare", "--help"])
    assert res.exit_code == 0 and "Run the study of CONFIG" in res.output
    res = CliRunner().invoke(main, ["compare", "--data", str(tmp_path), "--name", "x"])
    assert res.exit_code == 2 and "No such option '--data'" in res.output
