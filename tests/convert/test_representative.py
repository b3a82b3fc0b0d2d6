"""Calibration images (``munet-convert --calib-data``): found by the core finder, so every ``--data`` layout works."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from munet.convert.representative import calibration_arrays, find_samples, load_inputs
from munet.data import find_pairs
from munet.errors import InputError
from tests.munet.test_data import _image, _isic_challenge, _lgg_patients, _mask, _write, _write_mat

SIZE = (32, 32)


@pytest.mark.parametrize("layout", ["isic", "lgg"])
def test_calib_data_accepts_the_layouts_that_data_accepts(tmp_path: Path, layout: str) -> None:
    data = _isic_challenge(tmp_path, n=6) if layout == "isic" else _lgg_patients(tmp_path, slices=3)
    samples = find_samples(data)
    assert samples == find_pairs(data) and len(samples) == 6  # the images of --data, each with its mask
    x, held = calibration_arrays(data, SIZE, count=100)
    assert x.shape == (5, *SIZE, 3) and x.dtype == np.float32 and x.min() >= -1 and x.max() <= 1
    assert len(held) == 1 and held[0].mask is not None  # every 5th image, with its mask, for the gate
    _, truth, _ = load_inputs(samples, SIZE, "validation", with_masks=True)
    assert truth is not None and truth.shape == (6, *SIZE) and set(np.unique(truth).tolist()) == {0, 1}


def test_calib_data_accepts_figshare_mat_files(tmp_path: Path) -> None:
    for i in range(3):
        _write_mat(tmp_path / f"{i + 1}.mat", _image(20, 24)[:, :, 0].astype(np.int16) * 3, _mask(20, 24) > 0)
    samples = find_samples(tmp_path)
    assert [s.image.name for s in samples] == ["1.mat", "2.mat", "3.mat"]
    x, truth, _ = load_inputs(samples, SIZE, "validation", with_masks=True)
    assert x.shape == (3, *SIZE, 3) and truth is not None and truth.shape == (3, *SIZE)


def test_images_without_masks_a_glob_and_one_file(tmp_path: Path) -> None:
    for i in range(3):
        _write(tmp_path / "flat" / f"img{i}.jpg", _image())
    _write(tmp_path / "flat" / "img0_mask.png", _mask())  # a mask next to its image is no calibration image
    samples = find_samples(tmp_path / "flat")
    assert [(s.image.name, s.mask is not None) for s in samples] == [
        ("img0.jpg", True),
        ("img1.jpg", False),
        ("img2.jpg", False),
    ]
    assert [s.image.name for s in find_samples(tmp_path / "flat" / "img*.jpg")] == ["img0.jpg", "img1.jpg", "img2.jpg"]
    assert [s.image.name for s in find_samples(tmp_path / "flat" / "img1.jpg")] == ["img1.jpg"]
    _write(tmp_path / "ds" / "images" / "a.png", _image())
    _write(tmp_path / "ds" / "masks" / "a_mask.png", _mask())
    assert find_samples(tmp_path / "ds" / "images") == find_samples(tmp_path / "ds") == find_pairs(tmp_path / "ds")


def test_missing_and_empty_calibration_folders_get_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such calibration/validation folder"):
        find_samples(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no image") as err:
        find_samples(tmp_path / "empty")
    assert str(tmp_path / "empty") in str(err.value) and "\n" not in str(err.value)
