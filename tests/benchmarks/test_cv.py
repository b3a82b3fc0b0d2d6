"""Cross-validation (``munet.benchmarks.cv``): fold files, grouping, scores, paired SE, resume, one-line errors."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from munet import data
from munet.benchmarks import cv
from munet.benchmarks.cli import main as bench
from munet.benchmarks.sweep import cv_config, load_sweep
from munet.data import Pair, find_pairs
from munet.errors import InputError
from tests.conftest import TINY_ALPHA, TINY_SIZE


def _patients(root: Path, patients: int = 6, slices: int = 4, size: tuple[int, int] = (72, 80)) -> Path:
    """LGG-named pairs (``TCGA_<patient>_<slice>``): a dark blob on the odd slices, none on the even ones."""
    import cv2

    rng = np.random.default_rng(1)
    for sub in ("images", "masks"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    h, w = size
    for p in range(patients):
        for s in range(1, slices + 1):
            img = np.clip(170 + rng.normal(0, 10, (h, w, 3)), 0, 255).astype(np.uint8)
            mask = np.zeros((h, w), np.uint8)
            if s % 2:
                cv2.circle(
                    mask, (int(rng.integers(25, 55)), int(rng.integers(25, 45))), int(rng.integers(8, 16)), 1, -1
                )
                img[mask == 1] = 60
            name = f"TCGA_P{p}_2000010{p}_{s}"
            cv2.imwrite(str(root / "images" / f"{name}.png"), img)
            cv2.imwrite(str(root / "masks" / f"{name}.png"), mask * 255)
    return root


@pytest.fixture(scope="module")
def patients(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _patients(tmp_path_factory.mktemp("patients"))


def test_fold_files_are_stable_and_read_back(patients: Path, tmp_path: Path) -> None:
    pairs = find_pairs(patients)
    items = data.make_folds(pairs, k=3, seed=0)
    assert items == data.make_folds(list(reversed(pairs)), k=3, seed=0)  # the names decide, not the order given
    assert items != data.make_folds(pairs, k=3, seed=1)
    path = data.write_folds(tmp_path / "folds.csv", items)
    assert data.read_folds(path) == items
    before = path.read_text()
    data.write_folds(path, items)  # the same assignment again: allowed, unchanged
    assert path.read_text() == before
    with pytest.raises(InputError, match="another assignment"):
        data.write_folds(path, data.make_folds(pairs, k=3, seed=1))
    assert path.read_text() == before


def test_no_patient_is_in_two_folds_and_folds_are_balanced(patients: Path) -> None:
    extra = [Pair(Path(f"TCGA_BIG_19990101_{i}.png"), None, "TCGA_BIG_19990101") for i in range(9)]
    items = data.make_folds(find_pairs(patients) + extra, k=3, seed=0)
    folds_of: dict[str, set[int]] = {}
    for i in items:
        folds_of.setdefault(i.group, set()).add(i.fold)
    assert len(folds_of) == 7 and all(len(f) == 1 for f in folds_of.values())
    sizes = [sum(1 for i in items if i.fold == f) for f in range(3)]
    assert sorted(sizes) == [9, 12, 12]  # the 9-slice patient alone, six 4-slice ones in the others: the best split


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("image,fold\na,0\n", "header"),
        ("name,group,fold\na,a,zero\n", "expected name,group,fold"),
        ("name,group,fold\na,a,0\nb,b,2\n", "a fold is missing"),
        ("name,group,fold\na,a,0\na,a,1\n", "listed twice"),
        ("name,group,fold\na,P,0\nb,P,1\n", "group P is in folds 0 and 1"),
        ("name,group,fold\na,a,0\n", "a fold is missing"),
    ],
)
def test_a_bad_fold_file_gets_a_one_line_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "folds.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as err:
        data.read_folds(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_fold_folders_are_made_once_and_shared_by_parallel_points(patients: Path, tmp_path: Path) -> None:
    import threading

    pairs = find_pairs(patients)
    folds: dict[int, list[Pair]] = {0: pairs[:8], 1: pairs[8:16], 2: pairs[16:]}
    dest = tmp_path / "_data" / "fold0"
    train, val = cv._fold_dirs(folds, 0, dest)
    assert sorted(f.name for f in (val / "images").iterdir()) == sorted(p.image.name for p in folds[0])
    assert len(list((train / "masks").iterdir())) == 16
    # the same fold again (another point's process): kept as it is, never emptied under a reader
    (train / "in-use").write_text("x")
    cv._fold_dirs(folds, 0, dest)
    assert (train / "in-use").is_file()
    # a half-made folder (a process killed while linking) and another assignment are made afresh
    next((val / "masks").iterdir()).unlink()
    cv._fold_dirs(folds, 0, dest)
    assert len(list((val / "masks").iterdir())) == 8
    shutil.rmtree(val / "masks")
    cv._fold_dirs(folds, 0, dest)
    assert len(list((val / "masks").iterdir())) == 8
    moved = {0: pairs[:7], 1: pairs[7:16], 2: pairs[16:]}
    cv._fold_dirs(moved, 0, dest)
    assert not (train / "in-use").exists() and len(list((val / "images").iterdir())) == 7
    # a second process waits while the first holds the fold's lock, then takes the finished folders
    done = threading.Event()
    with cv._locked(dest / ".lock"):
        worker = threading.Thread(target=lambda: (cv._fold_dirs(folds, 0, dest), done.set()))
        worker.start()
        assert not done.wait(0.5)
    worker.join(10)
    assert done.is_set() and len(list((val / "images").iterdir())) == 8


def test_a_compare_on_folds_trains_on_the_other_folds_and_holds_one_out(patients: Path, tmp_path: Path) -> None:
    """A ``kind: compare`` config with ``folds:`` + ``val_fold: K`` (issue 24: the architectures on all 86 brain
    patients) gets fold K of the pooled data as its validation folder and the other folds as its training folder,
    no patient on both sides; a fold the file lacks is one line."""
    from munet.benchmarks.sweep import load_sweep

    items = data.make_folds(find_pairs(patients), k=3)
    folds_csv = data.write_folds(tmp_path / "folds.csv", items)
    train, val = cv.fold_split([patients], folds_csv, 1, tmp_path / "_data")
    held = {i.name for i in items if i.fold == 1}
    assert {f.stem for f in (val / "images").iterdir()} == held
    assert {f.stem for f in (train / "images").iterdir()} == {i.name for i in items} - held
    group = {i.name: i.group for i in items}
    assert not {group[f.stem] for f in (val / "masks").iterdir()} & {group[f.stem] for f in (train / "masks").iterdir()}
    with pytest.raises(InputError, match=r"val_fold 3: .*folds.csv has folds 0..2"):
        cv.fold_split([patients], folds_csv, 3, tmp_path / "_data")
    cfg = tmp_path / "compare_f.yaml"
    body = f"kind: compare\nname: f\ndata: [{patients}]\narchs: [munet]\nbudget: {{size: 64}}\n"
    cfg.write_text(body + f"folds: {folds_csv}\nval_fold: 1\n")
    assert load_sweep(cfg).settings["val_fold"] == 1
    cfg.write_text(body + "val_fold: 1\n")
    with pytest.raises(InputError, match="val_fold needs folds"):
        load_sweep(cfg)


def test_fold_file_and_data_must_match(patients: Path) -> None:
    pairs = find_pairs(patients)
    items = data.make_folds(pairs, k=2)
    with pytest.raises(InputError, match="in no fold"):
        cv.assign_pairs(pairs, items[1:], "folds.csv")
    with pytest.raises(InputError, match="not in the data"):
        cv.assign_pairs(pairs[1:], items, "folds.csv")
    folds = cv.assign_pairs(pairs, items, "folds.csv")
    assert sorted(len(v) for v in folds.values()) == [12, 12]


def test_paired_se_on_a_hand_checked_case() -> None:
    # differences 0.01 0.02 0.03 0.02 0.02: mean 0.02, sd sqrt(2e-4 / 4) = 0.0070711, SE = sd / sqrt(5) = 0.0031623
    d = cv.paired([0.81, 0.82, 0.83, 0.82, 0.82], [0.80, 0.80, 0.80, 0.80, 0.80])
    assert d["folds"] == 5
    assert d["mean"] == pytest.approx(0.02)
    assert d["se"] == pytest.approx(0.0031623, abs=1e-7)
    assert d["verdict"] == "gain"  # 0.02 > 2 * 0.0032
    noisy = cv.paired([0.83, 0.79, 0.85, 0.78, 0.80], [0.80] * 5)  # mean +0.01, SE 0.0135: inside 2 SE
    assert noisy["verdict"] == "no difference"
    assert cv.paired([0.70] * 3, [0.80, 0.81, 0.79])["verdict"] == "loss"
    one = cv.paired([0.9], [0.8])
    assert one["verdict"] == "too few folds" and math.isnan(one["se"])
    assert cv.paired_text(d) == "+2.00 ± 0.32 (gain)"
    assert cv.paired_text(one) == cv.paired_text(one | {"se": None}) == "+10.00 (too few folds)"  # NaN: null in JSON
    assert cv.paired_text(None) == cv.paired_text(cv.paired([], [])) == "–"


def test_fold_scores_pool_each_patients_slices_into_one_volume() -> None:
    t1 = np.zeros((4, 4), np.uint8)
    t1[:2, :2] = 1  # 4 px tumour
    empty = np.zeros((4, 4), np.uint8)
    full = np.ones((4, 4), np.uint8)
    # patient A: a perfect tumour slice + a clean empty slice; patient B: tumour missed, false alarm on the empty
    masks = [t1, empty, empty, full]
    truths = [t1, empty, t1, empty]
    s = cv.fold_scores(masks, truths, ["a1", "a2", "b1", "b2"], ["A", "A", "B", "B"])
    assert s["patients"] == 2
    assert s["patient_dice"] == pytest.approx((1.0 + 0.0) / 2)  # B: tp 0, fp 16, fn 4
    assert s["lesion_dice"] == pytest.approx(0.5)  # slices a1 (1) and b1 (0)
    assert s["false_positive_share"] == pytest.approx(0.5)  # b2 of the two empty slices
    assert s["dice"] == pytest.approx((1 + 1 + 0 + 0) / 4)
    ungrouped = cv.fold_scores(masks, truths, ["a", "b", "c", "d"], ["a", "b", "c", "d"])
    assert "patient_dice" not in ungrouped


def _config(tmp: Path, data: Path, folds: Path, extra: list[dict] | None = None) -> Path:
    tiny = {"arch": "munet", "alpha": TINY_ALPHA, "size": list(TINY_SIZE), "encoder_weights": "none"}
    tiny |= {"batch": 4, "epochs": 1, "steps_per_epoch": 2, "loss": "bce", "lr_schedule": "constant"}
    import yaml

    path = tmp / "cv_tiny.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "tiny",
                "folds": str(folds),
                "data": [str(data)],
                "baseline": "base",
                "headline": "patient_dice",
                "ship": {"calib_count": 8},
                "points": [{"name": "base", **tiny}, *(extra or [])],
            }
        )
    )
    return path


def test_a_cv_run_resumes_after_an_interrupted_fold_without_retraining_the_finished_ones(
    patients: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("tensorflow")
    from munet.benchmarks import experiment

    folds = data.write_folds(tmp_path / "folds.csv", data.make_folds(find_pairs(patients), k=2))
    cfg = cv_config(load_sweep(_config(tmp_path, patients, folds)))
    trained: list[str] = []
    real_train = experiment.train_point

    def counting(point, setup, run_dir, resume=False):  # noqa: ANN001, ANN202
        trained.append(f"{setup.runs_dir.name}/{point.name}")
        return real_train(point, setup, run_dir, resume)

    monkeypatch.setattr(experiment, "train_point", counting)
    out, runs = tmp_path / "results", tmp_path / "runs"
    # a sweep stopped after fold 0 (its row is saved), then a sitting that crashed in fold 1 after its training
    cv.run_cv(cfg, out, runs, only_folds=[0], reuse=True, echo=lambda _m: None)
    first = json.loads((out / cv.RESULTS_NAME).read_text())
    assert [(r["point"], r["fold"]) for r in first["rows"]] == [("base", 0)]
    assert trained == ["base/fold0"]
    import munet.convert.api as api

    original = api.convert_all

    def crash(*a, **k):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("power cut during conversion")

    monkeypatch.setattr(api, "convert_all", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        cv.run_cv(cfg, out, runs, reuse=True, echo=lambda _m: None)
    assert trained == ["base/fold0", "base/fold1"]  # fold 1 trained, then the crash
    monkeypatch.setattr(api, "convert_all", original)
    said: list[str] = []
    result = cv.run_cv(cfg, out, runs, reuse=True, echo=said.append)
    assert trained == ["base/fold0", "base/fold1"], "a finished fold or training was trained again"
    assert any("fold0] kept from" in s for s in said), said
    assert any("reusing the finished run" in s for s in said), said
    assert [(r["point"], r["fold"]) for r in result["rows"]] == [("base", 0), ("base", 1)]
    assert result["rows"][0] == first["rows"][0]  # fold 0's row as it was written the first time
    summary = result["summary"][0]
    assert summary["point"] == "base" and summary["folds"] == [0, 1]
    assert 0.0 <= summary["metrics"]["patient_dice"]["mean"] <= 1.0
    assert summary["metrics"]["patient_dice"]["sd"] is not None
    assert "| base |" in (out / "README.md").read_text()
    (out / "README.md").unlink()
    monkeypatch.setattr(experiment, "train_point", None)  # --report trains nothing
    assert cv.run_cv(cfg, out, tmp_path / "elsewhere", report_only=True)["rows"] == result["rows"]
    assert "| base |" in (out / "README.md").read_text()
    assert (runs / "base" / "fold1" / "model_int8.tflite").is_file()


def test_the_cli_gives_one_line_errors(tmp_path: Path, patients: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.csv"
    bad.write_text("name,group,fold\nx,x,0\n")
    cfg = _config(tmp_path, patients, bad)
    res = runner.invoke(bench, ["cv", str(cfg)])
    assert res.exit_code != 0 and "a fold is missing" in res.output and "Traceback" not in res.output
    out = tmp_path / "f.csv"
    res = runner.invoke(bench, ["cv-folds", "--data", str(patients), "--k", "3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "24 images, 6 groups" in res.output
    res = runner.invoke(bench, ["cv-folds", "--data", str(patients), "--k", "3", "--seed", "4", "--out", str(out)])
    assert res.exit_code != 0 and "another assignment" in res.output
    res = runner.invoke(bench, ["cv-folds", "--data", str(patients), "--k", "9", "--out", str(tmp_path / "g.csv")])
    assert res.exit_code != 0 and "6 groups cannot fill 9 folds" in res.output
    cfg.write_text(cfg.read_text().replace("baseline: base", "baseline: nope"))
    res = runner.invoke(bench, ["cv", str(cfg)])
    assert res.exit_code != 0 and "no point 'nope'" in res.output


def test_final_fit_trains_the_chosen_point_on_every_image_and_converts_it_as_the_folds(
    patients: Path, tmp_path: Path
) -> None:
    """``munet-bench cv CONFIG --final POINT``: all 24 images train (none held out), the last epoch is converted
    with the config's ship settings, and a second call with --reuse trains nothing."""
    pytest.importorskip("tensorflow")
    from munet.edge.metadata import read_model_info

    folds = data.write_folds(tmp_path / "folds.csv", data.make_folds(find_pairs(patients), k=2))
    config = _config(tmp_path, patients, folds)
    runs = tmp_path / "runs"
    res = CliRunner().invoke(bench, ["cv", str(config), "--final", "base", "--runs-dir", str(runs)])
    assert res.exit_code == 0, res.output
    model = runs / "base" / "final" / "model_int8.tflite"
    assert f"final fit of base: {model}" in res.output and read_model_info(model).quantization == "int8"
    card = (runs / "base" / "final" / "MODEL_CARD.md").read_text()
    assert "(24 images)" in card and "FINAL FIT on all 24 images" in card and "TRAINING images" in card
    again = CliRunner().invoke(bench, ["cv", str(config), "--final", "base", "--runs-dir", str(runs), "--reuse"])
    assert again.exit_code == 0 and "reusing the finished run" in again.output, again.output
    res = CliRunner().invoke(bench, ["cv", str(config), "--final", "nope", "--runs-dir", str(runs)])
    assert res.exit_code != 0 and "no point 'nope'" in res.output and "Traceback" not in res.output


