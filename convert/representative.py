"""Calibration (int8 representative dataset) and validation samples from a dataset or image folder.

The images are found by :func:`munet.data.find_pairs` with masks optional, so ``--calib-data`` accepts every
layout ``munet-train --data`` does (ISIC challenge folders, LGG patient folders, ``images/`` + ``masks/``,
flat folders, figshare ``.mat``) and also folders of images without masks, globs and single files.

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

from munet.data import Pair, find_pairs, load_mat
from munet.edge.preprocess import preprocess, preprocess_mask
from munet.errors import InputError, MunetError
from munet.imageio import IMAGE_SUFFIXES, list_images, load_image, load_mask

log = logging.getLogger(__name__)

#: Fewer calibration images than this gives noisy activation ranges: warn.
MIN_CALIB_IMAGES = 50
#: Every HOLDOUT_EVERY-th image of the calibration folder is kept back for the accuracy gate.
HOLDOUT_EVERY = 5
#: Preprocessed inputs live in [-1, 1]; the tolerance lets a doubly normalised set through to the gate, which names it.
RANGE_TOLERANCE = 0.05


#: One image file, its mask file (``None`` when it has none) and its group: the core's :class:`munet.data.Pair`.
Sample = Pair


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


def find_samples(data: str | Path) -> list[Sample]:
    """Images (and masks when present) of ``data``: a dataset folder, a folder of images, a glob or one image.

    A folder is read by :func:`munet.data.find_pairs` with masks optional (every ``munet-train --data`` layout;
    ``DATA/images`` with a sibling ``masks/`` is read as ``DATA``). Masks are optional: without them the gate
    compares the TFLite masks with the float Keras masks only.
    """
    text = str(data)
    if any(ch in text for ch in "*?["):
        return [Sample(f, None, f.stem) for f in list_images(text)]
    path = Path(data)
    if not path.exists():
        raise InputError(f"{path}: no such calibration/validation folder; pass a folder of training images")
    if path.is_file():
        return [Sample(f, None, f.stem) for f in list_images(path)]
    if path.name == "images" and (path.parent / "masks").is_dir():
        path = path.parent
    if not any(not p.name.startswith(".") for p in path.iterdir()):
        raise InputError(f"{path}: the folder holds no image ({', '.join(IMAGE_SUFFIXES)}); pass the training images")
    samples = find_pairs(path, masks=False)
    missing = sum(s.mask is None for s in samples)
    if 0 < missing < len(samples):
        log.warning(
            "%s: %d of %d images have no mask; the gate uses float-vs-TFLite agreement for them",
            path,
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


def read_sample(sample: Sample, with_mask: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """RGB image and (``with_mask``) ``{0, 1}`` mask of a sample; a figshare ``.mat`` file holds both."""
    if sample.image.suffix.lower() == ".mat":
        image, mask = load_mat(sample.image)
        return image, mask if with_mask else None
    return load_image(sample.image), load_mask(sample.mask) if with_mask and sample.mask else None


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
            image, mask = read_sample(s, masks_ok)
            x = preprocess(image, size)
            y = preprocess_mask(mask, size)[:, :, 0] if mask is not None else None
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
