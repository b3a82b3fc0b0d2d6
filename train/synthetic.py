"""A procedural, dermoscopy-like segmentation dataset: the embedded default of ``munet-train`` (TF-free).

The images are SYNTHETIC (no patient data). Each one is drawn with NumPy/OpenCV:

* a skin-toned background with low-frequency colour variation, a fine skin texture and a little redness;
* one irregular pigmented lesion (2-40 % of the image; random shape, position and colour from light brown to
  nearly black) with a darker centre, dark blotches, a reticular "pigment network" and a fuzzy border;
* 0-7 thin dark hairs crossing the image (hairs are NOT lesion in the mask);
* usually the circular vignette of a contact dermoscope (dark corners) and a little sensor noise.

The mask is exactly the lesion polygon (the border blur is centred on it). Because hairs and vignette corners
are as dark as lesions and some lesions are light, a darkness threshold is a poor segmenter, so the set is a
small but non-trivial smoke test for training, calibration and the edge runtime. Output is deterministic for a
seed: image ``i`` depends only on ``(seed, i, size)``.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from munet.atomic import write_text_atomic
from munet.imageio import write_png_atomic

#: Bumped whenever the drawing changes, so cached folders are regenerated.
GENERATOR_VERSION = 1
MARKER_NAME = "synthetic.json"
AREA_RANGE = (0.02, 0.40)

_SKIN_LIGHT = np.array([236.0, 196.0, 178.0])  # RGB
_SKIN_DARK = np.array([176.0, 122.0, 94.0])
_LESION_LIGHT = np.array([178.0, 118.0, 88.0])
_LESION_DARK = np.array([58.0, 38.0, 40.0])


def _noise(rng: np.random.Generator, size: tuple[int, int], cells: int, channels: int = 1) -> np.ndarray:
    """Band-limited noise: a ``cells``-wide random grid upsampled (bicubic) to ``size``, unit std."""
    h, w = size
    gh, gw = max(2, round(cells * h / max(h, w))), max(2, round(cells * w / max(h, w)))
    grid = rng.standard_normal((gh, gw, channels)).astype(np.float32)
    out = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    out = out.reshape(h, w, channels)
    return (out - out.mean()) / (out.std() + 1e-6)


def _lesion_polygon(rng: np.random.Generator, size: tuple[int, int], area_fraction: float) -> np.ndarray:
    """An irregular closed contour (N, 2) in pixel coordinates whose area is ``area_fraction`` of the image."""
    h, w = size
    theta = np.linspace(0.0, 2.0 * np.pi, 240, endpoint=False)
    radius = np.ones_like(theta)
    for k in range(2, 16):
        amp = rng.uniform(0.0, 0.22 / k**0.9)
        radius += amp * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    radius = np.clip(radius, 0.35, None)
    sx, sy = rng.uniform(0.75, 1.3, size=2)
    rot = rng.uniform(0, np.pi)
    x, y = radius * np.cos(theta) * sx, radius * np.sin(theta) * sy
    x, y = x * np.cos(rot) - y * np.sin(rot), x * np.sin(rot) + y * np.cos(rot)
    area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
    scale = np.sqrt(area_fraction * h * w / area)
    # Shrink when the lesion would not fit inside the frame (only large, elongated ones).
    scale = min(scale, 0.96 * w / np.ptp(x), 0.96 * h / np.ptp(y))
    x, y = x * scale, y * scale
    cx = rng.uniform(-x.min() + 2, w - 2 - x.max())
    cy = rng.uniform(-y.min() + 2, h - 2 - y.max())
    return np.stack([x + cx, y + cy], axis=1)


def _hairs(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """Opacity map (H, W) float32 of 0-7 thin curved hairs crossing the image."""
    h, w = size
    layer = np.zeros((h, w), np.uint8)
    count = int(rng.choice(8, p=[0.12, 0.14, 0.18, 0.16, 0.14, 0.11, 0.08, 0.07]))
    t = np.linspace(0.0, 1.0, 80)[:, None]
    for _ in range(count):
        # Start and end outside opposite-ish borders, bend through a random control point.
        a, b = rng.uniform(0, 2 * np.pi), rng.uniform(-0.9, 0.9)
        c = np.array([w / 2, h / 2])
        r = 0.75 * np.hypot(h, w)
        p0 = c + r * np.array([np.cos(a), np.sin(a)])
        p2 = c - r * np.array([np.cos(a + b), np.sin(a + b)])
        p1 = np.array([rng.uniform(0, w), rng.uniform(0, h)])
        pts = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
        thickness = int(rng.choice([1, 1, 2]))
        value = int(rng.uniform(170, 255))
        cv2.polylines(layer, [np.round(pts * 16).astype(np.int32)], False, value, thickness, cv2.LINE_AA, shift=4)
    return layer.astype(np.float32) / 255.0


def _vignette(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """Multiplicative (H, W) illumination: soft falloff, usually with the dermoscope's dark circular rim."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = w / 2 + rng.normal(0, 0.03 * w), h / 2 + rng.normal(0, 0.03 * h)
    half_diag = 0.5 * np.hypot(h, w)
    dist = np.hypot(xx - cx, yy - cy) / half_diag
    light = 1.0 - rng.uniform(0.05, 0.25) * dist**2
    if rng.random() < 0.75:
        rim = rng.uniform(0.78, 1.02)
        soft = rng.uniform(0.03, 0.08)
        inside = np.clip((rim - dist) / soft, 0.0, 1.0)
        inside = inside * inside * (3 - 2 * inside)  # smoothstep
        light = light * (0.06 + 0.94 * inside)
    return light.astype(np.float32)


