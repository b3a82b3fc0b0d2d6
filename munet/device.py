"""This machine, for every timed number: its CPU model, its int8 instructions, and its load around a timed pass.

Ratios such as int8 over float differ between CPUs (2.5x on one Xeon, 1.9x on another), mostly by the int8 dot-product
instructions the kernels find (x86 VNNI/AMX, Arm dot product/i8mm), so every latency names :func:`cpu_model` and
:func:`int8_instructions`.

Every latency result also records the 1/5/15-minute load averages before and after its pass, the CPU steal
(``/proc/stat``) during it and judges them by :func:`busy_reasons` (the rule: :data:`BUSY_RULE`; ``munet-bench latency
--strict`` refuses a busy pass): other work held half the cores when timing started, a variant's p90 / median shows
disturbed runs (on a quiet machine LiteRT's p90 stays within ~10-20 % of the median), or the hypervisor took CPU time.

The load average trails the machine by about a minute, so a pass timed right after the benchmark's own training
or conversion reads as busy although nothing else runs (1.2-1.3 before three passes on an otherwise idle 2-core
machine, 2026-12-03). :func:`settle` therefore waits, up to ``$MUNET_SETTLE_S`` seconds (``munet-bench`` sets 180;
0 in the Python API), for the 1-minute load to fall to the busy threshold, and the record keeps the wait.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from munet.errors import InputError

BUSY_LOAD_PER_CORE = 0.5
SPREAD_LIMIT = 1.5
STEAL_LIMIT_PCT = 5.0
SETTLE_ENV = "MUNET_SETTLE_S"  # seconds a timed pass may wait for the load to settle (unset: 0)
SETTLE_CLI_S = 180.0  # munet-bench's default: the 1-min average falls from 2 to 1 within ~45 s once idle
BUSY_RULE = (
    f"busy when the 1-min load average before the pass > {BUSY_LOAD_PER_CORE:g} x cores, "
    f"a variant's p90/median > {SPREAD_LIMIT:g}, or CPU steal > {STEAL_LIMIT_PCT:g} % during the pass"
)


class BusyMachine(Exception):
    """A timed pass that :func:`busy_reasons` flags, refused under ``--strict``."""


#: The int8 dot-product instructions LiteRT's kernels (XNNPACK, ruy) use where the CPU has them, by ISA.
INT8_FLAGS = ("avx512_vnni", "avx_vnni", "avx_vnni_int8", "amx_int8", "asimddp", "i8mm", "sve", "sve2")


def _cpuinfo(path: str | os.PathLike[str]) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def cpu_model(cpuinfo: str | os.PathLike[str] = "/proc/cpuinfo") -> str:
    """The CPU model name from ``/proc/cpuinfo`` (Linux; a Raspberry Pi names its ``Model``), else the platform's."""
    for line in _cpuinfo(cpuinfo).splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model", "Hardware", "cpu model") and value.strip():
            return value.strip()
    return platform.processor() or platform.machine()


def int8_instructions(cpuinfo: str | os.PathLike[str] = "/proc/cpuinfo") -> list[str]:
    """The :data:`INT8_FLAGS` this CPU reports (x86 ``flags``, Arm ``Features``); [] where none or unreadable."""
    for line in _cpuinfo(cpuinfo).splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            have = set(value.split())
            return [f for f in INT8_FLAGS if f in have]
    return []


def describe_cpu(cpu: str, int8: Sequence[str]) -> str:
    """``"<model> (int8: avx512_vnni, avx_vnni)"``: a CPU as every timed number names it."""
    return f"{cpu} (int8: {', '.join(int8) or 'no dot-product instructions found'})"


