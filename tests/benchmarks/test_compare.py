"""The architecture comparison (a sweep over the experiment runner): data subsets, the runner's rows mapped to
the paper's metrics, one timing pass, the Table 1/2 Markdown."""

from __future__ import annotations

from pathlib import Path

import pytest

from munet.benchmarks.compare import (
    ARCHS,
    MODES,
    Budget,
    arch_result,
    compare,
    compare_markdown,
    parse_arch,
    resolve_split,
    trivial_dice,
)
from munet.benchmarks.compare_report import PAPER_METRICS
from munet.benchmarks.experiment import Row
from munet.errors import InputError, MunetError


def test_budget_text_states_the_shared_settings() -> None:
    text = Budget(size=(128, 96), epochs=7, train_limit=300).describe()
    assert "128x96" in text and "7 epochs" in text and "no early stopping" in text and "300 training images" in text
    assert "epoch kept by val_dice_per_image" in text and Budget().overrides()["monitor"] == "val_dice_per_image"


def test_a_lesion_share_is_part_of_every_rows_budget_and_older_results_drew_uniformly(tmp_path: Path) -> None:
    """--lesion-share reaches every row's training config and the table's text; results made before the option
    (no lesion_share key) resume only under the uniform draw they were trained with."""
    balanced = Budget(lesion_share=0.5)
    assert balanced.overrides()["lesion_share"] == 0.5
    assert "50% of draws from images with a lesion" in balanced.describe()
    assert "lesion_share" not in Budget().overrides() and "draws" not in Budget().describe()
    _resumes_only_at_the_default(tmp_path, "lesion_share", balanced, "lesion_share 0.0 -> 0.5")


def _resumes_only_at_the_default(tmp_path: Path, key: str, other: Budget, message: str) -> None:
    """A comparison saved before budget field ``key`` existed resumes under its default and refuses ``other``."""
    import json
    from dataclasses import asdict

    from munet.benchmarks.compare import resumable

    old = {k: v for k, v in asdict(Budget()).items() if k != key}
    path = tmp_path / "compare_x.json"
    path.write_text(json.dumps({"budget": old, "n_train": 4, "n_val": 2, "models": []}))
    assert resumable(path, Budget(), 4, 2) is not None
    with pytest.raises(InputError, match=message):
        resumable(path, other, 4, 2)


def test_precise_bn_reaches_every_rows_training_and_older_results_ran_without_it(tmp_path: Path) -> None:
    """budget: {precise_bn: N} (issue 24: rows whose BatchNorm statistics lag their weights) is every row's
    munet-train --precise-bn N and is stated in the table's text; results made before the key resume only at 0."""
    from munet.benchmarks.sweep import budget_of, load_sweep
    from munet.train.config import TrainConfig

    cfg = tmp_path / "compare_pbn.yaml"
    cfg.write_text("kind: compare\nname: pbn\ndata: d\narchs: [segnet]\nbudget: {size: 64, precise_bn: 50}\n")
    budget = budget_of(load_sweep(cfg))
    assert budget.precise_bn == 50 and budget.overrides()["precise_bn"] == 50
    assert TrainConfig(**{"arch": "segnet", **budget.overrides()}).precise_bn == 50
    assert "precise BN over 50 training batches before validation" in budget.describe()
    assert "precise_bn" not in Budget().overrides() and "precise BN" not in Budget().describe()
    _resumes_only_at_the_default(tmp_path, "precise_bn", Budget(precise_bn=50), "precise_bn 0 -> 50")


def test_the_paper_budget_is_a_compare_config() -> None:
    """The paper's own setting (256x256, 60 epochs, every architecture, MU-Net alpha 1.4) is a sweep config for a
    GPU workstation, outside the configs that `reproduce.sh sweeps` runs on a CPU."""
    from munet.benchmarks.sweep import budget_of, load_sweep

    for name in ("isic", "brain"):
        cfg = load_sweep(
            Path(__file__).resolve().parents[2] / "benchmarks" / "configs" / "gpu" / f"compare_paper_{name}.yaml"
        )
        budget = budget_of(cfg)
        assert (cfg.kind, cfg.name, cfg.paper_table) == ("compare", f"{name}-paper", name)
        assert (budget.size, budget.epochs, budget.alpha, budget.train_limit) == ((256, 256), 60, 1.4, None)
        assert {a.partition("@")[0] for a in cfg.archs} == set(ARCHS)


