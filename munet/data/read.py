"""Reading the pairs that :mod:`munet.data.layouts` finds -> RGB ``uint8`` images and ``{0, 1}`` masks (TF-free).

Every image is returned as RGB ``uint8``: 16-bit images are scaled to 8 bits, gray is replicated to three
channels and alpha is dropped (:func:`munet.imageio.to_rgb_uint8`). Masks are ``{0, 1}``; a mask that is not
binary (e.g. a JPEG mask) is binarised at 128 with one warning per process. figshare ``.mat`` files hold both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from munet.data.layouts import Pair, find_pairs, import_h5py
from munet.errors import InputError
from munet.imageio import binarize_mask, to_rgb_uint8


def _decode(path: Path, what: str) -> np.ndarray:
    """Decode a file with OpenCV, refusing unreadable and truncated files with a one-line error."""
    if not path.is_file():
        raise InputError(f"{path}: no such {what} file; check the dataset folder")
    data = np.fromfile(str(path), dtype=np.uint8)
    fix = "re-export it as PNG or JPEG or remove it from the dataset"
    if path.suffix.lower() in (".jpg", ".jpeg") and data.size and b"\xff\xd9" not in data[-256:].tobytes():
        raise InputError(f"{path}: truncated JPEG {what} (no end-of-image marker); {fix}")
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise InputError(f"{path}: cannot decode this {what} (empty, corrupt, truncated or not an image); {fix}")
    return image


def minmax_to_uint8(image: np.ndarray) -> np.ndarray:
    """Scale any numeric array linearly so its minimum becomes 0 and its maximum 255 (a constant -> 0).

    Used for MRI slices stored as int16 (figshare ``.mat``), whose intensities have no fixed range.
    """
    image = image.astype(np.float32)
    lo, hi = float(image.min()), float(image.max())
    if hi <= lo:
        return np.zeros(image.shape, np.uint8)
    return np.clip((image - lo) * (255.0 / (hi - lo)) + 0.5, 0, 255).astype(np.uint8)


def load_mat(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a figshare brain tumour ``.mat`` (v7.3/HDF5) file -> (RGB uint8 image, {0,1} uint8 mask).

    MATLAB stores arrays column-major, so h5py returns them transposed; they are transposed back.
    The int16 image is min-max scaled per image to 0..255 and replicated to three channels.
    """
    path = Path(path)
    h5py = import_h5py(path)
    try:
        with h5py.File(path, "r") as f:
            if "cjdata/image" not in f or "cjdata/tumorMask" not in f:
                raise InputError(
                    f"{path}: no cjdata/image and cjdata/tumorMask inside; this is not a figshare brain tumour file"
                )
            image = np.asarray(f["cjdata/image"]).T
            mask = np.asarray(f["cjdata/tumorMask"]).T
    except OSError as exc:
        raise InputError(
            f"{path}: not a readable MATLAB v7.3 (HDF5) file ({exc.__class__.__name__}); re-save it with "
            "save(..., '-v7.3') or remove it"
        ) from None
    if image.ndim != 2:
        raise InputError(f"{path}: cjdata/image has shape {image.shape}; expected a 2-D slice")
    gray = minmax_to_uint8(image)
    return np.repeat(gray[:, :, None], 3, axis=2), (mask > 0).astype(np.uint8)


def load_pair(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    """Read one pair -> (RGB uint8 ``(H, W, 3)``, ``{0, 1}`` uint8 ``(H, W)``).

    Raises :class:`~munet.errors.InputError` for unreadable/truncated files and for a mask whose size
    differs from its image.
    """
    if pair.image.suffix.lower() == ".mat":
        image, mask = load_mat(pair.image)
    else:
        if pair.mask is None:
            raise InputError(f"{pair.image}: image without mask; add its mask or remove the image")
        image = to_rgb_uint8(_decode(pair.image, "image"), str(pair.image))
        mask = binarize_mask(_decode(pair.mask, "mask"), str(pair.mask))
    if mask.shape[:2] != image.shape[:2]:
        raise InputError(
            f"{pair.mask}: mask is {mask.shape[1]}x{mask.shape[0]} but its image {pair.image.name} is "
            f"{image.shape[1]}x{image.shape[0]} (WxH); resize the mask to the image size (nearest neighbour)"
        )
    return image, mask


@dataclass
class LoadedPair:
    """One image with its ground truth, read (:func:`load_pairs`): what every evaluation scores."""

    name: str
    image: np.ndarray  # RGB uint8 (H, W, 3)
    truth: np.ndarray  # {0, 1} uint8 (H, W)
    group: str = ""  # the patient of an MRI slice (``Pair.group``); "" = the image is its own group


def load_pairs(data: str | Path, limit: int | None = None, layout: str = "auto") -> list[LoadedPair]:
    """The image/mask pairs of ``data`` (any layout :func:`munet.data.find_pairs` knows), sorted and read."""
    pairs = find_pairs(data, layout)[:limit] if limit else find_pairs(data, layout)
    loaded = [LoadedPair(Path(p.image).stem, *load_pair(p), group=p.group) for p in pairs]
    if not loaded:
        raise InputError(f"{data}: no image/mask pairs found")
    return loaded
