"""munet.data: dataset layouts (with and without masks), pixel formats, bad inputs (one-line InputError naming the
file), group-aware splits and seeded samples."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import munet.imageio as imageio
from munet.data import (
    Pair,
    detect_layout,
    find_pairs,
    load_pair,
    sample_folder,
    sample_pairs,
    split_pairs,
    subset_folder,
)
from munet.errors import InputError

RNG = np.random.default_rng(0)


def _image(h: int = 24, w: int = 32) -> np.ndarray:
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _mask(h: int = 24, w: int = 32) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    mask[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = 255
    return mask


def _write(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), array)
    return path


def _one_line_naming(exc: pytest.ExceptionInfo, name: str) -> str:
    message = str(exc.value)
    assert "\n" not in message
    assert name in message, message
    return message


# ------------------------------------------------------------------------------------------------- layouts
@pytest.mark.parametrize("suffix", ["", "_mask", "_segmentation", "_Segmentation"])
def test_folder_layout_pairs_by_stem_and_mask_suffix(tmp_path, suffix):
    for stem in ("b", "a", "c"):
        _write(tmp_path / "images" / f"{stem}.jpg", _image())
        _write(tmp_path / "masks" / f"{stem}{suffix}.png", _mask())
    pairs = find_pairs(tmp_path)
    assert [p.image.name for p in pairs] == ["a.jpg", "b.jpg", "c.jpg"]
    assert [p.mask.name for p in pairs] == [f"{s}{suffix}.png" for s in "abc"]
    assert [p.group for p in pairs] == ["a", "b", "c"]
    assert detect_layout(tmp_path) == "folder"


@pytest.mark.parametrize("suffix", ["_segmentation", "_Segmentation"])
def test_isic_flat_naming(tmp_path, suffix):
    for i in range(3):
        _write(tmp_path / f"ISIC_000000{i}.jpg", _image())
        _write(tmp_path / f"ISIC_000000{i}{suffix}.png", _mask())
    pairs = find_pairs(tmp_path, "auto")
    assert detect_layout(tmp_path) == "isic"
    assert [(p.image.stem, p.mask.stem) for p in pairs] == [
        (f"ISIC_000000{i}", f"ISIC_000000{i}{suffix}") for i in range(3)
    ]


def test_isic_challenge_data_and_groundtruth_folders(tmp_path):
    data, truth = tmp_path / "ISIC-2017_Training_Data", tmp_path / "ISIC-2017_Training_Part1_GroundTruth"
    for i in range(2):
        _write(data / f"ISIC_000000{i}.jpg", _image())
        _write(data / f"ISIC_000000{i}_superpixels.png", _image())  # ISIC 2017 extra files: ignored
        _write(truth / f"ISIC_000000{i}_segmentation.png", _mask())
    (data / "ISIC-2017_Training_Data_metadata.csv").write_text("image_id,age\n")
    pairs = find_pairs(tmp_path, "isic")
    assert [p.image.name for p in pairs] == ["ISIC_0000000.jpg", "ISIC_0000001.jpg"]
    assert all(p.mask.parent == truth for p in pairs)
    assert find_pairs(tmp_path) == pairs


def test_isic_full_res_style_jpeg_masks_in_one_folder(tmp_path):
    _write(tmp_path / "ISIC_0000110.jpg", _image())
    _write(tmp_path / "ISIC_0000110_mask.jpg", _mask())
    (pair,) = find_pairs(tmp_path)
    assert pair.mask.name == "ISIC_0000110_mask.jpg"
    image, mask = load_pair(pair)
    assert set(np.unique(mask).tolist()) == {0, 1}
    assert mask.sum() == (_mask() > 0).sum()  # the JPEG noise is binarised away at 128


def test_lgg_kaggle_3m_layout_groups_by_patient(tmp_path):
    root = tmp_path / "kaggle_3m"
    for patient in ("TCGA_CS_4941_19960909", "TCGA_DU_5849_19950405", "TCGA_HT_7860_19960513"):
        for n in (1, 2, 10):
            _write(root / patient / f"{patient}_{n}.tif", _image(16, 16))
            _write(root / patient / f"{patient}_{n}_mask.tif", _mask(16, 16))
    (root / "data.csv").write_text("Patient\n")
    for data in (tmp_path, root):
        pairs = find_pairs(data)
        assert detect_layout(data) == "lgg"
        assert len(pairs) == 9
        assert all(p.mask.name == p.image.stem + "_mask.tif" for p in pairs)
        assert {p.group for p in pairs} == {"TCGA_CS_4941_19960909", "TCGA_DU_5849_19950405", "TCGA_HT_7860_19960513"}
    train, val = split_pairs(pairs, 0.3, seed=1)
    assert {p.group for p in train}.isdisjoint({p.group for p in val})
    assert len(train) + len(val) == 9 and len(val) == 3


def test_lgg_images_masks_layout_takes_patient_from_name(tmp_path):
    for name in ("TCGA_A_1", "TCGA_A_2", "TCGA_B_1"):
        _write(tmp_path / "images" / f"{name}.png", _image())
        _write(tmp_path / "masks" / f"{name}.png", _mask())
    pairs = find_pairs(tmp_path)
    assert detect_layout(tmp_path) == "lgg"
    assert [p.group for p in pairs] == ["TCGA_A", "TCGA_A", "TCGA_B"]


def _write_mat(path: Path, image: np.ndarray, mask: np.ndarray, pid: str | None = "100360") -> Path:
    """A figshare brain tumour file as MATLAB v7.3 writes it: HDF5, arrays stored column-major (transposed)."""
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        cj = f.create_group("cjdata")
        cj["image"] = image.T
        cj["tumorMask"] = mask.T
        cj["label"] = np.array([[1.0]])
        if pid is not None:
            cj["PID"] = np.array([[ord(c)] for c in pid], dtype=np.uint16)
    return path


def test_figshare_mat_v73_is_transposed_back_and_minmax_scaled(tmp_path):
    image = np.zeros((40, 56), np.int16)  # non-square, so a missing transpose would show
    image[:, :28] = -300
    image[:, 28:] = 900
    image[0, 0] = 1200
    mask = np.zeros((40, 56), np.uint8)
    mask[5:15, 30:50] = 1
    _write_mat(tmp_path / "1.mat", image, mask, pid="100360")
    _write_mat(tmp_path / "2.mat", image, mask, pid="112649")
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "cvind.mat", "w") as f:  # the dataset's fold indices: not a sample
        f["cvind"] = np.ones((1, 2))
    pairs = find_pairs(tmp_path)
    assert detect_layout(tmp_path) == "figshare"
    assert [p.image.name for p in pairs] == ["1.mat", "2.mat"]
    assert all(p.image == p.mask for p in pairs)
    assert [p.group for p in pairs] == ["100360", "112649"]
    rgb, m = load_pair(pairs[0])
    assert rgb.shape == (40, 56, 3) and rgb.dtype == np.uint8 and m.shape == (40, 56)
    assert np.array_equal(m, mask)
    assert rgb[0, 0, 0] == 255 and rgb[1, 0, 0] == 0  # max -> 255, min -> 0, per image
    assert rgb[1, 40, 0] == round((900 + 300) / 1500 * 255)
    assert np.array_equal(rgb[..., 0], rgb[..., 2])


def test_figshare_without_h5py_says_how_to_install(tmp_path, monkeypatch):
    _write_mat(tmp_path / "1.mat", np.ones((8, 8), np.int16), np.zeros((8, 8), np.uint8))
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(InputError) as exc:
        find_pairs(tmp_path, "figshare")
    assert "pip install h5py" in _one_line_naming(exc, "1.mat")


def test_mat_that_is_not_v73_hdf5(tmp_path):
    (tmp_path / "old.mat").write_bytes(b"MATLAB 5.0 MAT-file, Platform: GLNXA64" + bytes(200))
    with pytest.raises(InputError) as exc:
        find_pairs(tmp_path, "figshare")
    assert "v7.3" in _one_line_naming(exc, "old.mat")


# -------------------------------------------------------------------------------------------- pixel formats
def test_16bit_gray_rgba_images_become_rgb_uint8(tmp_path):
    gray16 = (np.arange(24 * 32).reshape(24, 32) * 80).astype(np.uint16)
    bgra = np.zeros((24, 32, 4), np.uint8)
    bgra[..., 0], bgra[..., 1], bgra[..., 2], bgra[..., 3] = 10, 20, 200, 128  # B, G, R, alpha
    gray8 = RNG.integers(0, 256, (24, 32), dtype=np.uint8)
    rgb16 = np.full((24, 32, 3), 257 * 40, np.uint16)
    for name, array in (("g16", gray16), ("rgba", bgra), ("g8", gray8), ("c16", rgb16)):
        _write(tmp_path / "images" / f"{name}.png", array)
        _write(tmp_path / "masks" / f"{name}.png", _mask())
    loaded = {p.image.stem: load_pair(p)[0] for p in find_pairs(tmp_path)}
    for image in loaded.values():
        assert image.dtype == np.uint8 and image.shape == (24, 32, 3)
    assert np.array_equal(loaded["g16"][..., 1], np.round(gray16 / 257).astype(np.uint8))
    assert loaded["rgba"][0, 0].tolist() == [200, 20, 10]  # RGB order, alpha dropped
    assert all(np.array_equal(loaded["g8"][..., c], gray8) for c in range(3))
    assert loaded["c16"][0, 0].tolist() == [40, 40, 40]


def test_16bit_and_rgb_masks_are_binarised(tmp_path):
    _write(tmp_path / "images" / "a.png", _image())
    _write(tmp_path / "masks" / "a.png", _mask().astype(np.uint16) * 257)
    _write(tmp_path / "images" / "b.png", _image())
    _write(tmp_path / "masks" / "b.png", np.repeat(_mask()[..., None], 3, axis=2))
    for pair in find_pairs(tmp_path):
        _, mask = load_pair(pair)
        assert mask.dtype == np.uint8 and np.array_equal(mask, (_mask() > 0).astype(np.uint8))


# ---------------------------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_truncated_image(tmp_path, ext):
    ok, buf = cv2.imencode(ext, _image(64, 64))
    path = tmp_path / "images" / f"a{ext}"
    path.parent.mkdir()
    path.write_bytes(buf.tobytes()[: len(buf) // 2])
    _write(tmp_path / "masks" / "a.png", _mask(64, 64))
    with pytest.raises(InputError) as exc:
        load_pair(find_pairs(tmp_path)[0])
    assert "truncated" in _one_line_naming(exc, f"images/a{ext}")


def test_text_file_renamed_png(tmp_path):
    _write(tmp_path / "images" / "a.png", _image())
    (tmp_path / "masks").mkdir()
    (tmp_path / "masks" / "a.png").write_text("this is not a picture\n")
    with pytest.raises(InputError) as exc:
        load_pair(find_pairs(tmp_path)[0])
    assert "cannot decode" in _one_line_naming(exc, "masks/a.png")


def test_image_without_mask(tmp_path):
    for stem in ("a", "b"):
        _write(tmp_path / "images" / f"{stem}.png", _image())
    _write(tmp_path / "masks" / "a.png", _mask())
    with pytest.raises(InputError) as exc:
        find_pairs(tmp_path)
    assert "without mask" in _one_line_naming(exc, "b.png")


def test_mask_of_another_size(tmp_path):
    _write(tmp_path / "images" / "a.png", _image(24, 32))
    _write(tmp_path / "masks" / "a.png", _mask(32, 24))
    with pytest.raises(InputError) as exc:
        load_pair(find_pairs(tmp_path)[0])
    message = _one_line_naming(exc, "masks/a.png")
    assert "24x32" in message and "32x24" in message and "resize" in message


def test_noisy_jpeg_mask_is_binarised_with_one_warning(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(imageio, "_warned_nonbinary", False)
    noisy = np.clip(_mask(48, 64).astype(int) + RNG.integers(-40, 40, (48, 64)), 0, 255).astype(np.uint8)
    for stem in ("a", "b"):
        _write(tmp_path / "images" / f"{stem}.jpg", _image(48, 64))
        _write(tmp_path / "masks" / f"{stem}.jpg", noisy)
    with caplog.at_level(logging.WARNING):
        masks = [load_pair(p)[1] for p in find_pairs(tmp_path)]
    assert all(np.array_equal(m, (_mask(48, 64) > 0).astype(np.uint8)) for m in masks)
    warnings = [r for r in caplog.records if "not binary" in r.getMessage()]
    assert len(warnings) == 1 and "a.jpg" in warnings[0].getMessage()


def test_empty_and_missing_folders(tmp_path):
    with pytest.raises(InputError) as exc:
        find_pairs(tmp_path)
    assert "empty folder" in _one_line_naming(exc, str(tmp_path))
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    with pytest.raises(InputError) as exc:
        find_pairs(tmp_path)
    assert "empty folder" in _one_line_naming(exc, "images")
    with pytest.raises(InputError) as exc:
        find_pairs(tmp_path / "nope")
    _one_line_naming(exc, "nope")


def test_unknown_layout_name_and_unrecognised_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    _write(tmp_path / "photo.png", _image())
    with pytest.raises(InputError) as exc:
        find_pairs(tmp_path, "coco")
    assert "auto, isic, lgg, figshare, folder" in _one_line_naming(exc, "coco")
    with pytest.raises(InputError) as exc:
        find_pairs(tmp_path)
    message = _one_line_naming(exc, str(tmp_path))
    assert all(name in message for name in ("folder (", "isic (", "lgg (", "figshare ("))
    with pytest.raises(InputError) as exc:
        find_pairs(tmp_path, "lgg")
    assert "lgg" in _one_line_naming(exc, str(tmp_path))


def test_parent_of_split_folders_points_at_a_split(tmp_path):
    for split in ("val", "train"):
        _write(tmp_path / split / "images" / "a.png", _image())
        _write(tmp_path / split / "masks" / "a.png", _mask())
    with pytest.raises(InputError) as exc:
        find_pairs(tmp_path)
    assert str(tmp_path / "train") in _one_line_naming(exc, str(tmp_path))


# --------------------------------------------------------------------------------------- images without masks
def _isic_challenge(root: Path, n: int = 3, truth: bool = True) -> Path:
    """The ISIC 2018 download as unpacked: separate ``..._Input`` and ``..._GroundTruth`` folders."""
    data, gt = root / "ISIC2018_Task1-2_Training_Input", root / "ISIC2018_Task1_Training_GroundTruth"
    for i in range(n):
        _write(data / f"ISIC_000000{i}.jpg", _image())
        if truth:
            _write(gt / f"ISIC_000000{i}_segmentation.png", _mask())
    return root


def _lgg_patients(root: Path, slices: int = 2) -> Path:
    """The LGG "kaggle_3m" download: one folder per patient, ``<patient>_<n>.tif`` + ``<patient>_<n>_mask.tif``."""
    for patient in ("TCGA_CS_4941_19960909", "TCGA_DU_5849_19950405"):
        for n in range(1, slices + 1):
            _write(root / patient / f"{patient}_{n}.tif", _image(16, 16))
            _write(root / patient / f"{patient}_{n}_mask.tif", _mask(16, 16))
    return root


def test_without_masks_the_same_layouts_give_the_same_images(tmp_path):
    for data in (_isic_challenge(tmp_path / "isic"), _lgg_patients(tmp_path / "lgg")):
        assert find_pairs(data, masks=False) == find_pairs(data)


def test_without_masks_images_alone_are_a_dataset(tmp_path):
    flat = tmp_path / "flat"
    for stem in ("b", "a"):
        _write(flat / f"{stem}.jpg", _image())
    pairs = find_pairs(flat, masks=False)
    assert [(p.image.name, p.mask, p.group) for p in pairs] == [("a.jpg", None, "a"), ("b.jpg", None, "b")]
    with pytest.raises(InputError, match="unknown dataset layout"):
        find_pairs(flat)  # with masks required a folder of images alone is no dataset
    _write(tmp_path / "split" / "images" / "c.png", _image())
    assert [p.mask for p in find_pairs(tmp_path / "split", masks=False)] == [None]
    test_set = _isic_challenge(tmp_path / "isic_test", truth=False)  # the challenge's test images: no ground truth
    assert [p.image.name for p in find_pairs(test_set, masks=False)] == [f"ISIC_000000{i}.jpg" for i in range(3)]


def test_without_masks_a_flat_folder_keeps_its_masks_apart(tmp_path):
    _write(tmp_path / "x.jpg", _image())
    _write(tmp_path / "x_mask.png", _mask())
    _write(tmp_path / "y.jpg", _image())
    pairs = find_pairs(tmp_path, masks=False)
    assert [(p.image.name, p.mask.name if p.mask else None) for p in pairs] == [
        ("x.jpg", "x_mask.png"),
        ("y.jpg", None),
    ]
    with pytest.raises(InputError) as exc:
        find_pairs(tmp_path)
    assert "image without mask" in _one_line_naming(exc, "y.jpg")


# ------------------------------------------------------------------------------------------------- splits
def test_split_is_group_aware_deterministic_and_sized():
    pairs = [Pair(Path(f"p{g}_{i}.png"), Path(f"m{g}_{i}.png"), f"p{g}") for g in range(10) for i in range(g % 3 + 1)]
    train, val = split_pairs(pairs, 0.25, seed=3)
    assert {p.group for p in train}.isdisjoint({p.group for p in val})
    assert sorted(train + val, key=str) == sorted(pairs, key=str)
    assert len(val) >= 0.25 * len(pairs) and len(val) < 0.25 * len(pairs) + 3
    assert split_pairs(pairs, 0.25, seed=3) == (train, val)
    assert split_pairs(pairs, 0.25, seed=4) != (train, val)
    assert split_pairs(pairs, 0.0) == (pairs, [])
    with pytest.raises(InputError):
        split_pairs(pairs[:1], 0.2)
    with pytest.raises(InputError):
        split_pairs(pairs, 1.0)


# --------------------------------------------------------------------------------------- real shared data
@pytest.mark.shared
def test_shared_isic_counts_and_pairs(isic_dir):
    train, val = find_pairs(isic_dir / "train"), find_pairs(isic_dir / "val")
    assert (len(train), len(val)) == (1933, 200)
    assert detect_layout(isic_dir / "train") == "isic"
    assert all(p.image.stem == p.mask.stem for p in train + val)
    assert {p.image.stem for p in train}.isdisjoint({p.image.stem for p in val})
    image, mask = load_pair(val[0])
    assert image.shape == (192, 256, 3) and mask.shape == (192, 256) and set(np.unique(mask)) <= {0, 1}
    full = find_pairs(isic_dir / "full_res")
    assert len(full) == 10 and all(p.mask.name == f"{p.image.stem}_mask.jpg" for p in full)


@pytest.mark.shared
def test_shared_brain_mri_patient_split(shared_dir):
    pairs = find_pairs(shared_dir / "data" / "brain_mri" / "train")
    assert detect_layout(shared_dir / "data" / "brain_mri" / "train") == "lgg"
    assert len(pairs) == 434
    listed = (shared_dir / "data" / "brain_mri" / "patients_train.txt").read_text().split()
    assert {p.group for p in pairs} == set(listed)
    train, val = split_pairs(pairs, 0.2, seed=0)
    assert train and val
    assert {p.group for p in train}.isdisjoint({p.group for p in val})


def test_seeded_sample_and_sample_folder(tmp_path):
    data = tmp_path / "data"
    for i in range(5):
        _write(data / "images" / f"s{i}.jpg", _image())
        _write(data / "masks" / f"s{i}.png", _mask())
    pairs = find_pairs(data)
    chosen = sample_pairs(pairs, 2, seed=5)
    assert len(chosen) == 2 and chosen == sample_pairs(pairs, 2, seed=5) != sample_pairs(pairs, 2, seed=6)
    assert chosen == sorted(chosen, key=lambda p: str(p.image)) and sample_pairs(pairs, None, 5) == pairs
    dest, linked = subset_folder(pairs, 2, 5, tmp_path / "sub")
    assert linked == chosen and [p.image.name for p in find_pairs(dest, "folder")] == [p.image.name for p in chosen]
    a = sample_folder(data, 2, tmp_path / "a")
    b = sample_folder(data, 2, tmp_path / "b")
    assert sorted(p.name for p in (a / "images").iterdir()) == sorted(p.name for p in (b / "images").iterdir())
    assert len(list((a / "masks").iterdir())) == 2
    assert sample_folder(data, None, tmp_path / "c") == data and sample_folder(data, 99, tmp_path / "d") == data
    with pytest.raises(InputError, match="separate image and mask"):
        subset_folder([Pair(data / "images" / "s0.jpg", None, "s0")], 1, 0, tmp_path / "e")
