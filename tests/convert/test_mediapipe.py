"""The phone path: MediaPipe Tasks' ImageSegmenter loads munet-convert's output and agrees with munet-run.

MediaPipe is not a dependency of the project venv; these tests run it in a separate Python
(``$MUNET_MEDIAPIPE_PYTHON``, else ``.venv-mp/bin/python`` in the repo) and skip without one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import TINY_SIZE  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
N_IMAGES = 6
SEGMENT = (
    "import sys, numpy as np; from munet.convert.mediapipe import segment_images; "
    "r = segment_images(sys.argv[1], sys.argv[3:]); "
    "np.savez(sys.argv[2], conf=np.stack([c for c, _ in r]), cat=np.stack([k for _, k in r]))"
)


def _mp_python() -> str | None:
    candidates = [os.environ.get("MUNET_MEDIAPIPE_PYTHON", ""), str(REPO / ".venv-mp" / "bin" / "python")]
    for python in filter(None, candidates):
        if Path(python).is_file():
            probe = subprocess.run([python, "-c", "import mediapipe, munet.convert.mediapipe"], capture_output=True)
            if probe.returncode == 0:
                return python
    return None


MP_PYTHON = _mp_python()
NO_MP = "no Python with mediapipe + munet: set MUNET_MEDIAPIPE_PYTHON or create .venv-mp (make mediapipe-env)"
if MP_PYTHON is None and os.environ.get("MUNET_REQUIRE_MEDIAPIPE") == "1":  # make test / CI: never skip silently
    pytest.fail(f"MUNET_REQUIRE_MEDIAPIPE=1 but {NO_MP}", pytrace=False)
pytestmark = pytest.mark.skipif(MP_PYTHON is None, reason=NO_MP)


@pytest.fixture(scope="module")
def model_size_images(blob_data: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A few blob images resized to the model's input size, so neither side resizes."""
    import cv2

    from munet.imageio import load_image

    out = tmp_path_factory.mktemp("mp_images")
    paths = []
    for src in sorted((blob_data / "images").glob("*.png"))[-N_IMAGES:]:
        rgb = cv2.resize(load_image(src), TINY_SIZE[::-1], interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(out / src.name), rgb[:, :, ::-1])
        paths.append(out / src.name)
    return paths