def test_resolve_split(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="data needs train/ and val/ subfolders"):
        resolve_split(tmp_path)
    (tmp_path / "train").mkdir()
    (tmp_path / "val").mkdir()
    assert resolve_split(tmp_path) == (tmp_path / "train", tmp_path / "val")


def test_runner_scores_map_to_the_paper_metrics(tiny_tflites: dict[str, Path], tiny_pairs: Path) -> None:
    """The runner's row (shared scorer: per-image and pixel dicts) becomes the comparison's row."""
    from munet.benchmarks.experiment import score_models
    from munet.data import load_pairs

    row = score_models(tiny_tflites, load_pairs(tiny_pairs, layout="folder"), threads=1)
    row |= {
        "overrides": {"arch": "munet", "encoder_weights": "imagenet", **Budget(size=(256, 256)).overrides()},
        "run_dir": "r",
        "epochs": 2,
        "train_s": 3.0,
        "params": 10,
        "macs": 20,
        "keras_val": {"dice": 0.4},
        "models": {m: {"path": p.as_posix(), "size_bytes": 2_345_678} for m, p in tiny_tflites.items()},
        "latency": {"float32@2": {"median": 4.0, "p10": 3.5}, "int8@2": {"median": 2.0, "p10": 1.5}},
    }
    res = arch_result(Row.from_dict(row), "munet@imagenet", "MU-Net, ImageNet", threads=2)
    for metrics in (res.float32, res.int8, res.float32_pixel):
        for key in (*PAPER_METRICS, "miou", "isic_jaccard"):
            assert 0.0 <= metrics[key] <= 1.0
    assert res.float32_pixel["isic_jaccard"] == res.float32["isic_jaccard"]  # always per image, by definition
    assert res.float32 == row["scores"]["float32"]["per-image"] and res.int8 == row["scores"]["int8"]["per-image"]
    assert res.int8_dice_drop == pytest.approx(res.float32["dice"] - res.int8["dice"])
    assert (res.arch, res.imagenet, res.macs_256, res.float_mb, res.keras_val) == (
        "munet@imagenet",
        True,
        20,
        2.35,
        {"dice": 0.4},
    )
    assert (res.float_ms, res.float_ms_p10, res.int8_ms, res.int8_ms_p10) == (4.0, 3.5, 2.0, 1.5)
    assert arch_result(Row.from_dict(row), "m", "m", threads=1).int8_ms is None  # not timed at that thread count


def test_unknown_architecture_fails_before_any_training(tiny_pairs: Path, tmp_path: Path) -> None:
    with pytest.raises(MunetError, match="did you mean 'unet-vgg19'"):
        compare(tiny_pairs, tiny_pairs, "x", archs=["unet-vgg"], out_dir=tmp_path, runs_dir=tmp_path / "runs")
    assert not (tmp_path / "compare_x.json").exists()


def test_markdown_table_names_budget_weights_failures_and_paper_values() -> None:
    metrics = {m: 0.5 for m in (*PAPER_METRICS, "miou", "isic_jaccard")}
    ok = {
        "arch": "munet",
        "label": "MU-Net (proposed)",
        "encoder_weights": "w.h5",
        "imagenet": True,
        "params": 6_501_345,
        "macs": 575_000_000,
        "macs_256": 2_300_000_000,
        "float32": metrics,
        "int8": {**metrics, "dice": 0.49},
        "int8_dice_drop": 0.01,
        "float_ms": 20.0,
        "int8_ms": 5.0,
        "train_s": 12.0,
        "error": None,
        "learned": True,
    }
    failed = {"arch": "fcn", "label": "FCNet (FCN-8s)", "encoder_weights": "imagenet", "error": "no download"}
    failed["learned"] = False
    result = {
        "name": "isic",
        "budget": {"size": [128, 128], "latency_runs": 20, "threads": 1},
        "budget_text": Budget().describe(),
        "train": "t",
        "val": "v",
        "n_train": 10,
        "n_val": 5,
        "paper_table": "isic",
        "provenance": {"command": "munet-bench compare --name isic", "date": "2026-11-25", "machine": {}},
        "trivial": {"all-empty": 0.0, "all-full": 0.2},
        "latency_method": "interleaved",
        "models": [ok, failed],
    }
    md = compare_markdown(result)
    assert "| MU-Net (proposed) | ImageNet | 6.50 | 0.57 | 2.30 | 0.5000 | yes |" in md  # GMACs @128² and @256²
    assert "| 0.4900 | 0.0100 | 20.0 | 5.0 | 12 |" in md  # int8 Dice, its drop, ms, training s
    assert "| FCNet (FCN-8s) | failed: no download | – |" in md
    assert "| Proposed (MU-Net) | 96.49 |" in md and "93.78" in md  # the paper's Table 1 row
    assert "munet-bench compare --name isic" in md and "no early stopping" in md
    assert "lesion images" not in md  # ISIC: every image has a lesion
    split = {"lesion_images": 37, "lesion_free_images": 73, "dice_lesion_images": 0.76, "false_positive_share": 0.0137}
    md = compare_markdown(result | {"models": [ok | {"lesion_split": split}, failed]})
    assert "| Dice | learned | Dice, lesion images | false lesions | IoU |" in md
    assert "| 0.5000 | yes | 0.7600 | 1.4 % | 0.5000 |" in md and "share of the lesion-free validation images" in md
    head, fail = (next(line for line in md.splitlines() if line.startswith(p)) for p in ("| model", "| FCNet"))
    assert head.count("|") == fail.count("|")


