"""The Markdown of the architecture comparison (:mod:`munet.benchmarks.compare`): the Table 1/2 analogue, the
paper's published values beside it, and the "learned" cell and rule shared with the README block."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from munet.benchmarks.analysis import LEARNED_MARGIN, NEAR_TRIVIAL, TRIVIAL, has_lesion_free, judge_learned
from munet.benchmarks.records import provenance_markdown
from munet.benchmarks.render import DASH, Column, dec, fixed, lookup, machine_note, pct, render

#: How results from before the interleaved timing pass were timed (their ``latency_method``).
SEQUENTIAL_TIMING = "per row, right after its training"
#: Table order of the paper (Tables 1 and 2), MU-Net last as "Proposed", and the paper's row names.
ARCHS = ("unet-vgg19", "segnet", "unet-resnet50", "fcn", "unet", "munet")
PAPER_LABELS = ("U-Net with VGG-19", "SegNet", "U-Net with ResNet-50", "FCNet", "U-Net-224", "Proposed (MU-Net)")
#: The paper's six metrics, in its column order.
PAPER_METRICS = ("accuracy", "recall", "precision", "iou", "tversky", "dice")
PAPER_HEADERS = dict(zip(PAPER_METRICS, ("Accuracy", "Recall", "Precision", "IoU", "Tversky", "Dice"), strict=True))
#: The "Encoder init" cell: trained from scratch / ImageNet weights loaded.
INIT = ("from scratch", "ImageNet")
#: The paper's published values (%), for the reader's side-by-side (Tables 1 and 2; U-Net = "U-Net-224").
PAPER_TABLES = {
    "isic": {
        "unet-vgg19": (88.94, 70.82, 92.06, 89.92, 72.77, 75.57),
        "segnet": (95.46, 94.28, 91.45, 95.03, 84.08, 82.17),
        "unet-resnet50": (95.35, 95.92, 89.92, 95.64, 92.50, 91.07),
        "fcn": (89.51, 72.04, 93.45, 88.36, 67.26, 65.81),
        "unet": (94.66, 87.50, 95.37, 95.64, 88.79, 90.13),
        "munet": (96.49, 97.99, 91.44, 96.42, 95.16, 93.78),
    },
    "brain": {
        "unet-vgg19": (99.45, 88.51, 90.86, 99.99, 89.13, 89.60),
        "segnet": (98.69, 73.45, 86.75, 97.71, 53.40, 45.85),
        "unet-resnet50": (99.37, 90.02, 87.74, 99.99, 89.26, 88.81),
        "fcn": (96.01, 99.56, 46.90, 93.82, 69.84, 58.40),
        "unet": (99.15, 89.88, 80.91, 98.42, 86.92, 85.11),
        "munet": (99.40, 93.10, 90.06, 99.06, 92.14, 91.54),
    },
}


def learned_cell(row: dict[str, Any], trivial: dict[str, float] | None = None, epochs: int | None = None) -> str:
    """ "yes", "**no** (why)" or "–" (a row from before the judgement), with an early stop noted
    (:func:`munet.benchmarks.analysis.judge_learned`)."""
    if (v := judge_learned(row, trivial, epochs)) is None:
        return DASH
    word, why = "yes" if v.learned else "**no**", "; ".join(w for w in (v.why, v.stopped) if w)
    return f"{word} ({why})" if why else word


def learned_rule(result: dict[str, Any], percent: bool = True) -> str:
    """The sentence under a table: the trivial predictions' Dice and the rule (or how to add them); ``percent``:
    Dice in % and the margin in points (the paper-style tables), else on the 0..1 scale (the README)."""
    trivial = result.get("trivial")
    if not trivial:
        return (
            "Learned: – (not judged: a result from before the trivial predictions were scored; "
            "`munet-bench sweep CONFIG --reuse` judges it)"
        )
    fmt = (lambda v: f"{pct(v)} %") if percent else dec(4)
    values = ", ".join(f"{k} {fmt(trivial.get(k))}" for k in TRIVIAL)
    margin, near = (f"{100 * v:.0f} points" if percent else f"{v:.2f}" for v in (LEARNED_MARGIN, NEAR_TRIVIAL))
    return (
        f"Learned: float32 per-image Dice at least {margin} above both trivial "
        f"predictions on this validation set ({values}; an empty mask predicted empty scores Dice 1). "
        f"Why not: ≈ all-empty / ≈ all-full: within {near} of that trivial prediction (the model predicts about "
        "that); short: above both, by less than the margin, after this budget"
    )


def ok(get: str | Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    """A cell getter (a function or a dotted key) that gives None (–) on a failed row."""
    return lambda r: None if r.get("error") else (get(r) if callable(get) else lookup(r, get))


def compare_columns(result: dict[str, Any]) -> list[Column]:
    """The columns of the Table 1/2 analogue (a failed row: dashes, its weights and its error)."""
    split = {"Dice, lesion images": "dice_lesion_images", "False lesions": "false_positive_share"}
    return [
        Column("Model", "label"),
        *(Column(h, ok(f"float32.{m}"), pct) for m, h in PAPER_HEADERS.items()),
        Column("Learned", lambda r: learned_cell(r, result.get("trivial"), result["budget"].get("epochs"))),
        *(Column(h, ok(f"lesion_split.{k}"), pct) for h, k in split.items() if has_lesion_free(result)),
        Column("mIoU", ok("float32.miou"), pct),
        Column("ISIC Jaccard", ok("float32.isic_jaccard"), pct),
        Column("Params", ok("params"), lambda v: f"{v:,}"),
        Column(f"GMACs @{result['budget']['size'][0]}", ok(lambda r: r["macs"] / 1e9), dec(2)),
        Column("GMACs @256", ok(lambda r: r["macs_256"] / 1e9), dec(2)),
        Column("float32 ms", ok("float_ms"), dec(1)),
        Column("int8 ms", ok("int8_ms"), dec(1)),
        Column("int8 Dice", ok("int8.dice"), pct),
        Column("Dice drop", ok("int8_dice_drop"), pct),
        Column("Encoder init", lambda r: r["encoder_weights"] if r.get("error") else INIT[bool(r["imagenet"])]),
        Column("Train s", lambda r: f"failed: {r['error']}" if r.get("error") else fixed(r["train_s"], 0)),
    ]


def compare_markdown(result: dict[str, Any]) -> str:
    """The Table 1/2 analogue with budget, provenance and weights."""
    lines = [
        f"# Architecture comparison: {result['name']}",
        "",
        f"Paper Tables 1/2 analogue. Budget: {result['budget_text']}.",
        f"Training data: `{result['train']}` ({result['n_train']} images); validation: `{result['val']}` "
        f"({result['n_val']} images).",
        "Metrics (%): per-image means on the validation set, float32 TFLite masks at the original image size "
        "(`munet.edge.metrics`, threshold 0.5); int8 = full-int8 TFLite calibrated on the training images; "
        f"latency: median of {result['budget']['latency_runs']} LiteRT inferences, "
        f"{result['budget']['threads']} thread(s), pre/post-processing excluded, "
        f"{result.get('latency_method', SEQUENTIAL_TIMING)}.{machine_note(result, 'Machine during the timing pass')} "
        "Pixel-pooled metrics (counts summed over all images) are in the JSON as `float32_pixel`.",
        "Encoder init: 'ImageNet' where pretrained encoder weights were loaded, otherwise trained from scratch. "
        "SegNet's max-unpooling places each feature at its window's argmax (builtin int8 TFLite ops; a tied "
        "maximum goes to the first tied position, as TensorFlow's argmax).",
        "",
        render(result["models"], compare_columns(result)),
        learned_rule(result) + ".",
    ]
    if has_lesion_free(result):
        lines.append(
            "Dice, lesion images: per-image Dice over the validation images with a lesion only; False lesions: "
            "share of the lesion-free validation images given any lesion pixel (float32 masks)."
        )
    lines.append("")
    if paper := PAPER_TABLES.get(result.get("paper_table") or ""):
        prow = [[label, *(f"{v:.2f}" for v in paper[a])] for a, label in zip(ARCHS, PAPER_LABELS, strict=True)]
        lines += [
            f"Paper values (Table {'1' if result['paper_table'] == 'isic' else '2'}, 256x256, 60 epochs; "
            "its 'IOU' column is not comparable to a per-image lesion IoU):",
            "",
            render(prow, ["Model", "Accuracy", "Recall", "Precision", "IOU", "Tversky", "Dice"]),
        ]
    lines += ["## Provenance", "", provenance_markdown(result["provenance"])]
    if result.get("earlier"):
        lines += ["Rows resumed from earlier runs with the same budget (`--reuse`):", ""]
        lines += [f"- {p.get('date', '')[:10]}: `{p.get('command', '')}`" for p in result["earlier"]]
    return "\n".join(lines)