def test_a_lever_on_fewer_folds_than_the_fold_file_gets_no_verdict_yet() -> None:
    from munet.benchmarks.experiment import Point, Row

    cfg = cv.CVConfig("t", Path("f.csv"), [], [Point("base"), Point("lever")], "base")
    rows = {
        (p, f): Row(point=p, fold=f, scores={"dice": d}, train_s=1.0, size_bytes=1)
        for p, f, d in [("base", 0, 0.80), ("base", 1, 0.82), ("lever", 0, 0.85), ("lever", 1, 0.86)]
    }
    diff = cv.summarise(cfg, rows, k=5)[1]["vs_baseline"]["dice"]
    assert diff["verdict"] == "no verdict yet (2 of 5 folds)" and abs(diff["mean"] - 0.045) < 1e-9
    assert cv.summarise(cfg, rows, k=2)[1]["vs_baseline"]["dice"]["verdict"] == "gain"


def test_a_point_with_compare_is_paired_with_that_point_as_well_as_with_the_baseline(tmp_path: Path) -> None:
    """``compare: untaught``: the report pairs the point with ``untaught`` fold by fold (named in the table), besides
    the baseline; ``compare`` is no training setting, so it does not enter the fold row's overrides."""
    from munet.benchmarks.experiment import Point, Row

    points = [Point("base"), Point("untaught", {"epochs": 2}), Point("taught", {"epochs": 2, "compare": "untaught"})]
    cfg = cv.CVConfig("t", Path("f.csv"), [], points, "base")
    scores = {"base": (0.80, 0.82, 0.81), "untaught": (0.84, 0.83, 0.85), "taught": (0.85, 0.85, 0.855)}
    rows = {
        (p, f): Row(point=p, fold=f, scores={"dice": d}, train_s=1.0, size_bytes=1)
        for p, ds in scores.items()
        for f, d in enumerate(ds)
    }
    result = cv.write_results(cfg, tmp_path, rows, 3)
    summary = {s["point"]: s for s in result["summary"]}
    ref = summary["taught"]["vs_ref"]
    diffs = np.subtract(scores["taught"], scores["untaught"])
    assert ref["point"] == "untaught" and ref["folds"] == 3
    assert ref["mean"] == pytest.approx(diffs.mean()) and ref["se"] == pytest.approx(diffs.std(ddof=1) / np.sqrt(3))
    vs_base = np.subtract(scores["taught"], scores["base"]).mean()
    assert summary["taught"]["vs_baseline"]["dice"]["mean"] == pytest.approx(vs_base)  # the baseline pairing stays
    assert "vs_ref" not in summary["untaught"] and "vs_ref" not in summary["base"]
    # a point on fewer folds than the fold file gets no verdict against its reference either
    partial = cv.summarise(cfg, {key: r for key, r in rows.items() if key != ("taught", 2)}, k=3)
    assert partial[2]["vs_ref"]["verdict"] == "no verdict yet (2 of 3 folds)"
    readme = (tmp_path / "README.md").read_text()
    assert "Δ dice vs its reference (pts)" in readme and "`taught` with `untaught`" in readme
    assert ref["verdict"] == "gain" and "| +1.17 ± 0.44 (gain) vs `untaught` |" in readme  # 1.17 > 2 x 0.44