def test_arch_entries_may_name_their_encoder_start() -> None:
    spec = {"munet": "w.h5"}
    assert parse_arch("munet", spec) == ("munet", "w.h5", "MU-Net (proposed)")
    assert parse_arch("munet@none", spec) == ("munet", "none", "MU-Net (proposed), from scratch")
    assert parse_arch("unet-vgg19@imagenet", {})[1:] == ("imagenet", "U-Net with VGG-19, ImageNet")
    with pytest.raises(MunetError, match="ARCH@none or ARCH@imagenet"):
        parse_arch("munet@w.h5", spec)


def test_reuse_takes_a_finished_scored_row_without_training(tiny_pairs: Path, tmp_path: Path) -> None:
    """Adding a row to a comparison later must not retrain or rescore the finished ones."""
    import json

    from munet.data import load_pairs

    run = tmp_path / "runs" / "x" / "munet@none"
    (run / "state").mkdir(parents=True)
    (run / "state" / "progress.json").write_text(json.dumps({"epoch": 3, "finished": True}))
    budget = Budget(size=(256, 256))
    overrides = {"arch": "munet", "encoder_weights": "none", **budget.overrides()}
    row = {"name": "munet@none", "overrides": overrides, "epochs": 3, "train_s": 5.0, "params": 123, "macs": 10**8}
    row |= {"scores": {m: {"per-image": HALF, "pixel": HALF} for m in MODES}}
    row |= {"models": {m: {"path": "gone", "size_bytes": 1000} for m in MODES}}
    (run / "row.json").write_text(json.dumps(row))
    kw = {"archs": ["munet@none"], "budget": budget, "out_dir": tmp_path, "runs_dir": tmp_path / "runs", "reuse": True}
    result = compare(tiny_pairs, tiny_pairs, "x", **kw)
    (got,) = result["models"]
    assert got["arch"] == "munet@none" and got["label"] == "MU-Net (proposed), from scratch"
    assert got["params"] == 123 and not (run / "best.keras").exists()  # nothing trained
    saved = json.loads((tmp_path / "compare_x.json").read_text())
    assert saved["models"][0]["params"] == 123
    trivial = trivial_dice([s.truth for s in load_pairs(tiny_pairs)])  # the trivial predictions, judged up front
    assert saved["trivial"] == pytest.approx(trivial) and result["trivial"] == trivial
    assert saved["models"][0]["learned"] is (max(trivial.values()) + 0.20 <= 0.5)


