"""The bundled models' measured numbers in index.json come from committed results (benchmarks/readme_table.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from munet.benchmarks.readme_table import EVIDENCE, update_index
from munet.edge.bundled import PACKAGE_DIR, bundled_models


def _cv(folder: Path, k: int, folds: int, metric: str, mean: float, point: str) -> None:
    folder.mkdir(parents=True)
    summary = [{"point": point, "metrics": {metric: {"folds": folds, "mean": mean, "sd": 0.01234}}}]
    (folder / "cv.json").write_text(json.dumps({"config": {"k": k, "headline": metric}, "summary": summary}))


def test_index_gets_cv_and_ms_from_results_and_check_mode_says_stale(tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(PACKAGE_DIR, models, ignore=shutil.ignore_patterns("*.tflite"))
    results = tmp_path / "results"
    _cv(results / "cv-isic", 5, 5, "dice", 0.89012, EVIDENCE["skin"][1])
    _cv(results / "cv-brain", 5, 2, "patient_dice", 0.8, EVIDENCE["brain"][1])  # 2 of 5 folds: no estimate yet
    (results / "bundled").mkdir()
    stages = {"stages": {"e2e_ms": {"median": 1.4567}}}
    lat = {
        "date": "2026-12-07T06:00:00+00:00",
        "machine": {"cpu": "AMD EPYC", "int8": ["avx512_vnni", "avx_vnni"]},
        "variants": {"skin": {"results": {"1": stages}}},
    }
    (results / "bundled" / "latency.json").write_text(json.dumps(lat))
    index = models / "index.json"
    doc = json.loads(index.read_text())
    for entry in doc["models"].values():
        entry.pop("measured", None)
    index.write_text(json.dumps(doc))
    assert update_index(index, results, check=True) is False  # stale: nothing written
    assert index.read_text() == json.dumps(doc)
    assert update_index(index, results) is False and update_index(index, results, check=True) is True
    skin, brain = (bundled_models(models)[n].measured for n in ("skin", "brain"))
    assert brain is None
    assert (skin.metric, skin.mean, skin.sd, skin.folds, skin.ms) == ("per-image Dice", 0.89012, 0.01234, 5, 1.46)
    assert skin.cpu == "AMD EPYC" and skin.ms_source == "benchmarks/results/bundled, 2026-12-07"
    assert skin.cpu_int8 == ["avx512_vnni", "avx_vnni"]  # the timing CPU's int8 instructions, where recorded
    _cv(results / "cv-brain-done", 5, 5, "patient_dice", 0.8, EVIDENCE["brain"][1])
    shutil.rmtree(results / "cv-brain")
    (results / "cv-brain-done").rename(results / "cv-brain")
    assert update_index(index, results) is False
    assert bundled_models(models)["brain"].measured.metric == "per-patient volume Dice"


def test_packaged_index_is_up_to_date_with_the_committed_results() -> None:
    repo = Path(__file__).resolve().parents[2]
    assert update_index(repo / "edge" / "models" / "index.json", repo / "benchmarks" / "results", check=True), (
        "edge/models/index.json is stale: run munet-bench readme-table"
    )


def test_readme_table_on_other_results_leaves_the_packaged_index_alone(tmp_path: Path) -> None:
    """``munet-bench readme-table --results ELSEWHERE`` writes the index of ELSEWHERE's repository (none here), not
    the package's: a test or a scratch results folder must not strip the shipped models' numbers."""
    from click.testing import CliRunner

    from munet.benchmarks.cli import main

    index = PACKAGE_DIR / "index.json"
    before = index.read_text()
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "README.md").write_text("# no markers\n")
    args = ["--readme", str(tmp_path / "README.md"), "--results", str(tmp_path / "benchmarks" / "results")]
    res = CliRunner().invoke(main, ["readme-table", *args])
    assert res.exit_code != 0 and "markers" in res.output  # the README's own error, one line
    assert index.read_text() == before
