"""munet.imageio (core, TF-free): reading images and masks of every bit depth / channel count, the errors for bad
files, and atomic writes (munet.atomic)."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from munet import imageio
from munet.errors import InputError
from munet.imageio import list_images, load_image, load_mask, write_png_atomic


def _write(path, array):
    assert cv2.imwrite(str(path), array)
    return path


def test_color_image_is_rgb(tmp_path):
    bgr = np.zeros((4, 5, 3), np.uint8)
    bgr[..., 0] = 200  # blue in OpenCV's BGR
    img = load_image(_write(tmp_path / "a.png", bgr))
    assert img.shape == (4, 5, 3) and img.dtype == np.uint8
    assert img[0, 0].tolist() == [0, 0, 200]


def test_gray_rgba_and_16bit(tmp_path):
    gray = load_image(_write(tmp_path / "g.png", np.full((4, 4), 77, np.uint8)))
    assert gray.shape == (4, 4, 3) and np.all(gray == 77)
    bgra = np.zeros((4, 4, 4), np.uint8)
    bgra[..., 2] = 255
    bgra[..., 3] = 10
    rgba = load_image(_write(tmp_path / "r.png", bgra))
    assert rgba.shape == (4, 4, 3) and rgba[0, 0].tolist() == [255, 0, 0]
    deep = load_image(_write(tmp_path / "d.png", np.full((4, 4), 65535, np.uint16)))
    assert deep.dtype == np.uint8 and np.all(deep == 255)
    mid = load_image(_write(tmp_path / "m.png", np.full((4, 4, 3), 257 * 100, np.uint16)))
    assert np.all(mid == 100)


def test_missing_truncated_and_fake_images_give_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="no such image"):
        load_image(tmp_path / "nope.jpg")
    good = tmp_path / "good.jpg"
    _write(good, np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    truncated = tmp_path / "trunc.jpg"
    truncated.write_bytes(good.read_bytes()[:100])
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    for path in (truncated, fake):
        with pytest.raises(InputError) as err:
            load_image(path)
        assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_masks_binarised_with_single_warning(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(imageio, "_warned_nonbinary", False)
    assert load_mask(_write(tmp_path / "m255.png", np.array([[0, 255]], np.uint8))).tolist() == [[0, 1]]
    assert load_mask(_write(tmp_path / "m1.png", np.array([[0, 1]], np.uint8))).tolist() == [[0, 1]]
    noisy = np.array([[0, 3, 127, 128, 250]], np.uint8)
    with caplog.at_level(logging.WARNING):
        first = load_mask(_write(tmp_path / "n1.png", noisy))
        load_mask(_write(tmp_path / "n2.png", noisy))
    assert first.tolist() == [[0, 0, 0, 1, 1]]
    assert sum("not binary" in r.message for r in caplog.records) == 1


def test_list_images_file_folder_glob_and_empty(tmp_path):
    for name in ("b.png", "a.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in list_images(tmp_path)] == ["a.jpg", "b.png"]
    assert [p.name for p in list_images(tmp_path / "b.png")] == ["b.png"]
    assert [p.name for p in list_images(str(tmp_path / "*.png"))] == ["b.png"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="holds no image"):
        list_images(empty)
    with pytest.raises(InputError, match="no such file"):
        list_images(tmp_path / "missing")


def test_write_png_atomic_leaves_no_temp_files(tmp_path):
    out = tmp_path / "sub" / "mask.png"
    write_png_atomic(out, np.full((3, 3), 255, np.uint8))
    assert load_mask(out).sum() == 9
    assert [p.name for p in out.parent.iterdir()] == ["mask.png"]


def test_atomic_writes_use_normal_permissions(tmp_path):
    import os

    from munet.atomic import write_text_atomic

    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