def test_rows_are_timed_in_one_pass_and_the_load_is_recorded(
    tiny_tflites: dict[str, Path], tiny_pairs: Path, tmp_path: Path
) -> None:
    """All models are timed round-robin in one pass (its machine load kept in the JSON and the Markdown); a row
    whose model files are gone is not timed; one architecture failing keeps the others."""
    import json

    budget = Budget(size=(256, 256), latency_runs=3, threads=1)
    metrics = {m: 0.5 for m in (*PAPER_METRICS, "miou", "isic_jaccard")}

    def write(entry: str, row: dict) -> None:
        (tmp_path / "runs" / "x" / entry).mkdir(parents=True)
        (tmp_path / "runs" / "x" / entry / "row.json").write_text(json.dumps(row))

    write(
        "munet@none",
        {
            "name": "munet@none",
            "overrides": {"arch": "munet", "encoder_weights": "none", **budget.overrides()},
            "run_dir": "r",
            "epochs": 1,
            "train_s": 1.0,
            "params": 10,
            "macs": 20,
            "keras_val": {},
            "models": {m: {"path": p.as_posix(), "size_bytes": 1000} for m, p in tiny_tflites.items()},
            "scores": {m: {"per-image": metrics, "pixel": metrics} for m in MODES},
            "agreement": {},
            "latency": {},
        },
    )
    gone = {
        "name": "unet",
        "overrides": {"arch": "unet", "encoder_weights": "none", **budget.overrides()},
        "models": {m: {"path": "gone", "size_bytes": 1000} for m in MODES},
        "scores": {m: {"per-image": metrics, "pixel": metrics} for m in MODES},
        "latency": {},
    }
    write("unet", gone)
    write("fcn", {"name": "fcn", "overrides": {"arch": "fcn"}})  # made with other settings: refused
    result = compare(
        tiny_pairs,
        tiny_pairs,
        "x",
        archs=["munet@none", "unet", "fcn"],
        budget=budget,
        out_dir=tmp_path,
        runs_dir=tmp_path / "runs",
        reuse=True,
    )
    failed, kept, new = result["models"]  # the paper's table order: FCNet, U-Net, MU-Net
    assert new["float_ms"] > 0 and new["int8_ms"] > 0 and 0 < new["int8_ms_p10"] <= new["int8_ms"]
    assert (kept["float_ms"], kept["int8_ms"]) == (None, None)  # its model files are gone: not timed
    assert "other settings" in failed["error"] and failed["float_ms"] is None
    assert result["latency_method"].startswith("interleaved: 1 row(s)")
    assert len(result["load"]["load_before"]) == 3 and isinstance(result["busy"], list)
    assert json.loads((tmp_path / "compare_x.json").read_text())["load"] == result["load"]
    assert "machine during the pass: load average" in (tmp_path / "compare_x.md").read_text()


# ------------------------------------------------------------------------------------------------- resume
#: Every metric 0.5: the rows of the fake runs below.
HALF = {m: 0.5 for m in (*PAPER_METRICS, "miou", "isic_jaccard")}


def _fake_training(monkeypatch: pytest.MonkeyPatch, tiny_tflites: dict[str, Path]) -> tuple[list[str], list[int]]:
    """compare()'s run_point replaced by a scored row on the tiny models (no training): the entries it was called
    for, and the number of rows each timing pass got."""
    import munet.benchmarks.compare as mod

    trained: list[str] = []
    passes: list[int] = []
    real_time_rows = mod.time_rows

    def run_point(point, setup, samples=None, echo=print) -> Row:
        trained.append(point.name)
        return Row.from_dict(
            {
                "name": point.name,
                "overrides": point.overrides,
                "run_dir": (setup.runs_dir / point.name).as_posix(),  # no model files there: they are elsewhere
                "epochs": 1,
                "train_s": 10.0 * len(trained),
                "params": 100 * len(trained),
                "macs": 20,
                "keras_val": {},
                "models": {m: {"path": p.as_posix(), "size_bytes": 1000} for m, p in tiny_tflites.items()},
                "scores": {m: {"per-image": HALF, "pixel": HALF} for m in MODES},
                "agreement": {},
                "latency": {},
            }
        )

    def time_rows(rows, *args, **kw):
        passes.append(len(rows))
        return real_time_rows(rows, *args, **kw)

    monkeypatch.setattr(mod, "run_point", run_point)
    monkeypatch.setattr(mod, "time_rows", time_rows)
    monkeypatch.setattr(mod, "macs_256", lambda arch, size, alpha, macs: macs)
    return trained, passes


