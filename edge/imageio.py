"""Image reading for the edge runtime: the core's :mod:`munet.imageio` (TF-free), under its old name.

The readers moved to the core so that :mod:`munet.data` (dataset layouts, shared by train, convert and
benchmarks) can use them without importing ``munet.edge``. Import them from :mod:`munet.imageio` in new code.
"""

from munet.imageio import (
    IMAGE_SUFFIXES,
    binarize_mask,
    list_images,
    load_image,
    load_mask,
    to_rgb_uint8,
    write_png_atomic,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "binarize_mask",
    "list_images",
    "load_image",
    "load_mask",
    "to_rgb_uint8",
    "write_png_atomic",
]
