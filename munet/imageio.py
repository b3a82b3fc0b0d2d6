"""Reading images and masks with explicit handling of bit depth and channel count.

Every reader returns predictable arrays (RGB ``uint8`` images, ``{0, 1}`` ``uint8`` masks)
or raises :class:`~munet.errors.InputError` with one line naming the file and the fix.
"""

from __future__ import annotations

import glob
import logging
import os
from pathlib import Path

import cv2
import numpy as np

from munet.errors import InputError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

_warned_nonbinary = False


def to_rgb_uint8(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Convert a decoded array (gray, gray+alpha, BGR, BGRA; 8/16-bit or float) to RGB uint8.

    * 16-bit: scaled linearly to 8 bits (``value / 257``), i.e. the full 0..65535 range.
    * float: taken as 0..1 when its maximum is <= 1, else as 0..255; clipped.
    * gray -> replicated to 3 channels; alpha is dropped (not composited).
    The input is assumed to be in OpenCV's BGR order when it has 3 or 4 channels.
    """
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4):
        raise InputError(f"{name}: unsupported image shape {image.shape}; expected HxW, HxWx3 or HxWx4")
    if image.dtype == np.uint16:
        image = (image.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    elif image.dtype.kind == "f":
        scale = 255.0 if float(np.nanmax(image)) <= 1.0 else 1.0
        image = np.clip(np.nan_to_num(image) * scale + 0.5, 0, 255).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise InputError(f"{name}: unsupported pixel type {image.dtype}; save it as 8- or 16-bit")
    channels = image.shape[2]
    if channels in (1, 2):
        return np.ascontiguousarray(np.repeat(image[:, :, :1], 3, axis=2))
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _read(path: str | os.PathLike[str], what: str) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such {what} file; check the path")
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise InputError(
            f"{path}: cannot decode this {what} (corrupt, truncated or not an image); "
            "re-export it as PNG or JPEG or remove it"
        )
    return image


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as an RGB ``uint8`` array of shape ``(H, W, 3)``."""
    return to_rgb_uint8(_read(path, "image"), str(path))


def binarize_mask(mask: np.ndarray, name: str = "mask") -> np.ndarray:
    """Turn a decoded mask into ``{0, 1}`` uint8 (threshold at half the range).

    A mask with values other than 0 and the maximum of its type (e.g. a JPEG mask)
    is binarised at 128 (8-bit scale) and a warning is logged once per process.
    """
    global _warned_nonbinary
    if mask.ndim == 3:
        mask = mask[:, :, 0] if mask.shape[2] in (1, 2) else cv2.cvtColor(mask[:, :, :3], cv2.COLOR_BGR2GRAY)
    if mask.dtype == np.uint16:
        mask = (mask // 257).astype(np.uint8)
    elif mask.dtype == bool:
        return mask.astype(np.uint8)
    elif mask.dtype.kind == "f":
        mask = np.clip(mask * (255.0 if mask.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    elif mask.dtype != np.uint8:
        raise InputError(f"{name}: unsupported mask pixel type {mask.dtype}; save it as 8-bit PNG")
    values = np.unique(mask)
    if values.size <= 2 and set(values.tolist()) <= {0, 1}:
        return mask.astype(np.uint8)
    if not set(values.tolist()) <= {0, 255} and not _warned_nonbinary:
        log.warning("%s: mask is not binary (%d distinct values); binarising at 128", name, values.size)
        _warned_nonbinary = True
    return (mask >= 128).astype(np.uint8)


def load_mask(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a mask file as ``{0, 1}`` uint8 of shape ``(H, W)`` (255 or 1 = foreground)."""
    return binarize_mask(_read(path, "mask"), str(path))


def list_images(source: str | os.PathLike[str]) -> list[Path]:
    """Image files named by ``source``: one file, a folder (sorted, non-recursive) or a glob."""
    text = str(source)
    if any(ch in text for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(text) if Path(p).suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"{text}: the pattern matches no image ({', '.join(IMAGE_SUFFIXES)})")
        return files
    path = Path(source)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"{path}: the folder holds no image ({', '.join(IMAGE_SUFFIXES)})")
        return files
    raise InputError(f"{path}: no such file or folder")


def write_png_atomic(path: str | os.PathLike[str], image: np.ndarray) -> None:
    """Encode ``image`` (OpenCV channel order) as PNG and move it into place atomically."""
    path = Path(path)
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise InputError(f"{path}: OpenCV could not encode this image as PNG")
    from munet.atomic import write_bytes_atomic

    write_bytes_atomic(path, buf.tobytes())
