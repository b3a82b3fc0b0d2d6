"""The generated result blocks (README and study READMEs) come from results JSON files, between markers,
idempotently."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from munet.benchmarks.accuracy import evaluate_accuracy
from munet.benchmarks.cli import main
from munet.benchmarks.latency import benchmark_latency
from munet.benchmarks.readme_table import END, START, render_table, update_readme
from munet.errors import InputError

REPO = Path(__file__).resolve().parents[2]

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
    benchmark_latency(models[1:], threads="1", runs=3, warmup=1, out=results / "check", measure_peak=False)
    assert "| check |" not in render_table(results)  # a latency-only folder (a methodology check) is not a result set
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


def _compare_doc() -> dict:
    metrics = {"dice": 0.8123, "iou": 0.7, "miou": 0.8, "precision": 0.9, "recall": 0.75}
    ok = {
        "arch": "unet",
        "label": "U-Net",
        "imagenet": False,
        "params": 31_054_145,
        "macs": 3_010_000_000,
        "macs_256": 48_200_000_000,
        "float32": metrics,
        "int8": {**metrics, "dice": 0.8001},
        "int8_dice_drop": 0.0122,
        "float_ms": 40.25,
        "int8_ms": 11.5,
        "learned": True,
    }
    failed = {"arch": "fcn", "label": "FCNet", "error": "out of memory", "learned": False}
    return {
        "name": "isic",
        "n_train": 400,
        "n_val": 200,
        "budget": {"size": [64, 64], "epochs": 4},
        "budget_text": "64x64 inputs, 4 epochs",
        "trivial": {"all-empty": 0.0, "all-full": 0.25},
        "latency_method": "interleaved: 1 row(s) timed round-robin",
        "provenance": {"command": "munet-bench compare --name isic", "date": "2026-11-25T00:00:00", "machine": {}},
        "models": [ok, failed],
    }


def test_compare_and_pareto_blocks_are_generated_where_their_markers_are(tmp_path: Path) -> None:
    from munet.benchmarks.readme_table import markers

    (COMPARE_START, COMPARE_END), (PARETO_START, PARETO_END) = markers("compare"), markers("pareto")

    results = tmp_path / "results"
    (results / "pareto").mkdir(parents=True)
    (results / "compare_isic.json").write_text(json.dumps(_compare_doc()))
    point = {"name": "a0.35_128x128", "alpha": 0.35, "size": [128, 128], "init": "scratch", "epochs": 4}
    point |= {"gmacs": 0.21, "size_mb": 0.61, "dice_float": 0.71, "dice_int8": 0.7051, "agreement_dice": 0.97}
    point |= {"latency_ms": 4.26, "latency_ms_1t": 5.1, "latency_ms_2t": 4.26, "on_front": True}
    pareto = {"command": "munet-bench pareto X", "date": "2026-11-25", "threads": 2, "points": [point]}
    pareto["latency_method"] = "interleaved: all 1 int8 models round-robin"
    (results / "pareto" / "pareto.json").write_text(json.dumps(pareto))
    readme = tmp_path / "README.md"
    readme.write_text(README + f"{COMPARE_START}\nold\n{COMPARE_END}\n{PARETO_START}\nold\n{PARETO_END}\n")
    assert update_readme(readme, results) is True
    text = readme.read_text()
    assert "\nold\n" not in text
    compare = text[text.index(COMPARE_START) : text.index(COMPARE_END)]
    assert "| U-Net | scratch | 31.05 | 3.01 | 48.20 | 0.8123 | yes |" in compare
    assert "| FCNet | failed: out of memory | – | – | – | – | **no** (failed) |" in compare
    assert "- Learned: float32 per-image Dice at least 0.20 above both trivial predictions" in compare
    assert "| 0.8001 | 0.0122 | 40.2 | 11.5 | – |" in compare  # int8 Dice, drop, float32 and int8 ms, train s
    assert "64x64 inputs, 4 epochs" in compare and "`munet-bench compare --name isic`" in compare
    assert "latency timed interleaved: 1 row(s) timed round-robin" in compare
    assert "the paper's own values are in `compare_isic.md`" in compare
    block = text[text.index(PARETO_START) : text.index(PARETO_END)]
    row = "| a0.35_128x128 | 128×128 | scratch | 4 | – | 0.210 | 0.61 | 0.7100 | 0.7051 | 0.9700 | 5.10 | 4.26 |"
    assert row + " yes |" in block and "| α |" not in block  # alpha only where the points differ in it
    assert "params (M)" not in block  # not recorded by these points: no column of dashes
    assert "int8 ms: end-to-end median, interleaved: all 1 int8 models round-robin" in block
    assert update_readme(readme, results) is False  # idempotent


def test_compare_block_says_which_rows_learned_and_the_trivial_dice(tmp_path: Path) -> None:
    from munet.benchmarks.readme_table import render_compare

    doc = _compare_doc()
    doc["trivial"] = {"all-empty": 0.66364, "all-full": 0.01318}
    ok, failed = doc["models"]
    doc["models"] = [ok | {"learned": True}, ok | {"label": "SegNet", "learned": False}, failed | {"learned": False}]
    (tmp_path / "compare_isic.json").write_text(json.dumps(doc))
    text = render_compare(tmp_path)
    assert "| U-Net | scratch | 31.05 | 3.01 | 48.20 | 0.8123 | yes | 0.7000 |" in text
    assert "| SegNet | scratch | 31.05 | 3.01 | 48.20 | 0.8123 | **no** (short) | 0.7000 |" in text
    assert "| FCNet | failed: out of memory | – | – | – | – | **no** (failed) | – |" in text
    assert "- Learned: float32 per-image Dice at least 0.20 above both trivial predictions" in text
    assert "(all-empty 0.6636, all-full 0.0132;" in text


def test_compare_block_splits_tumour_slices_from_empty_ones_where_the_set_has_both(tmp_path: Path) -> None:
    """Brain MRI: per-image Dice counts an empty slice predicted empty as 1, so the block adds the Dice on lesion
    images and the share of lesion-free images given a false lesion; a set without lesion-free images does not."""
    from munet.benchmarks.readme_table import render_compare

    doc = _compare_doc()
    ok, failed = doc["models"]
    split = {"lesion_images": 37, "lesion_free_images": 73, "dice_lesion_images": 0.6221, "false_positive_share": 0.0}
    doc["models"] = [ok | {"lesion_split": split}, ok | {"label": "SegNet"}, failed]
    (tmp_path / "compare_brain.json").write_text(json.dumps(doc))
    text = render_compare(tmp_path)
    assert "| Dice | learned | Dice, lesion images | false lesions | IoU |" in text
    assert "| U-Net | scratch | 31.05 | 3.01 | 48.20 | 0.8123 | yes | 0.6221 | 0.0 % | 0.7000 |" in text
    assert "| SegNet | scratch | 31.05 | 3.01 | 48.20 | 0.8123 | yes | – | – | 0.7000 |" in text  # not recorded
    assert "- Dice, lesion images: per-image Dice over the validation images with a lesion only" in text
    failed_row = next(line for line in text.splitlines() if line.startswith("| FCNet"))
    assert failed_row.count("|") == text.splitlines()[2].count("|")  # as many cells as the header
    doc["models"] = [ok | {"lesion_split": split | {"lesion_free_images": 0}}]
    (tmp_path / "compare_brain.json").write_text(json.dumps(doc))
    assert "lesion images" not in render_compare(tmp_path)


def test_optional_blocks_say_what_to_run_when_results_are_missing(tmp_path: Path) -> None:
    from munet.benchmarks.readme_table import render_compare, render_pareto

    assert "munet-bench compare" in render_compare(tmp_path)
    assert "munet-bench pareto" in render_pareto(tmp_path)


def test_cv_block_shows_each_point_over_its_folds_and_the_paired_verdict(tmp_path: Path) -> None:
    """The cross-validation block: mean ± sd over the folds there are ("2 of 5" while a sweep runs), the sizes of
    the fold file (patients where folds are grouped), and a lever's paired difference with the sweep's verdict."""
    from munet.benchmarks.readme_table import render_cv

    folds = tmp_path / "brain.csv"
    folds.write_text("name,group,fold\n" + "".join(f"p{i // 3}_{i},p{i // 3},{i // 3 % 5}\n" for i in range(30)))
    stat = {"folds": 2, "mean": 0.8123, "sd": 0.0411}
    fp = {"folds": 2, "mean": 0.015, "sd": 0.001}
    summary = [
        {"point": "edge", "folds": [0, 1], "metrics": {"patient_dice": stat, "false_positive_share": fp}},
        {
            "point": "lesion_share",
            "folds": [0, 1],
            "metrics": {"patient_dice": stat | {"mean": 0.83}, "false_positive_share": fp},
            "vs_baseline": {"patient_dice": {"folds": 2, "mean": 0.0177, "se": 0.004, "verdict": "gain"}},
        },
    ]
    rows = [{"point": "edge", "fold": 0, "scores": {"images": 6, "patient_dice": 0.8, "false_positive_share": 0.01}}]
    config = {"k": 5, "baseline": "edge", "headline": "patient_dice", "folds": str(folds)}
    (tmp_path / "cv-brain").mkdir()
    (tmp_path / "cv-brain" / "cv.json").write_text(json.dumps({"config": config, "summary": summary, "rows": rows}))
    block = render_cv(tmp_path)
    assert "**LGG brain MRI** (30 images, 10 patients in 5 folds" in block
    assert "| `edge` | 2 of 5 | 0.812 ± 0.041 | 1.5 ± 0.1 % | baseline |" in block
    assert "| `lesion_share` | 2 of 5 | 0.830 ± 0.041 | 1.5 ± 0.1 % | +1.77 ± 0.40 (gain) |" in block
    assert "per-patient volume Dice vs `edge` (points) |" in block
    assert "ISIC" not in block and "munet-bench cv" in render_cv(tmp_path / "none")


def test_models_block_lists_every_bundled_file_with_its_size_and_card() -> None:
    from munet.benchmarks.readme_table import render_models

    block = render_models(REPO / "benchmarks" / "results")
    for name in ("skin", "brain"):
        size = (REPO / "edge" / "models" / f"{name}.tflite").stat().st_size / 1e6
        assert f"| `{name}` | {size:.2f} | 128x128 |" in block and f"[{name}.md](edge/models/{name}.md)" in block


def test_committed_readme_matches_the_committed_results() -> None:
    """No hand-edited number: every generated block of README.md and of the study READMEs under benchmarks/results/
    is exactly what `munet-bench readme-table` renders, and every block stands in one of them."""
    from munet.benchmarks.readme_table import BLOCKS, markers, update_all

    changed = update_all(REPO / "README.md", REPO / "benchmarks" / "results", check=True)
    stale = [path.relative_to(REPO).as_posix() for path, was in changed.items() if was]
    assert not stale, f"{stale} out of date with benchmarks/results/: run `munet-bench readme-table`"
    texts = {path.relative_to(REPO).as_posix(): path.read_text() for path in changed}
    homes = {start: [name for name, text in texts.items() if start in text] for start, _ in map(markers, BLOCKS)}
    assert all(len(files) == 1 for files in homes.values()), homes  # each block in exactly one file
    assert homes["<!-- models:start -->"] == homes["<!-- cv:start -->"] == ["README.md"]
    assert homes[START] == ["benchmarks/results/README.md"]


def test_the_readme_points_to_every_study_readme() -> None:
    """The moved sections stay one link away from the README's results summary."""
    readme = (REPO / "README.md").read_text()
    summary = readme.split("## Results summary", 1)[1].split("\n## ", 1)[0]
    for study in ("results/README.md", "compare/README.md", "pareto/README.md", "decoders/README.md", "recipe/README"):
        assert study in summary, study
    for target in re.findall(r"\]\(((?:benchmarks|docs)/[^)#]+)", readme):
        assert (REPO / target).exists(), target  # no dead relative link