def test_a_point_scoring_another_points_models_trains_nothing_and_is_paired_with_them(
    patients: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``models: base`` + ``tta``: base's fold model, scored with flips; + ``ship``: base's training converted
    again (here with the threshold folded in); + ``postproc``: base's masks cleaned. Each is paired with base's
    scores as well as with the baseline."""
    pytest.importorskip("tensorflow")
    from munet.benchmarks import experiment
    from munet.data import load_pairs
    from munet.edge.evaluate import SegmenterPredictor, run_predictor
    from munet.edge.metadata import read_model_info

    extra = [
        {"name": "flips", "models": "base", "tta": "flips"},
        {"name": "thr", "models": "base", "ship": {"calibrate_threshold": True}},
        {"name": "clean", "models": "base", "postproc": {"keep_largest": True, "fill_holes": True}},
    ]
    folds = data.write_folds(tmp_path / "folds.csv", data.make_folds(find_pairs(patients), k=2))
    cfg = cv_config(load_sweep(_config(tmp_path, patients, folds, extra)))
    trained: list[str] = []
    real_train = experiment.train_point
    monkeypatch.setattr(
        experiment, "train_point", lambda p, s, r, resume=False: trained.append(r.name) or real_train(p, s, r, resume)
    )
    out, runs = tmp_path / "results", tmp_path / "runs"
    # a derived point first: base's fold is trained on its behalf, then taken as it is (even without --reuse)
    cv.run_cv(cfg, out, runs, only_points=["flips"], only_folds=[0], echo=lambda _m: None)
    result = cv.run_cv(
        cfg, out, runs, only_points=["thr", "clean", "base"], only_folds=[0], reuse=True, echo=lambda _m: None
    )
    assert trained == ["fold0"]
    assert not (runs / "flips" / "fold0" / "model_int8.tflite").exists()  # base's file, scored with flips
    assert read_model_info(runs / "thr" / "fold0" / "model_int8.tflite").folded_threshold > 0
    assert read_model_info(runs / "base" / "fold0" / "model_int8.tflite").folded_threshold == 0.5
    rows = {r["point"]: r for r in result["rows"]}
    assert rows["flips"]["epochs"] == rows["base"]["epochs"] == 1 and not rows["flips"].get("val_curve")
    assert rows["flips"].get("train_s", 0.0) == 0.0 < rows["base"]["train_s"]  # it trained nothing of its own
    assert rows["flips"]["scores"] != rows["base"]["scores"]  # four passes averaged: other probabilities
    summary = {s["point"]: s for s in result["summary"]}
    head = "patient_dice"
    diff = rows["flips"]["scores"][head] - rows["base"]["scores"][head]
    assert summary["flips"]["vs_ref"]["mean"] == pytest.approx(diff) and summary["flips"]["vs_ref"]["point"] == "base"
    assert summary["flips"]["vs_baseline"][head]["mean"] == pytest.approx(diff)  # base is the baseline here
    assert "vs_ref" not in summary["base"]
    readme = (out / "README.md").read_text()
    assert "Δ patient_dice vs its reference (pts)" in readme and "`flips` = `base`'s models, tta flips" in readme
    assert "`clean` = `base`'s models, postproc {'fill_holes': True, 'keep_largest': True}" in readme
    # postproc: base's own file (not converted again), each mask cleaned as munet-run --keep-largest --fill-holes
    assert not (runs / "clean" / "fold0" / "model_int8.tflite").exists()
    samples = load_pairs(runs / "_data" / "fold0" / "val")
    groups = {i.name: i.group for i in data.read_folds(folds)}
    model = runs / "base" / "fold0" / "model_int8.tflite"
    for flags, point in [({}, "base"), ({"keep_largest": True, "fill_holes": True}, "clean")]:
        preds = run_predictor(SegmenterPredictor(model, **flags), [s.image for s in samples])
        want = cv.fold_scores(
            preds, [s.truth for s in samples], [s.name for s in samples], [groups[s.name] for s in samples]
        )
        assert rows[point]["scores"] == pytest.approx(want), point
    # `compare` is no training setting: base's scored row is reused as it is once base names a point to pair with
    cfg.point("base").overrides["compare"] = "flips"
    again = cv.run_cv(cfg, out, runs, only_points=["base"], only_folds=[0], reuse=True, echo=lambda _m: None)
    assert trained == ["fold0"] and {s["point"]: s for s in again["summary"]}["base"]["vs_ref"]["point"] == "flips"


@pytest.mark.slow
def test_a_distilled_point_learns_from_its_teachers_model_of_the_same_fold(
    patients: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``teacher: [base]``: fold k's student trains on soft targets of base's fold-k model (trained first, on the
    same images, so it never saw fold k's held-out images); with --reuse nothing trains again."""
    pytest.importorskip("tensorflow")
    import yaml

    from munet.benchmarks import experiment

    tiny = {"alpha": TINY_ALPHA, "size": list(TINY_SIZE), "encoder_weights": "none", "epochs": 1, "batch": 4}
    extra = [{"name": "student", "teacher": ["base"], "teacher_weight": 0.5, "steps_per_epoch": 2, **tiny}]
    folds = data.write_folds(tmp_path / "folds.csv", data.make_folds(find_pairs(patients), k=2))
    cfg = cv_config(load_sweep(_config(tmp_path, patients, folds, extra)))
    trained: list[str] = []
    real_train = experiment.train_point
    monkeypatch.setattr(
        experiment,
        "train_point",
        lambda p, s, r, resume=False: trained.append(r.parent.name) or real_train(p, s, r, resume),
    )
    out, runs = tmp_path / "results", tmp_path / "runs"
    result = cv.run_cv(cfg, out, runs, only_points=["student"], only_folds=[1], echo=lambda _m: None)
    assert trained == ["base", "student"]
    saved = yaml.safe_load((runs / "student" / "fold1" / "config.yaml").read_text())
    assert saved["teacher"] == [str(runs / "base" / "fold1" / "last.keras")] and saved["teacher_weight"] == 0.5
    assert [r["point"] for r in result["rows"]] == ["student"]
    cv.run_cv(cfg, out, runs, only_points=["student", "base"], only_folds=[1], reuse=True, echo=lambda _m: None)
    assert trained == ["base", "student"]  # the teacher's fold is taken as it is, the student's row reused


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"name": "x", "models": "nope"}, "point x: models: 'nope' is no training point"),
        ({"name": "x", "models": "base", "epochs": 3}, "point x scores base's models and trains nothing: drop epochs"),
        ({"name": "x", "models": "base", "tta": "spin"}, "point x: tta 'spin': choose one of"),
        ({"name": "x", "ship": {"gate": True}}, "point x: unknown ship key(s) gate"),
        ({"name": "x", "models": "base", "postproc": {"largest": True}}, "point x: unknown postproc key(s) largest"),
        ({"name": "x", "teacher": ["nope"]}, "point x: teacher 'nope' is no other training point of this file"),
        ({"name": "x", "teacher": "x"}, "point x: teacher 'x' is no other training point of this file"),
        ({"name": "x", "compare": "nope"}, "point x: compare 'nope' is no other point of this file"),
        ({"name": "x", "compare": "x"}, "point x: compare 'x' is no other point of this file"),
        ({"name": "x", "models": "base", "compare": "base"}, "point x scores base's models and is paired with them"),
    ],
)
def test_a_bad_derived_point_is_one_line(patients: Path, tmp_path: Path, extra: dict, message: str) -> None:
    folds = data.write_folds(tmp_path / "folds.csv", data.make_folds(find_pairs(patients), k=2))
    with pytest.raises(InputError, match=message.replace("(", "\\(").replace(")", "\\)")):
        cv_config(load_sweep(_config(tmp_path, patients, folds, [extra])))
