"""Float Keras vs. TFLite variants: segmentation metrics, agreement with float, worst images, overlay grid.

Every model is scored by the one evaluator (:mod:`munet.edge.evaluate`) on the same pairs, masks compared at the
ORIGINAL image size: Keras through :class:`munet.train.predictor.KerasPredictor` (the edge's pre/post-processing,
threshold 0.5), TFLite through :class:`munet.edge.evaluate.SegmenterPredictor` with the post-processing its metadata
names (``min_area``). Metrics: the paper's six plus two-class mean IoU and ISIC 2018 thresholded Jaccard, per image
and pixel-pooled. With ``tta`` (:mod:`munet.edge.tta`) each TFLite variant also runs with test-time flips,
interleaved image by image for fair timing: Dice and ms both ways, and how well the per-image uncertainty finds bad
images (Dice < :data:`BAD_DICE`): rank AUROC and the bad share among the :data:`TOP_SHARE` most uncertain.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from munet.atomic import write_json
from munet.benchmarks import records
from munet.benchmarks.render import render
from munet.data import LoadedPair, load_pairs
from munet.device import provenance
from munet.edge.evaluate import Evaluation, Prediction, SegmenterPredictor, evaluate, run_predictor
from munet.edge.metrics import REDUCTIONS, auroc, top_share
from munet.edge.runtime import Segmenter
from munet.edge.tta import check_tta
from munet.errors import InputError
from munet.progress import Stages

FLOAT_NAME = "keras-float"
#: An image whose per-image Dice (with test-time flips) is below this counts as "bad" for the uncertainty check.
BAD_DICE = 0.7
#: The uncertainty check reports the share of bad images among this fraction of most uncertain images.
TOP_SHARE = 0.1


def tta_run(
    seg: Segmenter, images: Sequence[np.ndarray], truths: Sequence[np.ndarray], names: Sequence[str], tta: str
) -> tuple[list[Prediction], dict[str, Any]]:
    """``seg`` and a Segmenter of the same file with test-time flips, run image by image in turn for fair timing
    (end-to-end ``segment`` ms, after one untimed warm-up call each): the plain predictions and the ``tta`` entry
    (see the module docstring; ``frame_spread_auroc`` scores the cruder mean spread over the whole frame)."""
    segs = (seg, Segmenter(seg.model_path, threads=seg.threads, backend=seg.backend_name, tta=tta))
    if images:  # warm-up: the first call of an interpreter is slow
        for seg in segs:
            seg.segment(images[0])
    results: tuple[list[Any], list[Any]] = ([], [])
    ms: tuple[list[float], list[float]] = ([], [])
    for image in images:
        for seg, out, times in zip(segs, results, ms, strict=True):
            t0 = time.perf_counter()
            out.append(seg.segment(image))
            times.append((time.perf_counter() - t0) * 1e3)
    plain, flipped = results
    preds = [Prediction(mask=r.mask, prob=r.prob) for r in plain]
    before, after = evaluate(preds, truths).per_image, evaluate([r.mask for r in flipped], truths).scores
    dices = [c["dice"] for c in after["cases"]]
    bad = np.array([d < BAD_DICE for d in dices], bool)
    unc = np.array([r.uncertainty for r in flipped], np.float64)
    top, k = top_share(unc, bad, TOP_SHARE)
    entry = {
        "tta": tta,
        "passes": segs[1].passes,
        "per-image": after["per-image"],
        "pixel": after["pixel"],
        "dice": after["per-image"]["dice"],
        "dice_plain": before["dice"],
        "dice_gain": after["per-image"]["dice"] - before["dice"],
        "iou": after["per-image"]["iou"],
        "iou_plain": before["iou"],
        "ms_per_image": float(np.median(ms[1])),
        "ms_per_image_plain": float(np.median(ms[0])),
        "bad_dice": BAD_DICE,
        "bad_images": int(bad.sum()),
        "uncertainty_auroc": auroc(unc, bad),
        "frame_spread_auroc": auroc([float(r.spread.mean()) for r in flipped], bad),
        "top_share": TOP_SHARE,
        "top_images": k,
        "bad_share_in_top": top,
        "bad_share_overall": float(bad.mean()) if bad.size else None,
        "mean_uncertainty_bad": float(unc[bad].mean()) if bad.any() else None,
        "mean_uncertainty_good": float(unc[~bad].mean()) if not bad.all() else None,
        "most_uncertain": [
            {"image": names[i], "uncertainty": float(unc[i]), "dice": dices[i]}
            for i in np.argsort(-unc, kind="stable")[:k]
        ],
    }
    return preds, entry


def evaluate_accuracy(
    keras_model: str | os.PathLike[str] | None,
    tflite_models: Sequence[str | os.PathLike[str]],
    data: str | os.PathLike[str] | Sequence[LoadedPair],
    out: str | os.PathLike[str] | None = None,
    worst: int = 5,
    limit: int | None = None,
    threads: int | None = None,
    command: str | None = None,
    tta: str = "none",
    progress: Stages | None = None,
) -> dict[str, Any]:
    """Score the Keras float model and each TFLite variant on ``data``; optionally write a report.

    Args:
        keras_model: ``.keras`` file (or run folder); ``None`` to score only the TFLite files (no agreement).
        tflite_models: converted variants (float32 / fp16 / dynamic / int8 ...).
        data: folder of image/mask pairs (``munet.data.find_pairs`` layouts) or loaded samples.
        out: folder for ``accuracy.json``, ``accuracy.md`` and ``accuracy_grid.png`` (nothing written if None).
        worst: how many worst images (lowest Dice) to list per model and show in the grid.
        limit: score only the first ``limit`` pairs (smoke runs).
        threads: interpreter threads for the TFLite variants.
        tta: ``none`` | ``hflip`` | ``flips``: also score each TFLite variant with test-time flips (its ``tta``
            entry, :func:`tta_run`: Dice and ms both ways, uncertainty AUROC and top-share).
        progress: reports each model as it is scored (:class:`munet.progress.Stages`; default: silent).

    Returns the result dictionary (what ``accuracy.json`` holds).
    """
    if keras_model is None and not tflite_models:
        raise InputError("nothing to score: pass --keras and/or --tflite")
    if check_tta(tta) != "none" and not tflite_models:
        raise InputError(f"--tta {tta}: test-time flips are measured on TFLite models; pass --tflite")
    samples = list(data) if not isinstance(data, (str, os.PathLike)) else load_pairs(data, limit)
    images, truths = [s.image for s in samples], [s.truth for s in samples]
    names, groups = [s.name for s in samples], [s.group or s.name for s in samples]
    stages = progress if progress is not None else Stages(len(tflite_models) + (keras_model is not None), quiet=True)
    runs: list[tuple[str, dict[str, Any], list[Prediction], dict[str, Any] | None]] = []  # name, entry, preds, tta
    if keras_model is not None:  # a .keras file or run folder, loaded by the converter (one-line errors)
        from munet.convert.export import load_keras, resolve_model
        from munet.train.predictor import KerasPredictor

        path, file = Path(keras_model), resolve_model(keras_model)[0]
        with stages.stage(f"{path.name}: {len(images)} images", 1):
            keras = KerasPredictor(load_keras(file), threshold=0.5, name=FLOAT_NAME)
            preds = run_predictor(keras, images)
        stages.step_done()
        info = {"path": path.as_posix(), "quantization": "float32 (Keras)", "size_bytes": file.stat().st_size}
        runs.append((FLOAT_NAME, info | {"input_size": list(keras.input_size)}, preds, None))
    for step, tfl in enumerate(tflite_models, start=len(runs) + 1):
        path = Path(tfl)
        with stages.stage(f"{path.name}: {len(images)} images" + (f", TTA {tta}" if tta != "none" else ""), step):
            predictor = SegmenterPredictor(path, threads=threads)
            seg = predictor.seg
            if tta == "none":
                preds, flips = run_predictor(predictor, images), None
            else:
                preds, flips = tta_run(seg, images, truths, names, tta)
        stages.step_done()
        info = {"path": path.as_posix(), "quantization": seg.info.quantization, "io_dtype": seg.info.io_dtype}
        info |= {"size_bytes": path.stat().st_size, "input_size": list(seg.input_size)}
        info |= {"backend": seg.backend_name, "min_area": seg.min_area}
        name = path.stem
        while name in {r[0] for r in runs}:  # the same file name twice: the folder's name in front
            name = f"{path.parent.name}/{name}" if "/" not in name else name + "'"
        runs.append((name, info, preds, flips))

    float_preds = runs[0][2] if keras_model is not None else None
    models: dict[str, Any] = {}
    evaluations: dict[str, Evaluation] = {}
    for name, entry, preds, flips in runs:
        reference = None if name == FLOAT_NAME else float_preds
        ev = evaluations[name] = evaluate(preds, truths, names, groups, reference=reference)
        entry |= {red: ev.scores[red] for red in REDUCTIONS} | {"worst": ev.worst(worst), "lesion_split": ev.lesion}
        if ev.agreement is not None:
            entry["agreement_with_float"] = ev.agreement
        if flips is not None:
            entry["tta"] = flips
        models[name] = entry
    result = {
        **provenance(command),
        "data": Path(data).as_posix() if isinstance(data, (str, os.PathLike)) else "samples",
        "images": len(samples),
        "threshold": 0.5,
        "models": models,
    }
    if out is not None:
        out = Path(out)
        write_json(out / "accuracy.json", result)
        grid = _grid(samples, models, evaluations, worst, out / "accuracy_grid.png")
        result["grid"] = grid.name if grid else None
        records.write_markdown(out / "accuracy.md", accuracy_markdown(result))
    return result


def pick_pair(names: Sequence[str], quantizations: dict[str, str]) -> tuple[str, str] | None:
    """The (reference, compared) pair for the grid: Keras float (else the first) vs. the int8 variant (else last)."""
    if len(names) < 2:
        return None
    ref = FLOAT_NAME if FLOAT_NAME in names else names[0]
    others = [n for n in names if n != ref]
    return ref, next((n for n in others if quantizations.get(n) == "int8"), others[-1])


def _grid(
    samples: list[LoadedPair], models: dict[str, Any], evaluations: dict[str, Evaluation], worst: int, path: Path
) -> Path | None:
    """Overlay grid of the images where the compared (int8) model of :func:`pick_pair` is worst against the truth."""
    pair = pick_pair(list(models), {k: str(m["quantization"]) for k, m in models.items()})
    if pair is None or worst <= 0:
        return None
    a, b = evaluations[pair[0]], evaluations[pair[1]]
    dices = [c["dice"] for c in b.cases]
    rows = []
    for i in np.argsort(dices, kind="stable")[:worst]:
        s = samples[i]
        title = f"{s.name} Dice {dices[i]:.3f}"
        rows.append({"image": s.image, "truth": s.truth, "a": a.masks[i], "b": b.masks[i], "title": title})
    return records.overlay_grid(rows, path, names=pair)


def accuracy_markdown(result: dict[str, Any]) -> str:
    """Markdown report of :func:`evaluate_accuracy`'s result."""
    cols = ("dice", "iou", "miou", "precision", "recall", "accuracy", "tversky", "isic_jaccard")
    lines = [
        f"# Accuracy on `{result['data']}` ({result['images']} images, masks at the original size)\n",
        records.provenance_markdown(result),
    ]
    for red in REDUCTIONS:
        rows = [[name, *(m[red][c] for c in cols)] for name, m in result["models"].items()]
        lines.append(f"\n## Metrics, {'mean over images' if red == 'per-image' else 'pixels pooled'} ({red})\n")
        lines.append(render(rows, ["model", *cols]))
    split = [(n, m["lesion_split"]) for n, m in result["models"].items() if m.get("lesion_split")]
    if split and any(sp["lesion_free_images"] for _, sp in split):
        sp0 = split[0][1]
        lines.append(
            f"\n## Lesion and lesion-free images ({sp0['lesion_images']} with a lesion, "
            f"{sp0['lesion_free_images']} without)\n"
        )
        keys = ["dice_lesion_images", "false_positive_share", "false_positive_px_median"]
        header = ["model", "Dice on lesion images", "lesion-free images with a false lesion", "median false px"]
        if all(sp.get("patient_dice") is not None for _, sp in split):
            keys.append("patient_dice")
            header.append(f"per-patient volume Dice ({sp0['patients']} patients)")
        lines.append(render([[n, *(sp[k] for k in keys)] for n, sp in split], header))
    agree = [(n, m) for n, m in result["models"].items() if "agreement_with_float" in m]
    if agree:
        lines.append("\n## Agreement with the Keras float masks\n")
        keys = ("dice", "iou", "min_dice", "mean_abs_prob_diff", "pooled_dice", "empty_mismatches")
        rows = [
            [n, m["quantization"], m["size_bytes"], *(m["agreement_with_float"].get(k) for k in keys)] for n, m in agree
        ]
        header = ["model", "quantization", "bytes", "mask Dice", "mask IoU", "worst-image Dice", "mean |Δprob|"]
        header += ["pooled Dice", "empty vs non-empty"]
        lines.append(render(rows, header))
        lines.append(
            "\nmask Dice/IoU: per-image means; pooled Dice: counts summed over all images; empty vs non-empty: "
            "images where exactly one of the two masks is empty (each scores Dice 0 per image).\n"
        )
    flips = [(n, m["tta"]) for n, m in result["models"].items() if "tta" in m]
    if flips:
        t = flips[0][1]
        lines.append(f"\n## Test-time flips ({t['tta']}: {t['passes']} passes per image)\n")
        header = ["model", "Dice", "Dice TTA", "Δ Dice", "IoU", "IoU TTA", "ms/image", "ms/image TTA"]
        header += [f"bad (Dice < {t['bad_dice']})", "AUROC score", "AUROC frame spread", "bad in top"]
        keys = ("dice_plain", "dice", "dice_gain", "iou_plain", "iou", "ms_per_image_plain", "ms_per_image")
        rows = [
            [n, *(e[k] for k in keys), f"{e['bad_images']} of {result['images']}", e["uncertainty_auroc"]]
            + [e["frame_spread_auroc"], f"{e['bad_share_in_top']:.2f} of {e['top_images']}"]
            for n, e in flips
        ]
        lines.append(render(rows, header))
        lines.append(
            "\nDice/IoU: per-image means without and with flips; ms/image: median end-to-end `segment` time, the "
            "two runs interleaved image by image. AUROC score: how well the per-image uncertainty score (mean "
            "spread of the passes over the union of their masks) ranks the bad images (Dice with flips < "
            f"{t['bad_dice']}) above the others (0.5: chance; – when all or none are bad); AUROC frame spread: "
            f"the same for the spread averaged over the whole frame; bad in top: the share of bad images among "
            f"the {t['top_share']:.0%} most uncertain (overall share: {t['bad_share_overall']:.2f}).\n"
        )
    lines.append("\n## Worst images (lowest Dice against the truth)\n")
    for name, m in result["models"].items():
        worst = ", ".join(f"{w['image']} ({w['dice']:.3f})" for w in m["worst"])
        lines.append(f"- {name}: {worst}\n")
    if result.get("grid"):
        lines.append(
            f"\n![overlay grid]({result['grid']})\n\nColumns: image, truth, float, compared variant, "
            "difference (magenta: float only, cyan: variant only).\n"
        )
    return "".join(lines)