def test_reuse_resumes_the_committed_rows_and_adds_new_ones(
    monkeypatch: pytest.MonkeyPatch, tiny_tflites: dict[str, Path], tiny_pairs: Path, tmp_path: Path
) -> None:
    """A later session (fresh runs/) with --reuse and other --archs keeps the committed rows without training them,
    adds its own in the paper's order, and times them all in one pass: a resumed row whose models are gone on an
    untrained copy of its architecture, one whose models this machine still has on those."""
    import json
    import shutil
    from dataclasses import replace

    from tests.conftest import TINY_ALPHA, TINY_SIZE

    trained, passes = _fake_training(monkeypatch, tiny_tflites)
    budget = Budget(size=TINY_SIZE, epochs=1, alpha=TINY_ALPHA, calib_count=4, latency_runs=3)
    kw = {"out_dir": tmp_path, "reuse": True}
    first = compare(tiny_pairs, tiny_pairs, "x", ["munet", "munet@none"], budget, runs_dir=tmp_path / "s1", **kw)
    (tmp_path / "s1" / "x" / "munet").mkdir(parents=True)
    for mode, path in tiny_tflites.items():  # this machine still has munet's trained models, not munet@none's
        shutil.copy(path, tmp_path / "s1" / "x" / "munet" / f"model_{mode}.tflite")
    later = replace(budget, latency_runs=2)  # timing-only fields may change
    result = compare(tiny_pairs, tiny_pairs, "x", ["unet", "munet@none"], later, runs_dir=tmp_path / "s2", **kw)

    assert trained == ["munet", "munet@none", "unet"]  # munet@none resumed, not trained again
    assert passes == [2, 3]  # all three rows in the second session's one pass
    unet, munet, scratch = result["models"]  # the paper's order; the row not in --archs is kept
    assert (unet["arch"], munet["arch"], scratch["arch"]) == ("unet", "munet", "munet@none")
    before = {r["arch"]: r for r in first["models"]}
    for row in (munet, scratch):
        assert (row["train_s"], row["params"]) == (before[row["arch"]]["train_s"], before[row["arch"]]["params"])
    assert scratch["timed_on"] == "untrained copy" and scratch["float_ms"] > 0 and scratch["int8_ms"] > 0
    assert [p.name for p in (tmp_path / "s2" / "x").glob("arch-*")] == ["arch-0"]  # munet@none's only
    assert (tmp_path / "s2" / "x" / "arch-0" / "munet_int8.tflite").is_file()
    assert munet["timed_on"] is None and munet["float_ms"] > 0 and unet["timed_on"] is None
    assert "3 row(s)" in result["latency_method"]
    assert "MU-Net (proposed), from scratch on an untrained copy" in result["latency_method"]
    saved = json.loads((tmp_path / "compare_x.json").read_text())
    assert [r["arch"] for r in saved["models"]] == ["unet", "munet", "munet@none"]
    assert saved["earlier"] == [first["provenance"]]
    md = (tmp_path / "compare_x.md").read_text()
    assert "from scratch on an untrained copy" in md and "Rows resumed from earlier runs" in md


def test_redo_trains_a_committed_row_again_and_keeps_the_others(
    monkeypatch: pytest.MonkeyPatch, tiny_tflites: dict[str, Path], tiny_pairs: Path, tmp_path: Path
) -> None:
    """--redo (a row's model changed): that row is trained again with reuse off, so its old run folder cannot be
    taken; the other rows stay as committed. A --redo entry outside --archs is refused before any training."""
    from tests.conftest import TINY_ALPHA, TINY_SIZE

    trained, _ = _fake_training(monkeypatch, tiny_tflites)
    budget = Budget(size=TINY_SIZE, epochs=1, alpha=TINY_ALPHA, calib_count=4, latency_runs=2)
    kw = {"out_dir": tmp_path, "reuse": True, "runs_dir": tmp_path / "runs"}
    first = compare(tiny_pairs, tiny_pairs, "x", ["munet", "unet"], budget, **kw)
    with pytest.raises(InputError, match=r"--redo segnet: not among the archs \(unet\)"):
        compare(tiny_pairs, tiny_pairs, "x", ["unet"], budget, redo=["segnet"], **kw)
    import shutil

    import munet.benchmarks.compare as mod

    (tmp_path / "runs" / "x" / "munet").mkdir(parents=True)
    for mode, path in tiny_tflites.items():  # the kept row's models are still here: no untrained copy to convert
        shutil.copy(path, tmp_path / "runs" / "x" / "munet" / f"model_{mode}.tflite")
    fake, reuse_of = mod.run_point, {}

    def spy(point, setup, *args, **kwargs) -> dict:
        reuse_of[point.name] = setup.reuse
        return fake(point, setup, *args, **kwargs)

    monkeypatch.setattr(mod, "run_point", spy)
    again = compare(tiny_pairs, tiny_pairs, "x", ["munet", "unet"], budget, redo=["unet"], **kw)

    assert trained == ["munet", "unet", "unet"] and reuse_of == {"unet": False}
    before, after = ({r["arch"]: r for r in res["models"]} for res in (first, again))
    assert after["munet"]["train_s"] == before["munet"]["train_s"]
    assert after["unet"]["train_s"] != before["unet"]["train_s"]  # the new training's row replaced the old


