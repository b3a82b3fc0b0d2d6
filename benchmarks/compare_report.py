"""The Markdown of the architecture comparison (:mod:`munet.benchmarks.compare`): the Table 1/2 analogue, the
paper's published values beside it, and the number formats of those tables."""

from __future__ import annotations

from typing import Any

from munet.benchmarks.learned import learned_cell, learned_rule

#: Table order of the paper (Tables 1 and 2), MU-Net last as "Proposed".
ARCHS = ("unet-vgg19", "segnet", "unet-resnet50", "fcn", "unet", "munet")

#: How results from before the interleaved timing pass were timed (their ``latency_method``).
SEQUENTIAL_TIMING = "per row, right after its training"

#: Row names in the paper's tables.
PAPER_LABELS = {
    "unet-vgg19": "U-Net with VGG-19",
    "segnet": "SegNet",
    "unet-resnet50": "U-Net with ResNet-50",
    "fcn": "FCNet",
    "unet": "U-Net-224",
    "munet": "Proposed (MU-Net)",
}

#: The paper's six metrics, in its column order.
PAPER_METRICS = ("accuracy", "recall", "precision", "iou", "tversky", "dice")
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


def _pct(v: float | None) -> str:
    """A 0..1 value as a percentage with two decimals (the paper's tables)."""
    return "–" if v is None else f"{100.0 * v:.2f}"


def _num(v: float | None, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _machine(result: dict[str, Any]) -> str:
    """The load of the timing pass (and why it looks busy) for the latency sentence; "" for older results."""
    if not result.get("load"):
        return ""
    from munet.benchmarks.timing import describe_machine

    busy = f" **BUSY**: {'; '.join(result['busy'])}." if result.get("busy") else ""
    return f" Machine during the timing pass: {describe_machine(result['load'])}.{busy}"


def has_lesion_free(result: dict[str, Any]) -> bool:
    """Whether the validation set of a comparison has lesion-free images split out in its rows (brain MRI): its
    tables then add the Dice on lesion images and the share of lesion-free images given a false lesion."""
    return any((r.get("lesion_split") or {}).get("lesion_free_images") for r in result.get("models", []))


def split_values(row: dict[str, Any]) -> tuple[float | None, float | None]:
    """A row's Dice on lesion images and share of lesion-free images with a false lesion (None: not recorded)."""
    s = row.get("lesion_split") or {}
    return s.get("dice_lesion_images"), s.get("false_positive_share")


def compare_markdown(result: dict[str, Any]) -> str:
    """The Table 1/2 analogue with budget, provenance and weights."""
    from munet.benchmarks.records import markdown_table, provenance_markdown

    split = has_lesion_free(result)
    rows, header = (
        [],
        [
            "Model",
            "Accuracy",
            "Recall",
            "Precision",
            "IoU",
            "Tversky",
            "Dice",
            "Learned",
            *(("Dice, lesion images", "False lesions") if split else ()),
            "mIoU",
            "ISIC Jaccard",
            "Params",
            f"GMACs @{result['budget']['size'][0]}",
            "GMACs @256",
            "float32 ms",
            "int8 ms",
            "int8 Dice",
            "Dice drop",
            "Encoder init",
            "Train s",
        ],
    )
    for r in result["models"]:
        if r.get("error"):
            dashes = ["–"] * 9
            rows.append(
                [
                    r["label"],
                    *dashes[:6],
                    learned_cell(r, result.get("trivial"), result["budget"].get("epochs")),
                    *(["–", "–"] if split else []),
                    *dashes,
                    r["encoder_weights"],
                    f"failed: {r['error']}",
                ]
            )
            continue
        f, q = r["float32"], r["int8"]
        rows.append(
            [
                r["label"],
                *(_pct(f[m]) for m in PAPER_METRICS),
                learned_cell(r, result.get("trivial"), result["budget"].get("epochs")),
                *((_pct(v) for v in split_values(r)) if split else ()),
                _pct(f["miou"]),
                _pct(f["isic_jaccard"]),
                f"{r['params']:,}",
                _num(r["macs"] / 1e9),
                _num(r["macs_256"] / 1e9),
                _num(r["float_ms"], 1),
                _num(r["int8_ms"], 1),
                _pct(q["dice"]),
                _pct(r["int8_dice_drop"]),
                "ImageNet" if r["imagenet"] else "from scratch",
                _num(r["train_s"], 0),
            ]
        )
    name = result["name"]
    lines = [
        f"# Architecture comparison: {name}",
        "",
        f"Paper Tables 1/2 analogue. Budget: {result['budget_text']}.",
        f"Training data: `{result['train']}` ({result['n_train']} images); validation: `{result['val']}` "
        f"({result['n_val']} images).",
        "Metrics (%): per-image means on the validation set, float32 TFLite masks at the original image size "
        "(`munet.edge.metrics`, threshold 0.5); int8 = full-int8 TFLite calibrated on the training images; "
        f"latency: median of {result['budget']['latency_runs']} LiteRT inferences, "
        f"{result['budget']['threads']} thread(s), pre/post-processing excluded, "
        f"{result.get('latency_method', SEQUENTIAL_TIMING)}.{_machine(result)} Pixel-pooled metrics "
        "(counts summed over all images) are in the JSON as `float32_pixel`.",
        "Encoder init: 'ImageNet' where pretrained encoder weights were loaded, otherwise trained from scratch. "
        "SegNet's max-unpooling places each feature at its window's argmax (builtin int8 TFLite ops; a tied "
        "maximum goes to the first tied position, as TensorFlow's argmax).",
        "",
        markdown_table(header, rows),
        learned_rule(result) + ".",
        *(
            [
                "Dice, lesion images: per-image Dice over the validation images with a lesion only; False lesions: "
                "share of the lesion-free validation images given any lesion pixel (float32 masks)."
            ]
            if split
            else []
        ),
        "",
    ]
    paper = PAPER_TABLES.get(result.get("paper_table") or "")
    if paper:
        prow = [[PAPER_LABELS[a], *(f"{v:.2f}" for v in paper[a])] for a in ARCHS if a in paper]
        lines += [
            f"Paper values (Table {'1' if result['paper_table'] == 'isic' else '2'}, 256x256, 60 epochs; "
            "its 'IOU' column is not comparable to a per-image lesion IoU):",
            "",
            markdown_table(["Model", "Accuracy", "Recall", "Precision", "IOU", "Tversky", "Dice"], prow),
        ]
    lines += ["## Provenance", "", provenance_markdown(result["provenance"])]
    if result.get("earlier"):
        lines += ["Rows resumed from earlier runs with the same budget (`--reuse`):", ""]
        lines += [f"- {p.get('date', '')[:10]}: `{p.get('command', '')}`" for p in result["earlier"]]
    return "\n".join(lines)
