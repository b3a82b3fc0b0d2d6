"""Run reports: training curves (PNG, matplotlib Agg) and a short Markdown model card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from munet.atomic import atomic_path, write_text_atomic


def plot_curves(history: list[dict[str, float]], path: Path) -> Path:
    """Loss and Dice/IoU per epoch, training vs. validation, as a PNG written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    panels = [("loss", "loss"), ("dice", "Dice (pixel)"), ("iou", "IoU (lesion)"), ("lr", "learning rate")]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2))
    for ax, (key, title) in zip(axes, panels, strict=True):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = [row.get(prefix + key) for row in history]
            if key == "lr" and prefix:
                continue
            if any(v is not None for v in values):
                ax.plot(epochs, values, style, marker="o", ms=3, label="val" if prefix else "train")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        if key == "lr":
            ax.set_yscale("log")
        else:
            ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)
    return path


def _metric_table(metrics: dict[str, Any]) -> str:
    names = list(metrics.get("per-image", {}))
    lines = ["| metric | per image (macro) | pixel-pooled (global) |", "|---|---|---|"]
    for name in names:
        lines.append(f"| {name} | {metrics['per-image'][name]:.4f} | {metrics['pixel'][name]:.4f} |")
    return "\n".join(lines)


def _masks_at(metrics: dict[str, Any] | None) -> str:
    """Where the final metrics scored the masks: the original image size since the one evaluator (older runs: the
    model resolution)."""
    return "the original image size" if (metrics or {}).get("masks_at") == "original size" else "model resolution"


def _machine(machine: dict[str, Any] | None) -> str:
    """``, <CPU>; TensorFlow x, Keras y`` of the machine that trained (older runs: "")."""
    if not machine:
        return ""
    versions = machine.get("versions", {})
    tf = versions.get("tensorflow") or versions.get("tensorflow-cpu")
    return f", {machine.get('cpu', '?')}; TensorFlow {tf}, Keras {versions.get('keras')}"


def write_model_card(path: Path, info: dict[str, Any], config_yaml: str, metrics: dict[str, Any] | None) -> Path:
    """``MODEL_CARD.md``: model, data, training, validation metrics and the effective config."""
    lines = [
        f"# Model card: {info['arch']} (alpha {info['alpha']}, {info['size'][0]}x{info['size'][1]})",
        "",
        "Binary lesion segmentation: input RGB preprocessed to [-1, 1] (`munet.edge.preprocess.preprocess`), "
        f"output a sigmoid mask, thresholded at {info['threshold']}.",
        "",
        "## Model",
        f"- Architecture: `{info['arch']}`, MobileNetV2 width alpha = {info['alpha']}, "
        f"encoder weights: `{info['encoder_weights']}`",
        f"- Parameters: {info['params']:,}"
        + (f"; MACs per image: {info['macs'] / 1e9:.2f} G" if info.get("macs") else ""),
        f"- Config hash: `{info['config_hash']}`; munet {info['munet_version']}",
        "",
        "## Data",
        f"- Training: {info['train_source']} ({info['n_train']} images)",
        f"- Validation: {info['val_source']} ({info['n_val']} images)",
    ]
    if info.get("synthetic"):
        lines.append(
            "- SYNTHETIC data (procedural dermoscopy-like images from `munet.train.synthetic`): "
            "this model is a pipeline demonstration, not a medical model."
        )
    lines += [
        "",
        "## Training",
        f"- Epochs completed: {info['epochs_completed']} of {info['epochs']}"
        + (" (early stop)" if info.get("stopped_early") else "")
        + (" (interrupted)" if info.get("interrupted") else ""),
        *(
            [f"- **Stopped on a collapse**, {info['collapsed']}; the kept model is the best epoch's"]
            if info.get("collapsed")
            else []
        ),
        f"- Loss `{info['loss']}`, Adam lr {info['lr']}, batch {info['batch']}; best epoch {info['best_epoch']} "
        f"by {info['monitor']} = {info['best']}",
        *(
            [
                f"- Distilled: the training targets were {1 - info['teacher_weight']:g} x mask + "
                f"{info['teacher_weight']:g} x the mean probability of {', '.join(f'`{t}`' for t in info['teacher'])} "
                f"over their `{info['teacher_tta']}` flips (validation used the true masks)"
            ]
            if info.get("teacher")
            else []
        ),
        f"- Wall time {info['wall_s']:.0f} s (all sessions, to the last completed epoch) on {info['device']}"
        + _machine(info.get("machine")),
        "",
        f"## Validation metrics (best.keras, thresholded masks at {_masks_at(metrics)})",
        "",
    ]
    if metrics:
        lines += [
            _metric_table(metrics),
            "",
            "`iou` is the lesion Jaccard; `miou` the mean IoU over lesion and background (the paper's 'IoU' can "
            "only be this one); `isic_jaccard` is the ISIC 2018 thresholded Jaccard (per image, < 0.65 -> 0).",
        ]
    else:
        lines.append("(no validation metrics: no completed epoch)")
    lines += [
        "",
        "## Limitations",
        "- Validated only on the data above; not a medical device. Check calibration on your own images.",
        "",
        "## Effective config",
        "",
        "```yaml",
        config_yaml.rstrip(),
        "```",
        "",
    ]
    write_text_atomic(path, "\n".join(lines))
    return path
