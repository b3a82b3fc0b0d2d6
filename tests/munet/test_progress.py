"""Stages: one line per finished stage when not a terminal, a tqdm bar on one, nothing with quiet."""

from __future__ import annotations

import io
import re

import pytest

from munet.progress import Stages


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _work(stream: io.StringIO, quiet: bool = False) -> str:
    with Stages(2, "convert", quiet=quiet, stream=stream) as progress:
        with progress.stage("load model"):
            pass
        for step, mode in enumerate(("float32", "int8"), 1):
            with progress.stage(f"{mode}: convert", step):
                pass
            progress.step_done()
    return stream.getvalue()


def test_lines_when_not_a_terminal() -> None:
    lines = _work(io.StringIO()).splitlines()
    assert [re.sub(r"\d+\.\d s$", "T", line) for line in lines] == [
        "load model T",
        "[1/2] float32: convert T",
        "[2/2] int8: convert T",
    ]


def test_bar_on_a_terminal_and_nothing_when_quiet() -> None:
    pytest.importorskip("tqdm")
    out = _work(Terminal())
    assert "\r" in out and "int8: convert" in out and "/2 [" in out and "[1/2]" not in out
    assert _work(io.StringIO(), quiet=True) == "" and _work(Terminal(), quiet=True) == ""


def test_a_failed_stage_is_not_reported() -> None:
    stream = io.StringIO()
    with pytest.raises(ValueError), Stages(1, stream=stream) as progress, progress.stage("load model"):
        raise ValueError("bad model")
    assert stream.getvalue() == ""
