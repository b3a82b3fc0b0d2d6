"""Calibration (int8 representative dataset) and validation samples from an image folder.

Every array goes through :func:`munet.edge.preprocess.preprocess`, the same function as
training and the edge runtime. A calibration set normalised differently from inference is
the classic cause of int8 masks that collapse to a constant (PINTO0309/onnx2tf #610), so the
calibration inputs' range is checked and recorded for the accuracy gate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from munet.edge.imageio import list_images, load_image, load_mask
from munet.edge.preprocess import preprocess, preprocess_mask
from munet.errors import InputError, MunetError

log = logging.getLogger(__name__)

#: Fewer calibration images than this gives noisy activation ranges: warn.
MIN_CALIB_IMAGES = 50
#: Every HOLDOUT_EVERY-th image of the calibration folder is kept back for the accuracy gate.
HOLDOUT_EVERY = 5
#: Preprocessed inputs live in [-1, 1]; the tolerance lets a doubly normalised set through to the gate, which names it.
RANGE_TOLERANCE = 0.05


@dataclass(frozen=True)
class Sample:
    """One image file and its mask file (``None`` when the folder has no masks)."""

    image: Path
    mask: Path | None = None


@dataclass(frozen=True)
class InputStats:
    """Summary of preprocessed inputs, compared between calibration and validation by the gate."""

    count: int
    min: float
    max: float
    mean: float
    std: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def input_stats(x: np.ndarray) -> InputStats:
    x = np.asarray(x, dtype=np.float32)
    return InputStats(
        int(x.shape[0]) if x.ndim == 4 else 1, float(x.min()), float(x.max()), float(x.mean()), float(x.std())
    )


def _mask_for(image: Path, mask_dir: Path) -> Path | None:
    for stem in (image.stem, f"{image.stem}_mask", f"{image.stem}_segmentation", f"{image.stem}_Segmentation"):
        for suffix in (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", image.suffix):
            cand = mask_dir / f"{stem}{suffix}"
            if cand.is_file():
                return cand
    return None


def find_samples(data: str | Path) -> list[Sample]:
    """Images (and masks when present) of ``data``: a folder of images, a glob, or a dataset folder.

    ``data/images`` + ``data/masks`` (the ISIC/synthetic layout) and ``images/`` with a sibling
    ``masks/`` folder are paired by file stem. Masks are optional: without them the gate compares
    the TFLite masks with the float Keras masks only.
    """
    path = Path(data)
    text = str(data)
    if not any(ch in text for ch in "*?[") and not path.exists():
        raise InputError(f"{path}: no such calibration/validation folder; pass a folder of training images")
    image_dir, mask_dir = path, None
    if path.is_dir() and (path / "images").is_dir():
        image_dir = path / "images"
        mask_dir = path / "masks" if (path / "masks").is_dir() else None
    elif path.is_dir() and path.name == "images" and (path.parent / "masks").is_dir():
        mask_dir = path.parent / "masks"
    files = list_images(image_dir)
    samples = [Sample(f, _mask_for(f, mask_dir) if mask_dir else None) for f in files]
    if mask_dir and any(s.mask is None for s in samples):
        missing = sum(s.mask is None for s in samples)
        log.warning(
            "%s: %d of %d images have no mask; the gate uses float-vs-TFLite agreement for them",
            mask_dir,
            missing,
            len(samples),
        )
    return samples


def split_holdout(samples: Sequence[Sample], every: int = HOLDOUT_EVERY) -> tuple[list[Sample], list[Sample]]:
    """``(calibration, held_back)``: every ``every``-th sample is held back for validation."""
    if len(samples) < every:
        return list(samples), list(samples)
    held = [s for i, s in enumerate(samples) if i % every == every - 1]
    calib = [s for i, s in enumerate(samples) if i % every != every - 1]
    return calib, held


def pick_evenly(samples: Sequence[Sample], count: int) -> list[Sample]:
    """Up to ``count`` samples spread evenly over the (sorted) list, deterministic."""
    if count <= 0:
        raise InputError(f"--calib-count {count}: must be a positive number of images")
    if len(samples) <= count:
        return list(samples)
    idx = np.linspace(0, len(samples) - 1, count).round().astype(int)
    return [samples[i] for i in sorted(set(idx.tolist()))]


def load_inputs(
    samples: Sequence[Sample], size: tuple[int, int], what: str = "calibration", with_masks: bool = False
) -> tuple[np.ndarray, np.ndarray | None, list[Path]]:
    """Preprocessed ``x`` ``(N, h, w, 3)``, masks ``(N, h, w)`` or ``None``, and the files used.

    Unreadable files are skipped with a warning; an empty result is an :class:`InputError`.
    """
    xs, ys, used, bad = [], [], [], []
    masks_ok = with_masks and all(s.mask is not None for s in samples)
    for s in samples:
        try:
            x = preprocess(load_image(s.image), size)
            y = preprocess_mask(load_mask(s.mask), size)[:, :, 0] if masks_ok and s.mask else None
        except MunetError as exc:
            bad.append(str(exc))
            continue
        xs.append(x)
        ys.append(y)
        used.append(s.image)
    if bad:
        log.warning("skipped %d unreadable %s file(s), first: %s", len(bad), what, bad[0])
    if not xs:
        where = samples[0].image.parent if samples else "the folder"
        raise InputError(f"{where}: none of the {what} images could be read; pass a folder of JPEG/PNG images")
    x_arr = np.stack(xs).astype(np.float32)
    y_arr = np.stack(ys).astype(np.uint8) if masks_ok and all(y is not None for y in ys) else None
    return x_arr, y_arr, used


def check_calibration_range(x: np.ndarray) -> InputStats:
    """Refuse calibration inputs outside [-1, 1] (e.g. raw 0..255 floats, which the converter would accept
    silently with a wrong input scale); return their statistics."""
    x = np.asarray(x)
    if x.dtype != np.float32 or x.ndim != 4 or x.shape[-1] != 3:
        raise InputError(f"calibration arrays must be float32 (N, H, W, 3), got {x.dtype} {x.shape}")
    stats = input_stats(x)
    if stats.min < -1 - RANGE_TOLERANCE or stats.max > 1 + RANGE_TOLERANCE:
        raise InputError(
            f"calibration inputs span [{stats.min:.3g}, {stats.max:.3g}], not [-1, 1]: "
            "preprocess them with munet.edge.preprocess.preprocess (raw 0..255 pixels give a wrong int8 scale)"
        )
    if stats.std < 0.02:
        log.warning(
            "calibration inputs are nearly constant (std %.4f, range [%.4f, %.4f]); were they normalised "
            "twice? int8 masks will likely collapse",
            stats.std,
            stats.min,
            stats.max,
        )
    return stats


def representative_dataset(x: np.ndarray) -> Callable[[], Iterator[list[np.ndarray]]]:
    """The converter's ``representative_dataset``: yields ``[float32 (1, H, W, 3)]`` per image."""
    arr = np.ascontiguousarray(x, dtype=np.float32)

    def gen() -> Iterator[list[np.ndarray]]:
        for i in range(arr.shape[0]):
            yield [arr[i : i + 1]]

    return gen


def calibration_arrays(
    data: str | Path, size: tuple[int, int], count: int = 200, holdout: bool = True
) -> tuple[np.ndarray, list[Sample]]:
    """Calibration inputs from folder ``data`` and the held-back samples for the gate.

    Warns below :data:`MIN_CALIB_IMAGES` images; raises :class:`InputError` for an empty or
    unreadable folder.
    """
    samples = find_samples(data)
    calib, held = split_holdout(samples) if holdout else (samples, [])
    chosen = pick_evenly(calib, count)
    x, _, used = load_inputs(chosen, size, "calibration")
    if len(used) < MIN_CALIB_IMAGES:
        log.warning(
            "only %d calibration images from %s (< %d): int8 ranges may be poor; add more training images",
            len(used),
            data,
            MIN_CALIB_IMAGES,
        )
    check_calibration_range(x)
    return x, held
