"""Per-block int8 breakdown (munet.benchmarks.breakdown): cuts, MAC accounting, timing and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("ai_edge_litert")

from munet.benchmarks.breakdown import BLOCKS, breakdown, breakdown_markdown, cut_models  # noqa: E402
from munet.train.models import build_model  # noqa: E402
from munet.train.models.complexity import count_macs  # noqa: E402

EDGE = dict(decoder_upsample="nearest", decoder_conv="separable", decoder_filters=(16, 16, 8, 8))


def _tiny(**kw):
    return build_model("munet", alpha=0.35, input_shape=(64, 64, 3), encoder_weights=None, **kw)


@pytest.mark.parametrize("kw", [{}, EDGE])
def test_cuts_keep_the_skips_later_blocks_need(kw) -> None:
    model = _tiny(**kw)
    cuts = cut_models(model)
    assert [stage for stage, _ in cuts] == ["encoder", *BLOCKS, "head"]
    assert [len(m.outputs) for _, m in cuts] == [5, 4, 3, 2, 1, 1]
    macs = [count_macs(m) for _, m in cuts]
    assert macs == sorted(macs) and macs[-1] == count_macs(model)  # each cut computes everything before it


def test_breakdown_times_every_stage_and_writes_markdown(tmp_path: Path, blob_data: Path) -> None:
    path = tmp_path / "edge.keras"
    _tiny(**EDGE).save(path)
    result = breakdown(path, blob_data, threads=(1,), runs=20, calib_count=8, out_dir=tmp_path / "cuts")
    stages = result["stages"]
    assert [s["stage"] for s in stages] == ["encoder", *BLOCKS, "head"]
    assert sum(s["macs"] for s in stages) == stages[-1]["cumulative_macs"]
    timing = result["timing"]["1"]
    assert timing["total_ms"] > 0 and len(timing["rows"]) == 6
    assert sum(r["ms"] for r in timing["rows"]) == pytest.approx(timing["total_ms"])
    assert timing["load"]["load_before"] is not None
    assert len(list((tmp_path / "cuts").glob("cut_*_int8.tflite"))) == 6
    text = breakdown_markdown([result])
    assert "| up4 |" in text and "1 thr." in text
