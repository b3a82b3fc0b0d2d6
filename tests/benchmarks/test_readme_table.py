"""The README results table is generated from results JSON files, between markers, idempotently."""

from __future__ import annotations

from pathlib import Path

import pytest

from munet.benchmarks.accuracy import evaluate_accuracy
from munet.benchmarks.latency import benchmark_latency
from munet.benchmarks.readme_table import END, START, render_table, update_readme
from munet.errors import InputError

README = f"# Title\n\nIntro.\n\n{START}\nold hand-typed table\n{END}\n\nAfter.\n"


def test_table_round_trips_from_results(tiny_tflites: dict[str, Path], tiny_pairs: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    models = [tiny_tflites["float32"], tiny_tflites["int8"]]
    acc = evaluate_accuracy(
        None, models, tiny_pairs, out=results / "tiny", worst=1, threads=1, command="munet-bench accuracy X"
    )
    lat = benchmark_latency(
        models, threads="1", runs=3, warmup=1, out=results / "tiny", measure_peak=False, command="munet-bench latency Y"
    )
    readme = tmp_path / "README.md"
    readme.write_text(README)
    assert update_readme(readme, results) is True
    text = readme.read_text()
    assert "old hand-typed table" not in text
    assert text.startswith("# Title\n\nIntro.\n\n" + START) and text.endswith(END + "\n\nAfter.\n")
    block = text[text.index(START) : text.index(END)]
    int8_row = next(line for line in block.splitlines() if "| tiny_int8 |" in line)
    cells = [c.strip() for c in int8_row.strip("|").split("|")]
    assert cells[0] == "tiny" and cells[2] == "int8"
    assert cells[4] == f"{acc['models']['tiny_int8']['per-image']['dice']:.4f}"
    e2e = lat["variants"]["tiny_int8"]["results"]["1"]["stages"]["e2e_ms"]["median"]
    assert cells[9] == f"{e2e:.1f} (1)"
    assert cells[10] == f"{lat['ratios']['1']['int8_vs_float32_tflite_e2e']:.4f}"
    assert "`munet-bench accuracy X`" in block and "`munet-bench latency Y`" in block
    # idempotent; --check notices a stale table
    assert update_readme(readme, results) is False
    readme.write_text(text.replace(cells[4], "0.1234"))
    assert update_readme(readme, results, check=True) is True
    assert "0.1234" in readme.read_text()  # check does not write


def test_missing_markers_and_empty_results(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    with pytest.raises(InputError, match="markers"):
        update_readme(readme, tmp_path)
    assert "No committed results" in render_table(tmp_path)