def test_a_sweep_that_crashes_half_way_keeps_the_committed_rows_it_had_not_reached(
    monkeypatch: pytest.MonkeyPatch, tiny_tflites: dict[str, Path], tiny_pairs: Path, tmp_path: Path
) -> None:
    """A crash (here in the first entry's training, a --redo) or a Ctrl-C mid-sweep: the JSON written after each row
    still holds every committed row, the one being trained again included, until that entry is done."""
    import json

    import munet.benchmarks.compare as mod
    from tests.conftest import TINY_ALPHA, TINY_SIZE

    _fake_training(monkeypatch, tiny_tflites)
    budget = Budget(size=TINY_SIZE, epochs=1, alpha=TINY_ALPHA, calib_count=4, latency_runs=2)
    kw = {"out_dir": tmp_path, "reuse": True, "runs_dir": tmp_path / "runs"}
    first = compare(tiny_pairs, tiny_pairs, "x", ["munet", "unet", "segnet"], budget, **kw)
    fake = mod.run_point

    def crash_on_unet(point, *args, **kwargs) -> dict:
        if point.name == "unet":
            raise TypeError("a bug in a layer")  # not a MunetError: the sweep stops here
        return fake(point, *args, **kwargs)

    monkeypatch.setattr(mod, "run_point", crash_on_unet)
    with pytest.raises(TypeError):
        compare(tiny_pairs, tiny_pairs, "x", ["munet", "unet", "segnet"], budget, redo=["munet", "unet"], **kw)
    saved = json.loads((tmp_path / "compare_x.json").read_text())
    before = {r["arch"]: r for r in first["models"]}
    after = {r["arch"]: r for r in saved["models"]}
    assert set(after) == {"munet", "unet", "segnet"}
    assert after["unet"]["train_s"] == before["unet"]["train_s"]  # kept as committed, not lost
    assert after["segnet"]["train_s"] == before["segnet"]["train_s"]
    assert after["munet"]["train_s"] != before["munet"]["train_s"]  # the redo that finished replaced its row
    assert "U-Net" in (tmp_path / "compare_x.md").read_text()


def test_reuse_refuses_a_committed_comparison_with_another_budget(
    monkeypatch: pytest.MonkeyPatch, tiny_tflites: dict[str, Path], tiny_pairs: Path, tmp_path: Path
) -> None:
    import json
    from dataclasses import asdict

    trained, _ = _fake_training(monkeypatch, tiny_tflites)
    row = {"arch": "munet", "label": "MU-Net (proposed)", "encoder_weights": "w.h5", "imagenet": True}
    made = {"budget": asdict(Budget(epochs=1)), "n_train": 4, "n_val": 4, "models": [row]}
    (tmp_path / "compare_x.json").write_text(json.dumps(made))
    kw = {"out_dir": tmp_path, "runs_dir": tmp_path / "runs", "reuse": True}
    with pytest.raises(InputError, match=r"epochs 1 -> 2\); give the config another name or drop --reuse") as err:
        compare(tiny_pairs, tiny_pairs, "x", ["unet"], Budget(epochs=2), **kw)
    assert "\n" not in str(err.value)
    with pytest.raises(InputError, match=r"n_val 4 -> 3"):
        compare(tiny_pairs, tiny_pairs, "x", ["unet"], Budget(epochs=1, val_limit=3), **kw)
    with pytest.raises(InputError, match=r"munet row started from 'w.h5', this run from 'none'"):
        compare(tiny_pairs, tiny_pairs, "x", ["munet"], Budget(epochs=1), **kw)
    assert trained == []  # refused before any training
    assert json.loads((tmp_path / "compare_x.json").read_text()) == json.loads(json.dumps(made))  # and not rewritten