def usable_cores() -> int:
    """Cores this process may run on (CPU affinity where the OS has it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return os.cpu_count() or 1


def parse_proc_stat(text: str) -> dict[str, int] | None:
    """``{"total": jiffies, "steal": jiffies}`` of the aggregate ``cpu`` line of ``/proc/stat``; None if absent.

    Fields: user nice system idle iowait irq softirq steal [guest guest_nice]; guest time is already counted
    in user/nice, so the total is the sum of the first eight.
    """
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "cpu":
            try:
                fields = [int(x) for x in parts[1:9]]
            except ValueError:
                return None
            fields += [0] * (8 - len(fields))
            return {"total": sum(fields), "steal": fields[7]}
    return None


def machine_state(proc_stat: str | os.PathLike[str] = "/proc/stat") -> dict[str, Any]:
    """Load averages and the cumulative CPU time / steal counters now (counters None where unreadable)."""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    try:
        cpu = parse_proc_stat(Path(proc_stat).read_text())
    except OSError:
        cpu = None
    return {"loadavg": load, **(cpu or {"total": None, "steal": None})}


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def settle(
    max_wait: float | None = None,
    poll: float = 5.0,
    cores: int | None = None,
    echo: Callable[[str], None] = _stderr,
) -> float:
    """Wait until the 1-min load average is at most the busy threshold, at most ``max_wait`` seconds.

    ``max_wait`` defaults to ``$MUNET_SETTLE_S`` (unset: 0, no wait). Returns the seconds waited; a machine still
    busy after that is timed anyway, and :func:`busy_reasons` flags the pass.
    """
    if max_wait is None:
        try:
            max_wait = float(os.environ.get(SETTLE_ENV) or 0.0)
        except ValueError:
            raise InputError(f"${SETTLE_ENV}={os.environ[SETTLE_ENV]!r}: give the seconds to wait, e.g. 180") from None
    limit = BUSY_LOAD_PER_CORE * (cores or os.cpu_count() or 1)
    start = time.monotonic()
    told = False
    while max_wait > 0:
        try:
            load = os.getloadavg()[0]
        except OSError:
            break
        waited = time.monotonic() - start
        if load <= limit or waited >= max_wait:
            break
        if not told:
            echo(f"waiting for the 1-min load average ({load:.2f}) to fall to {limit:g} (up to {max_wait:g} s)")
            told = True
        time.sleep(min(poll, max_wait - waited))
    return round(time.monotonic() - start, 1) if told else 0.0


def load_record(
    before: Mapping[str, Any], after: Mapping[str, Any], cores: int | None = None, settled_s: float = 0.0
) -> dict[str, Any]:
    """What a result keeps about the machine: cores, load averages before/after, steal % during the pass, and
    the seconds :func:`settle` waited before it."""
    steal_pct = None
    if before.get("total") is not None and after.get("total") is not None:
        dt = after["total"] - before["total"]
        steal_pct = round(100.0 * (after["steal"] - before["steal"]) / dt, 2) if dt > 0 else 0.0
    return {
        "cores": cores or os.cpu_count() or 1,
        "load_before": before.get("loadavg"),
        "load_after": after.get("loadavg"),
        "steal_pct": steal_pct,
        "settled_s": settled_s,
    }


def busy_reasons(record: Mapping[str, Any], stats: Mapping[str, Mapping[str, float]]) -> list[str]:
    """Why a pass looks disturbed (empty: trust it), by the module's rule; ``stats``: name -> median/p90."""
    reasons = []
    cores = int(record.get("cores") or 1)
    load = record.get("load_before")
    if load and load[0] > BUSY_LOAD_PER_CORE * cores:
        reasons.append(f"load average {load[0]:.2f} before the pass > {BUSY_LOAD_PER_CORE:g} x {cores} cores")
    for name, s in stats.items():
        if s["median"] > 0 and s["p90"] / s["median"] > SPREAD_LIMIT:
            reasons.append(f"{name}: p90/median {s['p90'] / s['median']:.2f} > {SPREAD_LIMIT:g}")
    steal = record.get("steal_pct")
    if steal is not None and steal > STEAL_LIMIT_PCT:
        reasons.append(f"CPU steal {steal:.1f} % > {STEAL_LIMIT_PCT:g} %")
    return reasons


def busy_summary(reasons: Sequence[str]) -> str:
    """:func:`busy_reasons` for a report line: load and steal as they are, the per-variant spread flags counted."""
    spread = [r for r in reasons if "p90/median" in r]
    parts = [r for r in reasons if r not in spread]
    if spread:
        parts.append(f"{len(spread)} timed variant(s) with p90/median > {SPREAD_LIMIT:g}")
    return "; ".join(parts)


def describe_machine(record: Mapping[str, Any]) -> str:
    """One line for a report: load before -> after, steal, cores."""
    lb, la = record.get("load_before"), record.get("load_after")
    load = f"load average {lb[0]:.2f} -> {la[0]:.2f}" if lb and la else "load average unknown"
    steal = record.get("steal_pct")
    waited = f" (after {record['settled_s']:g} s waiting for the load to settle)" if record.get("settled_s") else ""
    text = f"{load} (1 min){waited}, CPU steal {'unknown' if steal is None else f'{steal:.1f} %'}"
    return f"{text}, {record.get('cores')} cores"


# ------------------------------------------------------------------ provenance: what every result records
#: Distributions whose versions are recorded with every result (``None`` when not installed).
VERSIONED = ("numpy", "tensorflow", "tensorflow-cpu", "keras", "ai-edge-litert", "tflite-runtime", "onnxruntime")
VERSIONED += ("opencv-python-headless", "munet")


def package_versions(names: Sequence[str] = VERSIONED) -> dict[str, str | None]:
    """Installed versions of ``names`` (read from package metadata: nothing is imported)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


#: The command of each package's ``cli.py`` (its folder name in a checkout), for :func:`command_line`.
PROGRAMS = {"train": "munet-train", "convert": "munet-convert", "edge": "munet-run", "benchmarks": "munet-bench"}


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command as typed: ``munet-bench accuracy ...`` (program name without its folder)."""
    argv = list(sys.argv if argv is None else argv)
    if not argv:
        return ""
    prog = Path(argv[0]).name
    if prog in ("__main__.py", "cli.py"):  # python -m munet.<package>.cli: the command it implements
        prog = PROGRAMS.get(Path(argv[0]).parent.name, "munet-bench")
    return shlex.join([prog, *argv[1:]])


def machine_info() -> dict[str, Any]:
    """CPU model, its int8 instructions, cores, OS, Python and library versions of this machine."""
    return {
        "cpu": cpu_model(),
        "int8": int8_instructions(),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "usable_cores": usable_cores(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": {k: v for k, v in package_versions().items() if v is not None},
    }


def provenance(command: str | None = None) -> dict[str, Any]:
    """``{"command", "date", "machine"}`` to put at the top of every result."""
    return {
        "command": command if command is not None else command_line(),
        "date": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "machine": machine_info(),
    }