def _study_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A results root with a comparison, a README holding the results table and a study README holding the
    comparison block (the layout of the repository: blocks live in whichever file holds their markers)."""
    from munet.benchmarks import readme_table as rt

    results = tmp_path / "results"
    (results / "compare").mkdir(parents=True)
    (results / "compare_isic.json").write_text(json.dumps(_compare_doc()))
    readme = tmp_path / "README.md"
    readme.write_text(README + "".join(f"{s}\nold\n{e}\n" for s, e in map(rt.markers, ("cv", "models"))))
    study = results / "compare" / "README.md"
    study.write_text("# Compare\n\n{}\nold\n{}\n\nText.\n".format(*rt.markers("compare")))
    rest = results / "pareto" / "README.md"
    (results / "pareto").mkdir()
    blocks = "".join(f"{s}\nold\n{e}\n" for s, e in map(rt.markers, ("pareto", "decoders", "recipe")))
    rest.write_text(blocks)
    (results / "notes").mkdir()
    (results / "notes" / "README.md").write_text("# no markers: not a generated file\n")
    return readme, study, rest


def test_each_block_is_written_into_the_file_that_holds_its_markers(tmp_path: Path) -> None:
    from munet.benchmarks.readme_table import markers, update_all

    COMPARE_START, COMPARE_END = markers("compare")

    readme, study, rest = _study_files(tmp_path)
    results = tmp_path / "results"
    changed = update_all(readme, results)
    assert list(changed) == [readme, study, rest]  # a README.md without markers is left alone
    assert changed == {readme: True, study: True, rest: True}
    text = study.read_text()
    block = text[text.index(COMPARE_START) : text.index(COMPARE_END)]
    assert "| U-Net | scratch | 31.05 | 3.01 | 48.20 | 0.8123 |" in block and text.endswith("\n\nText.\n")
    assert COMPARE_START not in readme.read_text() and "\nold\n" not in readme.read_text()
    assert update_all(readme, results, check=True) == {readme: False, study: False, rest: False}  # idempotent
    # a stale block in a study README is caught by --check, which writes nothing
    study.write_text(text.replace("0.8123", "0.9999"))
    assert update_all(readme, results, check=True)[study] is True
    assert "0.9999" in study.read_text()
    res = CliRunner().invoke(main, ["readme-table", "--readme", str(readme), "--results", str(results), "--check"])
    assert res.exit_code != 0 and "compare/README.md" in res.output and "run munet-bench readme-table" in res.output
    res = CliRunner().invoke(main, ["readme-table", "--readme", str(readme), "--results", str(results)])
    assert res.exit_code == 0 and "compare/README.md: updated" in res.output and "0.9999" not in study.read_text()


def test_a_block_whose_markers_are_in_no_file_is_an_error(tmp_path: Path) -> None:
    from munet.benchmarks.readme_table import markers, update_all

    COMPARE_START = markers("compare")[0]

    readme, study, _ = _study_files(tmp_path)
    study.write_text("# Compare\n\nthe markers were lost in a move\n")
    with pytest.raises(InputError, match=f"markers {COMPARE_START}"):
        update_all(readme, tmp_path / "results", check=True)
    res = CliRunner().invoke(main, ["readme-table", "--readme", str(readme), "--results", str(tmp_path / "results")])
    assert res.exit_code != 0 and "not found" in res.output and "Traceback" not in res.output


def test_decoder_block_shows_speedups_against_the_paper_decoder(tmp_path: Path) -> None:
    import json

    from munet.benchmarks.readme_table import render_decoders

    assert "No committed decoder sweep" in render_decoders(tmp_path)
    root = tmp_path / "pareto" / "decoders"
    root.mkdir(parents=True)

    def point(name, decoder, ms1, ms2):
        return {
            "name": name, "size": [128, 128], "decoder": decoder, "params": 2e6, "gmacs": 0.14, "size_mb": 2.4,
            "dice_float": 0.86, "dice_int8": 0.85, "agreement_dice": 0.97, "latency_ms_1t": ms1, "latency_ms_2t": ms2,
        }  # fmt: skip

    paper = {"decoder_upsample": "transpose", "decoder_filters": [512, 256, 128, 64]}
    edge = {"decoder_upsample": "nearest", "decoder_conv": "separable", "decoder_filters": [96, 64, 48, 32]}
    doc = {"points": [point("paper", paper, 4.0, 3.0), point("edge", edge, 1.0, 1.5)], "command": "munet-bench x"}
    (root / "pareto.json").write_text(json.dumps(doc))
    text = render_decoders(tmp_path)
    assert "| edge | 128×128 | nearest + separable 96/64/48/32" in text
    assert "4.00 / 2.00" in text and "1.00 / 1.00" in text  # the paper row is its own reference


def test_recipe_block_judges_each_lever_against_the_baseline_seed_range(tmp_path: Path) -> None:
    from munet.benchmarks.readme_table import render_recipe

    assert "No committed recipe study" in render_recipe(tmp_path)
    root = tmp_path / "recipe"
    root.mkdir()

    def point(name, dice, **overrides):
        return {
            "name": name, "overrides": {"preset": "edge", **overrides}, "epochs": 8, "seconds": 600.0,
            "dice_float": dice + 0.002, "dice_int8": dice, "agreement_dice": 0.97,
        }  # fmt: skip

    points = [
        point("edge", 0.860),
        point("edge-seed1", 0.866, seed=1),
        point("ema", 0.872, ema=0.99),  # above every seed: a gain
        point("bce", 0.863, loss="focal-tversky+bce"),  # inside the seed range: not resolved
        point("scale", 0.850, augment={"rotation_deg": 20.0, "scale": 0.2}),
        point("ema+bce", 0.869, ema=0.99, loss="focal-tversky+bce"),  # round 2: judged against `ema` alone
        point("ema-seed1", 0.868, ema=0.99, seed=1),
    ]
    (root / "pareto.json").write_text(
        json.dumps({"points": points, "command": "munet-bench sweep benchmarks/configs/recipe.yaml"})
    )
    text = render_recipe(tmp_path)
    lines = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert "| baseline | 0 | 8 | 10.0 |" in lines["edge"] and "| baseline | 1 |" in lines["edge-seed1"]
    assert "ema: 0.99" in lines["ema"] and "+0.0090 | higher |" in lines["ema"]
    assert lines["bce"].endswith("+0.0000 | no |")
    assert "augment: rotation_deg=20.0, scale=0.2" in lines["scale"] and lines["scale"].endswith("| lower |")
    assert "edge 0.8630 (range 0.8600–0.8660, 2 seeds)" in text and "configs/recipe.yaml" in text
    assert "| ema+bce | ema | loss: focal-tversky+bce |" in lines["ema+bce"]  # ema is not a lever against ema
    assert lines["ema+bce"].endswith("-0.0010 | no |") and "ema 0.8700 (range 0.8680–0.8720, 2 seeds)" in text
    assert "levers over their seeds (int8 mean, Δ vs its baseline mean): ema 0.8700 (2 seeds, +0.0070)\n" in text


def test_recipe_block_shows_lesion_free_images_for_brain(tmp_path: Path) -> None:
    from munet.benchmarks.readme_table import render_recipe

    root = tmp_path / "recipe-brain"
    root.mkdir()
    point = {"overrides": {"preset": "edge"}, "epochs": 15, "seconds": 60.0, "dice_float": 0.91, "agreement_dice": 0.98}
    points = [
        {**point, "name": "edge", "dice_int8": 0.90, "dice_lesion_int8": 0.75, "fp_share_int8": 0.0137},
        {**point, "name": "enc", "dice_int8": 0.92, "dice_lesion_int8": 0.80, "fp_share_int8": None},
    ]
    points[1]["overrides"] = {"preset": "edge", "encoder_lr_mult": 0.1}
    (root / "pareto.json").write_text(json.dumps({"points": points}))
    text = render_recipe(tmp_path)
    assert text.startswith("**LGG brain MRI**") and "ISIC" not in text  # only the sets that exist
    assert "| Dice int8, lesion images | lesion-free with a false lesion |" in text
    assert "| 0.7500 | 1.4 % |" in text and "| 0.8000 | – | +0.0200 | higher |" in text


def test_the_shipped_model_files_are_the_ones_their_latency_pass_timed() -> None:
    """edge/models/<name>.tflite has the byte size of the file the latency pass of the shipped files timed
    (``bundled``): a model replaced without rerunning that pass (or the reverse) fails here."""
    index = json.loads((REPO / "edge" / "models" / "index.json").read_text())["models"]
    timed = json.loads((REPO / "benchmarks" / "results" / "bundled" / "latency.json").read_text())["variants"]
    for name, entry in index.items():
        shipped = (REPO / "edge" / "models" / entry["file"]).stat().st_size
        assert timed[name]["size_bytes"] == shipped, name


def test_model_cards_quote_the_numbers_of_their_result_folders() -> None:
    """Each bundled card states the cross-validated estimate of its recipe as the results measured it (3 decimals;
    the files are final fits: no validation set is left). A retrained model with a stale card fails here."""
    from munet.benchmarks.readme_table import EVIDENCE, LABELS

    for name, (folder, recipe) in EVIDENCE.items():  # the CV point that is the shipped recipe
        doc = json.loads((REPO / "benchmarks" / "results" / folder / "cv.json").read_text())
        metric = doc["config"]["headline"]
        stat = next(p for p in doc["summary"] if p["point"] == recipe)["metrics"][metric]
        card = " ".join((REPO / "edge" / "models" / f"{name}.md").read_text().replace("**", "").split())
        assert f"{LABELS[metric]} {stat['mean']:.3f} ± {stat['sd']:.3f}" in card, name


def test_timing_note_states_the_machine_and_why_a_pass_was_busy() -> None:
    from munet.benchmarks.render import timing_note

    assert timing_note({}) == ""  # results from before the load was recorded: nothing claimed
    quiet = {"load": {"cores": 2, "load_before": [0.3, 0, 0], "load_after": [0.4, 0, 0], "steal_pct": 0.0}}
    expected = "; machine during the pass: load average 0.30 -> 0.40 (1 min), CPU steal 0.0 %, 2 cores"
    assert timing_note(quiet) == expected
    busy = {
        "load": {**quiet["load"], "steal_pct": 19.3, "settled_s": 15.0},
        "busy": ["a.tflite@2: p90/median 1.55 > 1.5", "b.tflite@2: p90/median 2.29 > 1.5", "CPU steal 19.3 % > 5 %"],
    }
    note = timing_note(busy)
    assert "after 15 s waiting for the load to settle" in note and "CPU steal 19.3 %" in note
    assert "**busy** (CPU steal 19.3 % > 5 %; 2 timed variant(s) with p90/median > 1.5)" in note
    assert "a.tflite" not in note  # the variants are listed in the result's own Markdown, not the README
