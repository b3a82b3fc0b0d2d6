"""Cross-CPU agreement, run inside the emulated arm64 root by ``.ci/aarch64.sh`` (``pytest -m aarch64``).

The host (x86) writes a tiny int8 model, two frames and its raw int8 outputs with ``tests/edge/aarch64_ref.py``;
here the same model runs on this machine's CPU: with the reference kernels (``BUILTIN_REF``) the outputs are
bit-identical, with the default XNNPACK kernels they differ by at most one quantization step. Outside that
script (no ``MUNET_AARCH64_REF``) the tests skip.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import numpy as np
import pytest

from munet.edge.runtime import Segmenter
from munet.imageio import list_images, load_image

pytestmark = pytest.mark.aarch64


@pytest.fixture(scope="module")
def ref_dir() -> Path:
    path = os.environ.get("MUNET_AARCH64_REF")
    if not path:
        pytest.skip("MUNET_AARCH64_REF not set (run .ci/aarch64.sh, or tests/edge/aarch64_ref.py DIR)")
    return Path(path)


def _segmenter(ref_dir: Path, reference: bool) -> Segmenter:
    return Segmenter(ref_dir / "model.tflite", threads=1, reference_kernels=reference)


def _frames(ref_dir: Path) -> list[np.ndarray]:
    return [load_image(p) for p in list_images(ref_dir / "frames")]


def test_runs_here_without_tensorflow(ref_dir):
    print(f"machine {platform.machine()}, python {sys.version.split()[0]}")
    seg = _segmenter(ref_dir, reference=False)
    assert seg.segment(_frames(ref_dir)[0]).mask.any()
    assert "tensorflow" not in sys.modules


def test_reference_kernels_bit_identical(ref_dir):
    """Same int8 input tensor -> the very same int8 output bits on this CPU as on x86."""
    ref = np.load(ref_dir / "ref.npz")
    seg = _segmenter(ref_dir, reference=True)
    for i in range(len(_frames(ref_dir))):
        out = seg.invoke(ref[f"in_{i}"])
        assert out.dtype == ref[f"ref_{i}"].dtype
        np.testing.assert_array_equal(out, ref[f"ref_{i}"])


def test_default_kernels_within_one_step(ref_dir):
    ref = np.load(ref_dir / "ref.npz")
    seg = _segmenter(ref_dir, reference=False)
    for i in range(len(_frames(ref_dir))):
        diff = np.abs(seg.invoke(ref[f"in_{i}"]).astype(np.int32) - ref[f"xnn_{i}"].astype(np.int32))
        assert diff.max() <= 1, f"frame {i}: max difference {diff.max()} quantization steps"


def test_end_to_end_masks_agree(ref_dir):
    """From the image files: OpenCV's area resize may differ by 1 LSB between NEON and x86 (seen under
    emulation), so the input tensors may differ by a step or two; the masks still agree almost everywhere."""
    ref = np.load(ref_dir / "ref.npz")
    seg = _segmenter(ref_dir, reference=False)
    for i, rgb in enumerate(_frames(ref_dir)):
        tensor = seg.prepare(rgb)
        assert np.abs(tensor.astype(np.int32) - ref[f"in_{i}"]).max() <= 2
        mask = seg.segment(rgb).mask
        assert mask.shape == ref[f"xnn_mask_{i}"].shape
        assert float((mask != ref[f"xnn_mask_{i}"]).mean()) < 0.01


def test_cli_writes_masks_here(ref_dir, tmp_path):
    from munet.edge.runner import RunOptions, run

    summary = run(ref_dir / "model.tflite", str(ref_dir / "frames"), RunOptions(out=tmp_path, threads=1))
    assert summary.processed == 2 and summary.skipped == 0
    for path in list_images(ref_dir / "frames"):
        mask = load_image(tmp_path / f"{path.stem}_segmentation.png")
        assert mask.shape[:2] == load_image(path).shape[:2]
        assert set(np.unique(mask).tolist()) <= {0, 255}