def synthetic_sample(seed: int, index: int, size: tuple[int, int] = (192, 256)) -> tuple[np.ndarray, np.ndarray]:
    """Draw image ``index`` of the set for ``seed`` -> (RGB uint8 ``(H, W, 3)``, ``{0, 1}`` uint8 ``(H, W)``)."""
    h, w = size
    rng = np.random.default_rng([seed, index, h, w])

    # Skin: base tone, low-frequency colour variation, fine texture, a little redness.
    skin = _SKIN_LIGHT + rng.uniform(0, 1) * (_SKIN_DARK - _SKIN_LIGHT) + rng.normal(0, 6, 3)
    image = np.broadcast_to(skin, (h, w, 3)).astype(np.float32).copy()
    image *= 1.0 + 0.05 * _noise(rng, size, 4) + 0.025 * _noise(rng, size, 4, 3)
    image *= 1.0 + 0.035 * _noise(rng, size, 40)
    image[:, :, 0] += 10.0 * np.clip(_noise(rng, size, 6)[:, :, 0], 0, None)

    # Lesion: irregular polygon, fuzzy border, darker centre, blotches and a pigment network.
    area = rng.uniform(*AREA_RANGE)
    poly = _lesion_polygon(rng, size, area)
    hard = np.zeros((h, w), np.uint8)
    cv2.fillPoly(hard, [np.round(poly * 16).astype(np.int32)], 255, cv2.LINE_8, shift=4)
    mask = (hard > 0).astype(np.uint8)
    sigma = rng.uniform(1.0, 5.0)
    alpha = cv2.GaussianBlur(hard.astype(np.float32) / 255.0, (0, 0), sigma)[:, :, None]
    darkness = rng.uniform(0.0, 1.0) ** 0.8
    colour = (_LESION_LIGHT + darkness * (_LESION_DARK - _LESION_LIGHT)) * rng.uniform(0.9, 1.1) + rng.normal(0, 4, 3)
    colour = np.minimum(colour, skin * rng.uniform(0.65, 0.88))  # always somewhat darker than the skin
    depth = cv2.distanceTransform(hard, cv2.DIST_L2, 5)
    depth = (depth / (depth.max() + 1e-6))[:, :, None]
    shade = 1.0 - rng.uniform(0.0, 0.35) * depth
    blotch = np.clip(_noise(rng, size, 7) - 0.6, 0.0, None)
    shade *= 1.0 - rng.uniform(0.15, 0.5) * np.clip(blotch, 0, 1)
    # Pigment network: several contour levels of band-limited noise form a meandering mesh of dark lines.
    network = np.exp(-((np.sin(np.pi * 1.3 * _noise(rng, size, int(rng.integers(14, 26)))) / 0.3) ** 2))
    patch = np.clip(_noise(rng, size, 5) + 0.3, 0, 1)
    shade *= 1.0 - rng.uniform(0.1, 0.4) * network * patch
    lesion = colour * shade * (1.0 + 0.04 * _noise(rng, size, 30, 3))
    image = image * (1.0 - alpha) + lesion * alpha

    # Hairs (not lesion), dermoscope vignetting, sensor noise.
    hair = _hairs(rng, size)[:, :, None]
    hair_colour = rng.uniform(20, 60) * np.array([1.0, 0.85, 0.75])
    image = image * (1.0 - hair) + hair_colour * hair
    image *= _vignette(rng, size)[:, :, None]
    image += rng.normal(0, rng.uniform(1.0, 4.0), image.shape)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8), mask


def make_synthetic_dataset(out_dir: str | Path, n: int = 64, size: tuple[int, int] = (192, 256), seed: int = 0) -> Path:
    """Write ``n`` synthetic pairs to ``out_dir/images/synth_XXXX.png`` + ``out_dir/masks/synth_XXXX.png`` (0/255).

    A folder already generated with the same ``n``, ``size``, ``seed`` and generator version (recorded in
    ``out_dir/synthetic.json``) is reused as is. Returns ``out_dir``.
    """
    out_dir = Path(out_dir)
    size = (int(size[0]), int(size[1]))
    spec = {
        "generator": "munet.train.synthetic",
        "version": GENERATOR_VERSION,
        "n": int(n),
        "size": list(size),
        "seed": int(seed),
        "synthetic": True,
    }
    marker = out_dir / MARKER_NAME
    images, masks = out_dir / "images", out_dir / "masks"
    names = [f"synth_{i:04d}.png" for i in range(n)]
    if marker.is_file():
        try:
            same = json.loads(marker.read_text()) == spec
        except (OSError, ValueError):
            same = False
        if same and all((images / f).is_file() and (masks / f).is_file() for f in names):
            return out_dir
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        rgb, mask = synthetic_sample(seed, i, size)
        write_png_atomic(images / name, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        write_png_atomic(masks / name, mask * np.uint8(255))
    write_text_atomic(marker, json.dumps(spec, indent=2) + "\n")
    return out_dir
