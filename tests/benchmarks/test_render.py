"""munet.benchmarks.render: one Markdown table renderer and the report number formats."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from munet.benchmarks.render import DASH, Column, auto, dec, fixed, lookup, percent, render, signed


def test_plain_headers_render_sequences_with_four_decimals_and_dashes() -> None:
    text = render([[0.123456, 123.456, 12345.6], [None, "x", float("nan")], [np.float32(0.5), 3, math.inf]], "abc")
    lines = text.splitlines()
    assert lines[:2] == ["| a | b | c |", "|---|---|---|"]
    assert lines[2] == "| 0.1235 | 123.5 | 12346 |"
    assert lines[3] == f"| {DASH} | x | {DASH} |"  # None and NaN alike
    assert lines[4] == f"| 0.5000 | 3 | {DASH} |" and text.endswith("|\n")


def test_columns_take_keys_dotted_paths_attributes_and_functions() -> None:
    @dataclass
    class Row:
        name: str
        doc: dict

    rows = [Row("a", {"m": {"dice": 0.81234}, "ms": 4.26}), Row("b", {"m": None, "ms": None})]
    cols = [
        Column("name", "name"),
        Column("Dice", "doc.m.dice", fixed),
        Column("ms", lambda r: r.doc["ms"], dec(1)),
        Column("flag", lambda r: "yes" if r.name == "a" else ""),
    ]
    assert render(rows, cols).splitlines()[2:] == ["| a | 0.8123 | 4.3 | yes |", f"| b | {DASH} | {DASH} |  |"]
    assert lookup({"a": {"b": 1}}, "a.b") == 1 and lookup({"a": 1}, "a.b") is None and lookup([5, 6], 1) == 6


def test_formats() -> None:
    assert fixed(-0.00001) == "0.0000" and fixed(-0.01, 1) == "0.0" and fixed(0.12345, 2) == "0.12"
    assert fixed(None) == fixed(float("nan")) == percent(None) == signed(None) == auto(None) == DASH
    assert percent(0.0274) == "2.7 %" and signed(0.009) == "+0.0090"
    assert signed(-0.001) == "-0.0010" and auto(True) == "True" and auto(np.float64(2.5)) == "2.5"


def test_pm_writes_mean_and_sd_and_a_dash_without_a_mean() -> None:
    from munet.benchmarks.render import pm

    assert pm({"mean": 0.81234, "sd": 0.0411}) == "0.812 ± 0.041" and pm({"mean": 0.8, "sd": None}) == "0.800"
    assert pm({"mean": 0.015, "sd": 0.001}, digits=1, scale=100, unit=" %") == "1.5 ± 0.1 %"
    assert pm({}) == pm(None) == pm({"mean": None}) == DASH
