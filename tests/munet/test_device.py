"""munet.device: the CPU and its int8 instructions, /proc/stat and the busy-machine rule on synthetic numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from munet.atomic import write_json
from munet.device import (
    BUSY_LOAD_PER_CORE,
    SPREAD_LIMIT,
    busy_reasons,
    command_line,
    cpu_model,
    describe_machine,
    int8_instructions,
    load_record,
    machine_state,
    parse_proc_stat,
    provenance,
)

PROC_STAT = """cpu  4705 356 584 3699176 23060 0 277 150 12 0
cpu0 1393 280 297 1849713 11476 0 136 75 6 0
intr 114930548 113199788 3 0 5 263 0 4 [... 242 more numbers]
ctxt 1990473
"""


XEON = """processor	: 0
model name	: Intel(R) Xeon(R) Platinum 8488C
flags		: fpu sse2 avx2 avx512bw avx512_vnni amx_int8 avx_vnni
"""
PI5 = """processor	: 0
BogoMIPS	: 108.00
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
CPU part	: 0xd0b

Model		: Raspberry Pi 5 Model B Rev 1.0
"""
OLD_X86 = "model name\t: Intel(R) Xeon(R) CPU E5-2680 v4\nflags\t\t: fpu sse2 avx2\n"


@pytest.mark.parametrize(
    ("text", "model", "int8"),
    [
        (XEON, "Intel(R) Xeon(R) Platinum 8488C", ["avx512_vnni", "avx_vnni", "amx_int8"]),
        (PI5, "Raspberry Pi 5 Model B Rev 1.0", ["asimddp"]),  # Cortex-A76: dot product, no i8mm
        (OLD_X86, "Intel(R) Xeon(R) CPU E5-2680 v4", []),
    ],
)
def test_cpu_model_and_int8_instructions_from_cpuinfo(tmp_path: Path, text: str, model: str, int8: list[str]) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(text)
    assert cpu_model(info) == model and int8_instructions(info) == int8


def test_an_unreadable_cpuinfo_still_names_a_cpu(tmp_path: Path) -> None:
    assert cpu_model(tmp_path / "nope") and int8_instructions(tmp_path / "nope") == []


def test_proc_stat_aggregate_line_is_parsed() -> None:
    got = parse_proc_stat(PROC_STAT)
    assert got == {"total": 4705 + 356 + 584 + 3699176 + 23060 + 0 + 277 + 150, "steal": 150}  # guest not added
    assert parse_proc_stat("cpu0 1 2 3 4\n") is None  # no aggregate line
    assert parse_proc_stat("cpu  1 2 3 4\n") == {"total": 10, "steal": 0}  # old kernels: no steal field


def test_machine_state_reads_counters_and_survives_a_missing_file(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text(PROC_STAT)
    state = machine_state(stat)
    assert state["steal"] == 150 and len(state["loadavg"]) == 3
    assert machine_state(tmp_path / "nope")["total"] is None


def test_steal_percentage_between_two_snapshots() -> None:
    before = {"loadavg": [0.2, 0.1, 0.1], "total": 1000, "steal": 10}
    after = {"loadavg": [0.4, 0.2, 0.1], "total": 1400, "steal": 30}
    rec = load_record(before, after, cores=2)
    assert rec == {
        "cores": 2,
        "load_before": [0.2, 0.1, 0.1],
        "load_after": [0.4, 0.2, 0.1],
        "steal_pct": 5.0,
        "settled_s": 0.0,
    }
    assert load_record({"total": None}, after)["steal_pct"] is None
    assert "0.20 -> 0.40" in describe_machine(rec) and "5.0 %" in describe_machine(rec)


@pytest.mark.parametrize(
    ("load", "median", "p90", "steal", "expected"),
    [
        (0.9, 2.0, 2.4, 0.0, []),  # quiet 2-core machine: trusted
        (1.1, 2.0, 2.4, 0.0, ["load average 1.10"]),  # > 0.5 x 2 cores before the pass
        (0.1, 2.0, 3.2, 0.0, ["p90/median 1.60"]),  # spread 1.6 > 1.5
        (0.1, 2.0, 2.2, 7.5, ["CPU steal 7.5 %"]),
        (1.5, 2.0, 4.0, 9.0, ["load average", "p90/median 2.00", "CPU steal"]),
    ],
)
def test_busy_rule_on_synthetic_numbers(load, median, p90, steal, expected) -> None:
    rec = {"cores": 2, "load_before": [load, load, load], "load_after": [load] * 3, "steal_pct": steal}
    reasons = busy_reasons(rec, {"int8@2": {"median": median, "p90": p90}})
    assert len(reasons) == len(expected)
    for reason, text in zip(reasons, expected, strict=True):
        assert text in reason
    assert BUSY_LOAD_PER_CORE == 0.5 and SPREAD_LIMIT == 1.5  # the documented rule


def test_unknown_load_and_steal_do_not_flag() -> None:
    rec = {"cores": 2, "load_before": None, "load_after": None, "steal_pct": None}
    assert busy_reasons(rec, {"a": {"median": 0.0, "p90": 1.0}}) == []


def _fake_clock(monkeypatch: pytest.MonkeyPatch, loads: list[float]) -> list[float]:
    """os.getloadavg yields ``loads`` (then the last one forever); time.sleep advances a fake clock."""
    import munet.device as timing

    now = [0.0]
    seq = iter(loads)
    last = [loads[-1]]

    def loadavg() -> tuple[float, float, float]:
        last[0] = next(seq, last[0])
        return (last[0], 0.0, 0.0)

    monkeypatch.setattr(timing.os, "getloadavg", loadavg)
    monkeypatch.setattr(timing.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(timing.time, "sleep", lambda s: now.__setitem__(0, now[0] + s))
    return now


def test_settle_waits_for_the_load_to_fall_then_records_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    from munet.device import settle

    _fake_clock(monkeypatch, [1.6, 1.3, 1.1, 0.9])  # 2 cores: threshold 1.0, reached at the 4th reading
    said: list[str] = []
    waited = settle(max_wait=180, poll=5, cores=2, echo=said.append)
    assert waited == 15.0 and len(said) == 1 and "1.60" in said[0] and "up to 180 s" in said[0]
    rec = load_record({"loadavg": [0.9, 0, 0]}, {"loadavg": [0.8, 0, 0]}, cores=2, settled_s=waited)
    assert rec["settled_s"] == 15.0 and "after 15 s waiting for the load to settle" in describe_machine(rec)
    assert busy_reasons(rec, {}) == []


def test_settle_gives_up_at_its_limit_and_the_pass_is_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    from munet.device import settle

    _fake_clock(monkeypatch, [1.8])  # another job keeps the machine busy
    waited = settle(max_wait=12, poll=5, cores=2, echo=lambda m: None)
    assert waited == 12.0  # 5 + 5 + 2: never past the limit
    rec = load_record({"loadavg": [1.8, 0, 0]}, {"loadavg": [1.8, 0, 0]}, cores=2, settled_s=waited)
    assert any("load average 1.80" in r for r in busy_reasons(rec, {}))


def test_settle_is_off_without_a_limit_and_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from munet.device import SETTLE_ENV, settle
    from munet.errors import InputError

    _fake_clock(monkeypatch, [1.8])
    monkeypatch.setenv(SETTLE_ENV, "0")
    assert settle(cores=2, echo=lambda m: pytest.fail("must not wait")) == 0.0
    monkeypatch.setenv(SETTLE_ENV, "7")
    assert settle(cores=2, poll=5, echo=lambda m: None) == 7.0
    _fake_clock(monkeypatch, [0.2])
    assert settle(cores=2, echo=lambda m: pytest.fail("a quiet machine is timed at once")) == 0.0
    monkeypatch.setenv(SETTLE_ENV, "soon")
    with pytest.raises(InputError, match="MUNET_SETTLE_S='soon'"):
        settle(cores=2)


def test_provenance_names_command_machine_and_date() -> None:
    prov = provenance()
    assert prov["command"]
    assert prov["date"].endswith("+00:00")
    m = prov["machine"]
    assert m["cores"] >= 1 and m["usable_cores"] >= 1 and m["cpu"]
    assert m["versions"]["numpy"] == np.__version__
    assert command_line(["/x/y/munet-bench", "latency", "--tflite", "a b.tflite"]) == (
        "munet-bench latency --tflite 'a b.tflite'"
    )
    assert command_line(["/src/train/cli.py", "--data", "d"]) == "munet-train --data d"  # python -m munet.train.cli


def test_write_json_converts_numpy_and_paths(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "sub" / "r.json",
        {"a": np.float32(0.5), "p": Path("x/y"), "n": float("nan"), "arr": np.arange(3), "inf": np.array([np.inf])},
    )
    data = json.loads(path.read_text())
    assert data == {"a": 0.5, "p": "x/y", "n": None, "arr": [0, 1, 2], "inf": [None]}  # valid JSON: no Infinity
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]  # no temporary left behind
