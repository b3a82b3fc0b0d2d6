"""munet.edge.timing: statistics, thread counts, and timing a model on this device (``munet-run MODEL --time``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from munet.edge.cli import main
from munet.edge.timing import STAGES, parse_threads, round_robin, summarize, time_model
from munet.errors import InputError


def test_summary_has_percentiles_and_the_run_count() -> None:
    s = summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s["median"] == 3.0 and s["p10"] < s["median"] < s["p90"] and s["min"] == 1.0 and s["runs"] == 5


def test_thread_counts() -> None:
    assert parse_threads("1,2,1") == [1, 2]
    assert parse_threads("all")[0] >= 1
    for bad in ("two", "0", ""):
        with pytest.raises(InputError):
            parse_threads(bad)


def test_round_robin_runs_every_call_once_per_round_on_its_next_frame() -> None:
    seen: list[tuple[str, int]] = []
    frames = [np.full((2, 2, 3), i, np.uint8) for i in range(3)]

    def call(name: str):
        return lambda f: seen.append((name, int(f[0, 0, 0]))) or {"infer_ms": 1.0}

    stats, record = round_robin([(call("a"), frames), (call("b"), frames[:1])], runs=4, warmup=1)
    assert seen[:2] == [("a", 0), ("b", 0)]  # warm-up, then rounds interleave a, b, each round starting one later
    assert seen[2:] == [("a", 0), ("b", 0), ("b", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 0), ("a", 0)]
    assert [s["infer_ms"]["median"] for s in stats] == [1.0, 1.0] and stats[0]["e2e_ms"]["runs"] == 4
    assert set(stats[0]) == set(STAGES) and record["cores"] >= 1
    with pytest.raises(InputError, match="--runs"):
        round_robin([(call("a"), frames)], runs=0, warmup=0)


def test_time_model_names_the_cpu_and_its_int8_instructions() -> None:
    t = time_model("skin", threads=1, runs=5, warmup=1)
    assert t.threads == 1 and t.input_size == [128, 128] and t.frames == "4 noise frames"
    e2e = t.stages["e2e_ms"]
    assert e2e["runs"] == 5 and 0 < t.stages["infer_ms"]["median"] <= e2e["median"] and e2e["p10"] <= e2e["p90"]
    assert t.cpu and isinstance(t.int8, list) and "load_before" in t.machine
    text = "\n".join(t.lines())
    assert "1 thread(s)" in text and f"on {t.cpu} (int8: " in text and "end to end" in text
    assert json.loads(json.dumps(t.to_dict()))["stages"]["e2e_ms"]["runs"] == 5


def test_munet_run_time_on_images_writes_timing_json(edge_images: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        main, ["skin", str(edge_images), "--time", "3", "--threads", "1", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 0, res.output
    assert "3 runs on 3 image(s)" in res.output and "ms median / p90" in res.output
    saved = json.loads((tmp_path / "o" / "timing.json").read_text())
    assert saved["model"] == "skin" and saved["stages"]["e2e_ms"]["runs"] == 3
    assert not list((tmp_path / "o").glob("*.png"))  # timing only: nothing segmented


def test_munet_run_time_with_flips_times_every_pass() -> None:
    res = CliRunner().invoke(main, ["skin", "--time", "3", "--threads", "1", "--tta", "flips"])
    assert res.exit_code == 0, res.output
    assert "1 thread(s), " in res.output and ", TTA flips, 3 runs on 4 noise frames" in res.output


def test_munet_run_time_refuses_a_camera_and_a_bad_run_count() -> None:
    res = CliRunner().invoke(main, ["skin", "0", "--time"])
    assert res.exit_code == 2 and "--time reads image files: 0 is a camera" in res.output
    res = CliRunner().invoke(main, ["skin", "--time", "0"])
    assert res.exit_code == 2 and "--time" in res.output
