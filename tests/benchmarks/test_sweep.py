"""The sweep engine (``munet.benchmarks.sweep``): one YAML schema per study, one typed row, one resume rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from munet.benchmarks.cli import main as bench
from munet.benchmarks.experiment import Row
from munet.benchmarks.sweep import load_sweep, run_sweep
from munet.errors import InputError
from tests.conftest import TINY_ALPHA, TINY_SIZE

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "benchmarks" / "configs"
TINY = {"arch": "munet", "alpha": TINY_ALPHA, "size": list(TINY_SIZE), "encoder_weights": "none"}
TINY |= {"batch": 4, "steps_per_epoch": 2, "loss": "bce", "lr_schedule": "constant"}


def _write(path: Path, doc: object) -> Path:
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"kind": "pareto", "data": "d"}, "kind 'pareto': write 'kind: points | grid | cv | compare'"),
        ({"kind": "points", "data": "d", "points": [{"name": "a"}], "epoch": 3}, "unknown key(s) epoch for kind"),
        ({"kind": "grid", "data": "d", "alphas": [1.0]}, "kind grid needs sizes"),
        ({"kind": "compare", "data": "d", "archs": ["unet"], "budget": {"epoch": 1}}, "unknown budget key(s) epoch"),
        ([{"name": "a"}], "a points list, not a sweep config"),
    ],
)
def test_a_bad_config_is_one_line_naming_the_file_and_the_fix(tmp_path: Path, doc: object, message: str) -> None:
    path = _write(tmp_path / "study.yaml", doc)
    with pytest.raises(InputError) as err:
        load_sweep(path)
    text = str(err.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text
    res = CliRunner().invoke(bench, ["sweep", str(path)])
    assert res.exit_code != 0 and message in res.output and "Traceback" not in res.output


def test_every_study_of_reproduce_sh_is_a_config_that_loads() -> None:
    kinds = {}
    for path in sorted(CONFIGS.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        if isinstance(doc, dict) and "kind" in doc:
            kinds[path.stem] = load_sweep(path).kind
    assert kinds["recipe"] == kinds["brain_recipe"] == kinds["pareto_decoders_sweep"] == "points"
    assert kinds["pareto_grid"] == "grid" and kinds["cv_isic"] == kinds["cv_brain"] == "cv"
    assert kinds["compare_isic"] == kinds["compare_brain_learned"] == "compare"
    script = (REPO / "benchmarks" / "reproduce.sh").read_text()
    every = script.split("\n    for CFG in ", 1)[1].split("; do", 1)[0].replace("\\", " ").split()
    assert sorted(every) == sorted(kinds)  # `reproduce.sh sweeps` runs every study config
    assert 'munet-bench sweep "benchmarks/configs/$CFG.yaml" --reuse' in script


def test_the_compare_configs_carry_the_committed_budgets() -> None:
    """Each compare config reproduces its committed table's budget (so --reuse resumes it, not refuses it)."""
    from munet.benchmarks.compare import resumable
    from munet.benchmarks.sweep import budget_of

    for stem in ("compare_isic", "compare_brain", "compare_isic_learned", "compare_brain_learned"):
        cfg = load_sweep(CONFIGS / f"{stem}.yaml")
        path = REPO / "benchmarks" / "results" / f"compare_{cfg.name}.json"
        old = json.loads(path.read_text())
        assert resumable(path, budget_of(cfg), old["n_train"], old["n_val"]) is not None, stem


def test_rows_read_back_as_written() -> None:
    """Committed rows load into the typed row and write back the same JSON (keys, order, values)."""
    cv_rows = json.loads((REPO / "benchmarks" / "results" / "cv-isic" / "cv.json").read_text())["rows"]
    for raw in cv_rows:
        row = Row.from_dict(raw)
        assert row.point and row.fold is not None and row.scores
        assert list(row.to_dict().items()) == list(raw.items())
    point = {"name": "p", "overrides": {}, "modes": ["int8"], "run_dir": "r", "epochs": 1, "train_s": 2.0}
    point |= {"params": 1, "macs": 2, "keras_val": {}, "stopped": None, "models": {}, "latency": {}, "odd": 1}
    assert list(Row.from_dict(point).to_dict().items()) == list(point.items())
    assert Row.from_dict(point).extra == {"odd": 1}


@pytest.mark.slow
def test_a_resumed_sweep_does_not_retrain_finished_points(
    blob_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A points sweep stopped after its first point trains only the second when run again with --reuse; a --report
    rerun trains nothing and rewrites the table."""
    pytest.importorskip("tensorflow")
    from munet.benchmarks import experiment

    trained: list[str] = []
    real = experiment.train_point

    def counting(point, setup, run_dir, resume=False):  # noqa: ANN001, ANN202
        trained.append(point.name)
        if point.name == "b" and len(trained) == 2:
            raise RuntimeError("the sitting ends before b is done")
        return real(point, setup, run_dir, resume)

    monkeypatch.setattr(experiment, "train_point", counting)
    points = [{"name": "a", **TINY}, {"name": "b", **TINY, "seed": 1}]
    doc = {"kind": "points", "data": str(blob_data), "val_data": str(blob_data), "points": points, "epochs": 1}
    doc |= {"runs": 2, "threads": 1, "out": str(tmp_path / "out"), "runs_dir": str(tmp_path / "runs")}
    cfg = load_sweep(_write(tmp_path / "tiny.yaml", doc))
    with pytest.raises(RuntimeError, match="sitting ends"):
        run_sweep(cfg, reuse=True, echo=lambda _m: None)
    assert trained == ["a", "b"] and (tmp_path / "runs" / "a" / "row.json").is_file()
    said: list[str] = []
    result = run_sweep(cfg, reuse=True, echo=said.append)
    assert trained == ["a", "b", "b"], "the finished point was trained again"
    assert any("[a] reusing the scored row" in s for s in said), said
    assert [p["name"] for p in result["points"]] == ["a", "b"]
    assert all(p["latency_ms_1t"] > 0 for p in result["points"])  # both timed in the one pass
    (tmp_path / "out" / "pareto.md").unlink()
    monkeypatch.setattr(experiment, "train_point", None)
    again = run_sweep(cfg, report_only=True)
    assert again["points"] == json.loads((tmp_path / "out" / "pareto.json").read_text())["points"]
    assert "| a |" in (tmp_path / "out" / "pareto.md").read_text()
    with pytest.raises(InputError, match="--fold: only cv sweeps"):
        run_sweep(cfg, only_folds=[0])


def test_a_compare_sweep_re_renders_its_committed_table_and_checks_its_points(tmp_path: Path) -> None:
    """``--report`` writes the committed comparison's Markdown again from its JSON (byte for byte, no training);
    ``--point`` must name one of the config's archs."""
    import shutil
    from dataclasses import replace

    cfg = load_sweep(CONFIGS / "compare_brain_learned.yaml")
    committed = REPO / "benchmarks" / "results" / f"compare_{cfg.name}"
    shutil.copy(committed.with_suffix(".json"), tmp_path)
    run_sweep(replace(cfg, out=tmp_path), report_only=True)
    assert (tmp_path / f"compare_{cfg.name}.md").read_text() == committed.with_suffix(".md").read_text()
    with pytest.raises(InputError, match="--point vgg: not among the archs of"):
        run_sweep(replace(cfg, out=tmp_path), only_points=["vgg"])
    with pytest.raises(InputError, match="--point: .* is one table"):
        run_sweep(load_sweep(CONFIGS / "recipe.yaml"), only_points=["edge"])