def _mediapipe_masks(model: Path, images: list[Path], tmp_path: Path) -> tuple[np.ndarray, np.ndarray]:
    out = tmp_path / "mp.npz"
    proc = subprocess.run(
        [MP_PYTHON, "-c", SEGMENT, str(model), str(out), *map(str, images)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = np.load(out)
    return data["conf"], data["cat"]


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int((a & b).sum()) / total


def _check(model: Path, images: list[Path], tmp_path: Path) -> tuple[list[float], float]:
    """Add the MediaPipe metadata, run both runtimes; returns per-image Dice and the max probability gap."""
    from munet.convert.mediapipe import add_mediapipe_metadata
    from munet.edge.integrity import check_digest
    from munet.edge.metadata import read_model_info
    from munet.edge.runtime import Segmenter
    from munet.imageio import load_image

    mp_model = add_mediapipe_metadata(model, tmp_path / f"{model.stem}_mediapipe.tflite", python=MP_PYTHON)
    assert mp_model.is_file() and b"TFLITE_METADATA" in mp_model.read_bytes()
    mp_info, info = read_model_info(mp_model), read_model_info(model)
    assert replace(mp_info, digest="") == replace(info, digest="")  # our metadata survives MediaPipe's writer
    assert check_digest(mp_model.read_bytes(), mp_model.name)  # re-stamped over the repacked file + labels zip
    assert mp_info.digest != info.digest
    conf, cat = _mediapipe_masks(mp_model, images, tmp_path)
    seg = Segmenter(mp_model, threads=1)  # LiteRT loads the file with the zip of labels appended
    dices, gap = [], 0.0
    for i, path in enumerate(images):
        res = seg.segment(load_image(path))
        mp_mask = conf[i] > seg.info.threshold
        assert mp_mask.any() and not mp_mask.all()
        # One-channel output: category 0 ("lesion") where confidence > 0.5, 255 (no category) elsewhere.
        assert np.mean((cat[i] == 0) == mp_mask) > 0.99
        dices.append(_dice(mp_mask, res.mask > 0))
        gap = max(gap, float(np.abs(conf[i] - res.prob).max()))
    return dices, gap


def test_int8_uint8_io_loads_in_mediapipe_and_matches_munet_run(session_converter, model_size_images, tmp_path):
    model = session_converter.convert("int8", tmp_path / "tiny_int8_uint8.tflite", io="uint8").path
    dices, gap = _check(model, model_size_images, tmp_path)
    # MediaPipe feeds raw pixels p (= (p-128)/127.5 after pinning the input quantization); preprocess gives
    # (p-127.5)/127.5, which rounds to p or p+1: a one-step input difference, a few border pixels.
    assert np.mean(dices) >= 0.99 and min(dices) >= 0.98, dices
    assert gap < 0.25


def test_float32_loads_in_mediapipe_with_identical_mask(converted, model_size_images, tmp_path):
    dices, gap = _check(converted["float32"], model_size_images, tmp_path)
    assert min(dices) == 1.0, dices
    assert gap < 1e-4


def test_int8_io_is_refused_with_one_line(converted, tmp_path):
    proc = subprocess.run(
        [MP_PYTHON, "-m", "munet.convert.mediapipe", str(converted["int8"]), str(tmp_path / "x.tflite")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "--io uint8" in proc.stderr
    assert not (tmp_path / "x.tflite").exists()


def test_cli_mediapipe_without_mediapipe_is_one_line(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import munet.convert.mediapipe as mpmod
    from munet.convert.cli import main

    monkeypatch.setattr(mpmod, "mediapipe_python", lambda: None)
    res = CliRunner().invoke(main, [str(tmp_path / "missing.keras"), "--mediapipe"])
    assert res.exit_code == 2
    assert "pip install mediapipe" in res.output and res.output.strip().count("\n") == 0


# --------------------------------------------------------------------------------------- bundled models, real data
#: Validation images per bundled model (evenly spaced over the sorted split; 200 ISIC, 110 brain slices in all).
N_VAL = 30


@pytest.mark.shared
@pytest.mark.parametrize(("name", "dataset"), [("skin", "isic"), ("brain", "brain_mri")])
def test_bundled_model_in_mediapipe_agrees_with_munet_run(name, dataset, shared_dir, tmp_path):
    """The bundled file as shipped (no conversion step) loads in MediaPipe's ImageSegmenter; its confidence mask
    thresholded at 0.5 matches munet-run's mask on validation images.

    At the model's input size (images resized the munet way first) both runtimes see the same pixels: pixel agreement
    >= 0.99 and mean per-image Dice >= 0.98 (measured on these 30 with `pytest -s -k bundled_model_in_mediapipe`,
    2026-12-07: skin 0.997 / 0.993, brain 0.9999 / 0.997; the rest is MediaPipe reading raw pixels half a
    quantization step from munet's x / 127.5 - 1). At the original size MediaPipe also resizes with its own
    (bilinear) filter, munet-run with area averaging: pixel agreement still >= 0.99, Dice lower (skin 0.983, brain
    0.987).
    """
    import cv2

    from munet.edge.bundled import PACKAGE_DIR, bundled_models
    from munet.edge.preprocess import resize_image
    from munet.edge.runtime import Segmenter
    from munet.imageio import load_image

    model = bundled_models(PACKAGE_DIR)[name].path
    if not model.is_file():
        pytest.skip(f"{model} not present")
    folder = shared_dir / "data" / dataset / "val" / "images"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    every = sorted(folder.iterdir())
    images = [every[i] for i in np.linspace(0, len(every) - 1, N_VAL).astype(int)]
    seg = Segmenter(model, threads=1)
    small = []
    for path in images:
        small.append(tmp_path / f"{path.stem}.png")
        cv2.imwrite(str(small[-1]), resize_image(load_image(path), seg.input_size)[:, :, ::-1])
    for paths, min_dice in ((small, 0.98), (images, 0.96)):
        conf, cat = _mediapipe_masks(model, paths, tmp_path)
        agreement, dices = [], []
        for i, path in enumerate(paths):
            ours = seg.segment(load_image(path)).mask > 0
            theirs = conf[i] > seg.info.threshold
            assert theirs.shape == ours.shape
            assert np.mean((cat[i] == 0) == theirs) > 0.99  # the category mask is the same threshold
            agreement.append(float(np.mean(theirs == ours)))
            dices.append(_dice(theirs, ours))
        where = "model size" if paths is small else "original size"
        print(f"{name}, {where}: pixel agreement {np.mean(agreement):.4f}, Dice {np.mean(dices):.3f}")
        assert np.mean(agreement) >= 0.99, (paths[0].parent, agreement)
        assert np.mean(dices) >= min_dice, (paths[0].parent, dices)
