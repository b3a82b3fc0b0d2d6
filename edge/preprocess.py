"""THE preprocessing function, shared by training, int8 calibration and the edge runtime.

MU-Net's encoder is an ImageNet MobileNetV2, whose inputs are RGB scaled to [-1, 1]
(``keras.applications.mobilenet_v2.preprocess_input``: ``x / 127.5 - 1``). Using one
function everywhere prevents the classic int8 failure, a calibration set normalised
differently from inference (masks that collapse to a constant).
"""

from __future__ import annotations

import cv2
import numpy as np

#: Normalisation ``x * NORM_SCALE + NORM_OFFSET`` maps uint8 0..255 to [-1, 1].
NORM_SCALE = 1.0 / 127.5
NORM_OFFSET = -1.0
COLOR_ORDER = "RGB"


def parse_size(size: int | str | tuple[int, int] | list[int]) -> tuple[int, int]:
    """``256`` -> (256, 256); ``"192x256"`` -> (192, 256) as (height, width)."""
    if isinstance(size, int):
        return (size, size)
    if isinstance(size, str):
        parts = size.lower().replace(",", "x").split("x")
        if len(parts) == 1:
            return (int(parts[0]), int(parts[0]))
        if len(parts) == 2:
            return (int(parts[0]), int(parts[1]))
        raise ValueError(f"size {size!r}: expected N or HxW, e.g. 256 or 192x256")
    h, w = size
    return (int(h), int(w))


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an RGB uint8 image to ``size`` = (height, width): area when shrinking, linear otherwise."""
    h, w = size
    if image.shape[:2] == (h, w):
        return image
    shrinking = image.shape[0] * image.shape[1] > h * w
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def preprocess(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """RGB uint8 ``(H, W, 3)`` -> float32 ``(h, w, 3)`` in [-1, 1] for a model of input ``size``.

    This is the only place where model inputs are made: ``munet.train`` (training and
    validation), ``munet.convert`` (the int8 representative dataset) and ``munet.edge``
    (inference) all call it.
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"preprocess expects an RGB uint8 HxWx3 image, got {image.dtype} {image.shape}; "
            "read files with munet.imageio.load_image"
        )
    resized = resize_image(image, size)
    return resized.astype(np.float32) * np.float32(NORM_SCALE) + np.float32(NORM_OFFSET)


def preprocess_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``{0, 1}`` uint8 mask ``(H, W)`` -> float32 ``(h, w, 1)`` resized with nearest neighbour."""
    h, w = size
    if mask.shape[:2] != (h, w):
        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
    return mask.astype(np.float32)[:, :, None]


def postprocess(prob: np.ndarray, out_size: tuple[int, int], threshold: float = 0.5) -> np.ndarray:
    """Probability map ``(h, w)`` -> ``{0, 1}`` uint8 mask at ``out_size`` = (H, W).

    The paper's post-processing (Sec. 3.3.2) is a threshold at 0.5. The probabilities are
    resized (linear) before thresholding so boundaries stay smooth at the original size.
    """
    return (resize_prob(prob, out_size) > threshold).astype(np.uint8)


def resize_prob(prob: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """Probability map ``(h, w)`` -> float32 ``out_size`` = (H, W) (linear), as :func:`postprocess` resizes it."""
    prob = np.asarray(prob, dtype=np.float32).squeeze()
    h, w = out_size
    if prob.shape != (h, w):
        prob = cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)
    return prob
