"""The architecture comparison's one table (:func:`compare_columns`): in ``compare_<name>.md``
(:func:`compare_markdown`, with the paper's published values beside it) and in the compare README block."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from munet.benchmarks.analysis import LEARNED_MARGIN, NEAR_TRIVIAL, TRIVIAL, has_lesion_free, judge_learned
from munet.benchmarks.records import provenance_markdown
from munet.benchmarks.render import Column, dec, fixed, lookup, percent, render, timing_note

#: Table order of the paper (Tables 1 and 2), MU-Net last as "Proposed", and the paper's row names.
ARCHS = ("unet-vgg19", "segnet", "unet-resnet50", "fcn", "unet", "munet")
PAPER_LABELS = ("U-Net with VGG-19", "SegNet", "U-Net with ResNet-50", "FCNet", "U-Net-224", "Proposed (MU-Net)")
#: The paper's six metrics, in its column order.
PAPER_METRICS = ("accuracy", "recall", "precision", "iou", "tversky", "dice")
#: The "encoder init" cell: trained from scratch / ImageNet weights loaded.
INIT = ("scratch", "ImageNet")
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
    """ "yes" or "**no** (why)", with an early stop noted (:func:`munet.benchmarks.analysis.judge_learned`)."""
    v = judge_learned(row, trivial, epochs)
    word, why = "yes" if v.learned else "**no**", "; ".join(w for w in (v.why, v.stopped) if w)
    return f"{word} ({why})" if why else word


def learned_rule(result: dict[str, Any]) -> str:
    """The sentence under a table: the trivial predictions' Dice and the rule."""
    values = ", ".join(f"{k} {result['trivial'][k]:.4f}" for k in TRIVIAL)
    return (
        f"Learned: float32 per-image Dice at least {LEARNED_MARGIN:.2f} above both trivial predictions on this "
        f"validation set ({values}; an empty mask predicted empty scores Dice 1). Why not: ≈ all-empty / ≈ all-full: "
        f"within {NEAR_TRIVIAL:.2f} of that trivial prediction (the model predicts about that); short: above both, "
        "by less than the margin, after this budget"
    )


def ok(get: str | Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    """A cell getter (a function or a dotted key) that gives None (–) on a failed row."""
    return lambda r: None if r.get("error") else (get(r) if callable(get) else lookup(r, get))


def compare_columns(result: dict[str, Any]) -> list[Column]:
    """The comparison's columns (a failed row: its error, then dashes); per-image means on the 0..1 scale."""
    epochs, size = result["budget"].get("epochs"), result["budget"]["size"][0]
    split = {"Dice, lesion images": ("dice_lesion_images", fixed), "false lesions": ("false_positive_share", percent)}
    metrics = ("IoU", "mIoU", "precision", "recall", "accuracy", "Tversky", "ISIC Jaccard")
    return [
        Column("model", "label"),
        Column("encoder init", lambda r: f"failed: {r['error']}" if r.get("error") else INIT[bool(r["imagenet"])]),
        Column("params (M)", ok(lambda r: r["params"] / 1e6), dec(2)),
        Column(f"GMACs @{size}²", ok(lambda r: r["macs"] / 1e9), dec(2)),
        Column("GMACs @256²", ok(lambda r: r["macs_256"] / 1e9), dec(2)),
        Column("Dice", ok("float32.dice"), fixed),
        Column("learned", lambda r: learned_cell(r, result.get("trivial"), epochs)),
        *(Column(h, ok(f"lesion_split.{k}"), f) for h, (k, f) in split.items() if has_lesion_free(result)),
        *(Column(h, ok(f"float32.{h.lower().replace(' ', '_')}"), fixed) for h in metrics),
        Column("int8 Dice", ok("int8.dice"), fixed),
        Column("int8 Dice drop", ok("int8_dice_drop"), fixed),
        Column("float32 ms", ok("float_ms"), dec(1)),
        Column("int8 ms", ok("int8_ms"), dec(1)),
        Column("train s", ok("train_s"), dec(0)),
    ]


def compare_table(result: dict[str, Any]) -> str:
    """The table, the learned rule and (brain MRI) what the lesion columns mean."""
    text = render(result["models"], compare_columns(result)) + f"\n- {learned_rule(result)}\n"
    if has_lesion_free(result):
        text += (
            "- Dice, lesion images: per-image Dice over the validation images with a lesion only; false lesions: "
            "share of the lesion-free validation images given any lesion pixel (float32 masks)\n"
        )
    return text


def compare_markdown(result: dict[str, Any]) -> str:
    """The Table 1/2 analogue with budget, the paper's values, provenance and the runs rows were resumed from."""
    lines = [
        f"# Architecture comparison: {result['name']}",
        "",
        f"Paper Tables 1/2 analogue. Budget: {result['budget_text']}.",
        f"Training data: `{result['train']}` ({result['n_train']} images); validation: `{result['val']}` "
        f"({result['n_val']} images).",
        "Metrics (0..1): per-image means on the validation set, float32 TFLite masks at the original image size "
        "(`munet.edge.metrics`, threshold 0.5); int8 = full-int8 TFLite calibrated on the training images; "
        f"latency: median of {result['budget']['latency_runs']} LiteRT inferences, "
        f"{result['budget']['threads']} thread(s), pre/post-processing excluded, "
        f"{result.get('latency_method', 'not timed yet')}{timing_note(result)}. "
        "Pixel-pooled metrics (counts summed over all images) are in the JSON as `float32_pixel`.",
        "Encoder init: 'ImageNet' where pretrained encoder weights were loaded, otherwise trained from scratch. "
        "SegNet's max-unpooling places each feature at its window's argmax (builtin int8 TFLite ops; a tied "
        "maximum goes to the first tied position, as TensorFlow's argmax).",
        "",
        compare_table(result),
    ]
    if paper := PAPER_TABLES.get(result.get("paper_table") or ""):
        prow = [[label, *(f"{v:.2f}" for v in paper[a])] for a, label in zip(ARCHS, PAPER_LABELS, strict=True)]
        lines += [
            f"Paper values in % (Table {'1' if result['paper_table'] == 'isic' else '2'}, 256x256, 60 epochs; "
            "its 'IOU' column is not comparable to a per-image lesion IoU):",
            "",
            render(prow, ["Model", "Accuracy", "Recall", "Precision", "IOU", "Tversky", "Dice"]),
        ]
    lines += ["## Provenance", "", provenance_markdown(result["provenance"])]
    if result.get("earlier"):
        lines += ["Rows resumed from earlier runs with the same budget (`--reuse`):", ""]
        lines += [f"- {p.get('date', '')[:10]}: `{p.get('command', '')}`" for p in result["earlier"]]
    return "\n".join(lines).rstrip("\n")  # one final newline is added by write_markdown
