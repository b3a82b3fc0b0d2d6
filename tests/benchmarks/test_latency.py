"""munet.benchmarks.latency: one interleaved pass per table, load recorded, ratios and the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from munet.benchmarks.latency import benchmark_latency, speed_ratios


def test_latency_of_float32_and_int8(tiny_tflites: dict[str, Path], tmp_path: Path) -> None:
    res = benchmark_latency(
        [tiny_tflites["float32"], tiny_tflites["int8"]],
        threads="1",
        runs=6,
        warmup=1,
        frame_size=(96, 128),
        out=tmp_path,
        command="munet-bench latency (test)",
    )
    assert set(res["variants"]) == {"tiny_float32", "tiny_int8"}
    for v in res["variants"].values():
        r = v["results"]["1"]
        for stage in ("pre_ms", "infer_ms", "post_ms", "e2e_ms"):
            assert r["stages"][stage]["median"] > 0
            assert r["stages"][stage]["p90"] >= r["stages"][stage]["median"]
        # end to end includes the three stages
        assert r["stages"]["e2e_ms"]["median"] >= r["stages"]["infer_ms"]["median"]
        assert 20 < r["peak_rss_mb"] < 400  # a fresh process without TensorFlow (this pytest process has it)
        assert r["gflops"] > 0 and v["macs"] > 0
    assert res["variants"]["tiny_int8"]["size_bytes"] < res["variants"]["tiny_float32"]["size_bytes"]
    assert res["float32_matmul_peak_gflops"]["1"] > 0
    ratio = res["ratios"]["1"]["int8_vs_float32_tflite_infer"]
    f32 = res["variants"]["tiny_float32"]["results"]["1"]["stages"]["infer_ms"]["median"]
    i8 = res["variants"]["tiny_int8"]["results"]["1"]["stages"]["infer_ms"]["median"]
    assert ratio == pytest.approx(i8 / f32)
    data = json.loads((tmp_path / "latency.json").read_text())
    assert data["command"] == "munet-bench latency (test)" and data["runs"] == 6
    assert data["method"].startswith("interleaved") and data["busy_rule"]
    assert len(data["load"]["load_before"]) == 3 and data["load"]["cores"] >= 1
    assert data["machine"]["cpu"] and "numpy" in data["machine"]["versions"]  # the provenance is not overwritten
    assert isinstance(data["busy"], list)
    assert data["variants"]["tiny_int8"]["results"]["1"]["stages"]["e2e_ms"]["runs"] == 6
    assert "tiny_int8" in (tmp_path / "latency.md").read_text()


def test_speed_ratios_need_an_int8_variant() -> None:
    stages = {"infer_ms": {"median": 10.0}, "e2e_ms": {"median": 12.0}}
    v = {"a": {"kind": "tflite", "quantization": "float32", "results": {"2": {"stages": stages}}}}
    assert speed_ratios(v) == {}
    v["b"] = {
        "kind": "tflite",
        "quantization": "int8",
        "results": {"2": {"stages": {"infer_ms": {"median": 2.5}, "e2e_ms": {"median": 3.0}}}},
    }
    v["c"] = {
        "kind": "onnx",
        "quantization": "float32",
        "results": {"2": {"stages": {"infer_ms": {"median": 5.0}, "e2e_ms": {"median": 6.0}}}},
    }
    r = speed_ratios(v)["2"]
    assert r["int8_vs_float32_tflite_infer"] == 0.25 and r["int8_vs_onnxruntime_float32_e2e"] == 0.5


def test_missing_model_is_a_one_line_error(tmp_path: Path) -> None:
    from munet.errors import ModelError

    with pytest.raises(ModelError, match="no such model"):
        benchmark_latency([tmp_path / "nope.tflite"], threads="1", runs=1)


def test_interleaved_timing_end_to_end_includes_the_resize(tiny_tflites: dict[str, Path]) -> None:
    """Round-robin timing returns one ordered summary per model; end to end costs more than inference alone."""
    import numpy as np

    from munet.benchmarks.workers import timed_pass

    frame = np.random.default_rng(0).integers(0, 255, (1200, 1600, 3), dtype=np.uint8)  # a dermatoscope frame
    models = [(tiny_tflites["float32"], 1), (tiny_tflites["int8"], 1)]
    infer = timed_pass(models, frame, runs=7)
    e2e = timed_pass(models, frame, runs=7, end_to_end=True)
    assert len(infer["results"]) == len(e2e["results"]) == 2
    for a, b in zip(infer["results"], e2e["results"], strict=True):
        assert 0 < a["p10"] <= a["median"] <= a["p90"] and a["runs"] == 7
        assert b["median"] > a["median"]  # resizing a 1600x1200 frame and the mask back is not free
    assert len(infer["machine"]["load_before"]) == 3 and isinstance(infer["busy"], list)


def test_strict_refuses_a_busy_pass_and_writes_nothing(tiny_tflites: dict[str, Path], tmp_path: Path, monkeypatch):
    """--strict exits 1 on a pass the busy rule flags (a load limit of -1 x cores flags every pass)."""
    from click.testing import CliRunner

    from munet import device as timing
    from munet.benchmarks.cli import main

    monkeypatch.setattr(timing, "BUSY_LOAD_PER_CORE", -1.0)
    args = ["latency", "--tflite", str(tiny_tflites["int8"]), "--threads", "1", "--runs", "2", "--warmup", "1"]
    res = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "o"), "--strict"])
    assert res.exit_code == 1 and "busy machine" in res.output and not (tmp_path / "o").exists()
    res = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "o")])  # without --strict: flagged, written
    assert res.exit_code == 0, res.output
    assert "BUSY machine" in (tmp_path / "o" / "latency.md").read_text()
    assert json.loads((tmp_path / "o" / "latency.json").read_text())["busy"][0].startswith("load average")


def test_munet_bench_sets_a_settle_default_that_the_caller_can_override(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from click.testing import CliRunner

    from munet.benchmarks.cli import main
    from munet.device import SETTLE_CLI_S, SETTLE_ENV

    monkeypatch.delenv(SETTLE_ENV, raising=False)
    assert CliRunner().invoke(main, ["readme-table", "--help"]).exit_code == 0
    assert os.environ[SETTLE_ENV] == f"{SETTLE_CLI_S:g}"
    monkeypatch.setenv(SETTLE_ENV, "0")
    CliRunner().invoke(main, ["readme-table", "--help"])
    assert os.environ[SETTLE_ENV] == "0"


@pytest.mark.parametrize("folder", ["isic-edge", "bundled", "retime-check"])
def test_the_committed_report_is_what_latency_markdown_renders(folder: str) -> None:
    """The report and the int8 ratios follow from the JSON's rows alone, byte for byte as committed."""
    from munet.benchmarks.latency import latency_markdown

    root = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / folder
    doc = json.loads((root / "latency.json").read_text())
    assert speed_ratios(doc["variants"]) == doc["ratios"]
    assert latency_markdown(doc) == (root / "latency.md").read_text()
