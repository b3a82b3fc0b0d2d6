"""Finding and reading image/mask pairs from the usual segmentation dataset layouts (TF-free).

Supported layouts (``find_pairs(data, layout)``):

* ``folder``: ``DATA/images/*`` + ``DATA/masks/*`` paired by file stem; a mask may also be named
  ``<stem>_mask``, ``<stem>_segmentation`` or ``<stem>_Segmentation`` (any image extension). A flat folder
  holding ``x.jpg`` next to ``x_mask.png`` (or ``_segmentation``/``_Segmentation``) works too.
* ``isic``: the ISIC challenge naming, ``ISIC_x.jpg`` + ``ISIC_x_segmentation.png`` (2018) or
  ``ISIC_x_Segmentation.png`` (2016), flat or in the challenge's separate ``..._Data``/``..._Input`` and
  ``..._GroundTruth`` folders (``_superpixels`` files are ignored); ``images/`` + ``masks/`` with the same stems;
  ``full_res`` style ``ISIC_x.jpg`` + ``ISIC_x_mask.jpg`` in one folder.
* ``lgg``: the LGG brain MRI "kaggle_3m" layout ``DATA/<patient>/<patient>_<n>.tif`` + ``<patient>_<n>_mask.tif``,
  or ``images/`` + ``masks/`` named ``<patient>_<n>.png``. The group is the patient, so
  :func:`split_pairs` never puts one patient's slices on both sides.
* ``figshare``: the figshare brain tumour ``.mat`` files (MATLAB v7.3 = HDF5, read with h5py):
  ``cjdata/image`` (int16, min-max scaled per image to 0..255) and ``cjdata/tumorMask``; group = ``cjdata/PID``.
* ``auto`` (default) picks the first that matches, else raises :class:`~munet.errors.InputError` listing them.

Every image is returned as RGB ``uint8``: 16-bit images are scaled to 8 bits, gray is replicated to three
channels and alpha is dropped (:func:`munet.edge.imageio.to_rgb_uint8`). Masks are ``{0, 1}``; a mask that is not
binary (e.g. a JPEG mask) is binarised at 128 with one warning per process.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from munet.edge.imageio import IMAGE_SUFFIXES, binarize_mask, to_rgb_uint8
from munet.errors import InputError

log = logging.getLogger(__name__)

LAYOUTS = ("auto", "isic", "lgg", "figshare", "folder")

#: Stem suffixes that mark a mask, in the order they are tried (``""`` = same stem, separate folder).
MASK_SUFFIXES = ("", "_mask", "_segmentation", "_Segmentation")
#: Stem suffixes of files that are neither image nor mask (ISIC 2017 superpixel maps).
IGNORED_SUFFIXES = ("_superpixels",)

_LAYOUT_HELP = (
    "folder (DATA/images + DATA/masks, same stems), "
    "isic (ISIC_x.jpg + ISIC_x_segmentation.png, flat or ..._Data/..._GroundTruth folders), "
    "lgg (DATA/<patient>/<patient>_<n>.tif + _mask.tif), "
    "figshare (*.mat MATLAB v7.3 files with cjdata/image and cjdata/tumorMask)"
)
_LGG_STEM = re.compile(r"^(?P<patient>.+)_(?P<n>\d+)$")


@dataclass(frozen=True)
class Pair:
    """One training example: an image file, its mask file and its group (patient id for MRI, else the stem).

    figshare ``.mat`` pairs have ``image == mask ==`` the ``.mat`` file.
    """

    image: Path
    mask: Path | None
    group: str


# --------------------------------------------------------------------------------------------------- discovery
def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if _is_image(p) and not p.stem.endswith(IGNORED_SUFFIXES))


def _mask_stem(stem: str) -> str | None:
    """The image stem a mask file belongs to, when its stem carries a mask suffix."""
    for suffix in MASK_SUFFIXES[1:]:
        if stem.endswith(suffix) and len(stem) > len(suffix):
            return stem[: -len(suffix)]
    return None


def _match(images: Sequence[Path], masks: Iterable[Path], where: Path, group_of=None) -> list[Pair]:
    """Pair each image with the mask of the same stem (plus one of :data:`MASK_SUFFIXES`)."""
    index: dict[str, Path] = {}
    for mask in sorted(masks):
        index.setdefault(mask.stem, mask)
    pairs, missing = [], []
    for image in images:
        found = next((index[image.stem + s] for s in MASK_SUFFIXES if image.stem + s in index), None)
        if found is None or found == image:
            missing.append(image)
            continue
        pairs.append(Pair(image, found, group_of(image) if group_of else image.stem))
    if missing:
        first = missing[0]
        raise InputError(
            f"{first}: image without mask ({len(missing)} of {len(images)} images in {where} lack one); "
            f"add a mask named {first.stem}{{,_mask,_segmentation}}.png or remove the image"
        )
    return pairs


def _flat_split(folder: Path) -> tuple[list[Path], list[Path]]:
    """Split a flat folder into images and masks (masks carry a ``_mask``/``_segmentation`` suffix)."""
    files = _images_in(folder)
    masks = [p for p in files if _mask_stem(p.stem) is not None]
    mask_set = set(masks)
    return [p for p in files if p not in mask_set], masks


def _lgg_group(path: Path) -> str:
    match = _LGG_STEM.match(path.stem)
    return match.group("patient") if match else path.stem


def _images_masks_dirs(data: Path) -> tuple[Path, Path] | None:
    images, masks = data / "images", data / "masks"
    if images.is_dir() and masks.is_dir():
        return images, masks
    return None


def _isic_challenge_dirs(data: Path) -> tuple[Path, Path] | None:
    subdirs = [p for p in data.iterdir() if p.is_dir()]
    inputs = sorted(p for p in subdirs if p.name.endswith(("_Data", "_Input")))
    truths = sorted(p for p in subdirs if p.name.endswith("_GroundTruth"))
    if len(inputs) == 1 and len(truths) == 1:
        return inputs[0], truths[0]
    return None


def _lgg_patient_dirs(data: Path) -> list[Path]:
    root = data / "kaggle_3m" if (data / "kaggle_3m").is_dir() else data
    return sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob(f"{p.name}_*_mask.tif")))


def _mat_files(data: Path) -> list[Path]:
    return sorted(p for p in data.rglob("*.mat") if p.is_file())


def _pairs_folder(data: Path, group_of=None) -> list[Pair] | None:
    dirs = _images_masks_dirs(data)
    if dirs is not None:
        images = _images_in(dirs[0])
        if not images:
            raise InputError(f"{dirs[0]}: empty folder, no image ({', '.join(IMAGE_SUFFIXES)}); add images")
        return _match(images, _images_in(dirs[1]), dirs[0], group_of)
    images, masks = _flat_split(data)
    if images and masks:
        return _match(images, masks, data, group_of)
    return None


def _pairs_isic(data: Path) -> list[Pair] | None:
    dirs = _isic_challenge_dirs(data)
    if dirs is not None:
        images = _images_in(dirs[0])
        if not images:
            raise InputError(f"{dirs[0]}: empty folder, no ISIC image; add the ISIC_x.jpg files")
        return _match(images, _images_in(dirs[1]), dirs[0])
    return _pairs_folder(data)


def _pairs_lgg(data: Path) -> list[Pair] | None:
    patients = _lgg_patient_dirs(data)
    if patients:
        pairs: list[Pair] = []
        for patient in patients:
            files = sorted(p for p in patient.glob("*.tif") if p.is_file())
            masks = [p for p in files if p.stem.endswith("_mask")]
            images = [p for p in files if not p.stem.endswith("_mask")]
            pairs += _match(images, masks, patient, group_of=lambda _p, name=patient.name: name)
        return pairs
    return _pairs_folder(data, group_of=_lgg_group)


def _mat_pid(path: Path) -> str | None:
    """The patient id of a figshare ``.mat`` file (``cjdata/PID``, else the stem); None without ``cjdata``."""
    h5py = _import_h5py(path)
    try:
        with h5py.File(path, "r") as f:
            if "cjdata" not in f:
                return None  # e.g. the dataset's cvind.mat (cross-validation indices)
            if "cjdata/PID" not in f:
                return path.stem
            codes = np.asarray(f["cjdata/PID"]).ravel()
            return "".join(chr(int(c)) for c in codes if int(c)) or path.stem
    except OSError as exc:
        raise InputError(
            f"{path}: not a MATLAB v7.3 (HDF5) file ({exc.__class__.__name__}); re-save it in MATLAB with "
            "save(..., '-v7.3') or remove it"
        ) from None


def _pairs_figshare(data: Path) -> list[Pair] | None:
    files = _mat_files(data)
    if not files:
        return None
    pairs = []
    for path in files:
        pid = _mat_pid(path)
        if pid is None:
            log.info("%s: no cjdata group, skipped", path)
        else:
            pairs.append(Pair(path, path, pid))
    return pairs


_READERS = {"isic": _pairs_isic, "lgg": _pairs_lgg, "figshare": _pairs_figshare, "folder": _pairs_folder}


def _detect(data: Path) -> str | None:
    """Name of the layout ``data`` looks like, or None."""
    dirs = _images_masks_dirs(data)
    if dirs is not None:
        stems = [p.stem for p in _images_in(dirs[0])]
        if stems and all(s.startswith("ISIC_") for s in stems):
            return "isic"
        if stems and all(s.startswith("TCGA_") and _LGG_STEM.match(s) for s in stems):
            return "lgg"
        return "folder"
    if _isic_challenge_dirs(data) is not None:
        return "isic"
    if _lgg_patient_dirs(data):
        return "lgg"
    images, masks = _flat_split(data)
    if images and masks:
        return "isic" if all(p.stem.startswith("ISIC_") for p in images) else "folder"
    if not images and _mat_files(data):
        return "figshare"
    return None


def detect_layout(data: str | Path) -> str:
    """The layout name :func:`find_pairs` would use for ``data`` with ``layout="auto"``."""
    data = _check_folder(data)
    name = _detect(data)
    if name is None:
        raise InputError(_no_layout_message(data))
    return name


def _check_folder(data: str | Path) -> Path:
    data = Path(data)
    if not data.exists():
        raise InputError(f"{data}: no such folder; check the --data path")
    if not data.is_dir():
        raise InputError(f"{data}: not a folder; pass the dataset folder (e.g. one holding images/ and masks/)")
    if not any(p for p in data.iterdir() if not p.name.startswith(".")):
        raise InputError(f"{data}: empty folder; put the images and masks there or pass another --data")
    return data


def _no_layout_message(data: Path) -> str:
    hint = ""
    splits = [p.name for p in sorted(data.iterdir()) if p.is_dir() and _detect(p) is not None]
    splits.sort(key=lambda name: name != "train")
    if splits:
        hint = f" (it has dataset subfolders {', '.join(splits)}: pass one of them, e.g. {data / splits[0]})"
    return f"{data}: unknown dataset layout{hint}; expected one of: {_LAYOUT_HELP}"


def find_pairs(data: str | Path, layout: str = "auto") -> list[Pair]:
    """All image/mask pairs under ``data`` in ``layout`` (``auto|isic|lgg|figshare|folder``), sorted by path.

    Raises :class:`~munet.errors.InputError` (one line naming the folder and the fix) for a missing or empty
    folder, an unknown layout, or an image without a mask.
    """
    if layout not in LAYOUTS:
        raise InputError(f"--dataset {layout!r}: unknown layout; choose one of {', '.join(LAYOUTS)}")
    data = _check_folder(data)
    name = _detect(data) if layout == "auto" else layout
    if name is None:
        raise InputError(_no_layout_message(data))
    pairs = _READERS[name](data)
    if pairs is None:
        raise InputError(f"{data}: does not look like the {name} layout; expected {_layout_help(name)}")
    if not pairs:
        raise InputError(f"{data}: no image/mask pair found; expected {_layout_help(name)}")
    log.info("%s: %d pairs (%s layout)", data, len(pairs), name)
    return pairs


def _layout_help(name: str) -> str:
    return next(part for part in _LAYOUT_HELP.split(", ") if part.startswith(name))


# ----------------------------------------------------------------------------------------------------- reading
def _import_h5py(path: Path):
    try:
        import h5py
    except ImportError:
        raise InputError(f"{path}: reading figshare .mat files needs h5py; install it with pip install h5py") from None
    return h5py


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
    h5py = _import_h5py(path)
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


# --------------------------------------------------------------------------------------------------- splitting
def split_pairs(pairs: Sequence[Pair], val_fraction: float, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """Split into (train, val) by group: all pairs of a group (a patient) land on the same side.

    Groups are shuffled with ``seed`` and moved to validation until at least ``val_fraction`` of the pairs
    are there; both sides are non-empty whenever there are two or more groups.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise InputError(f"--val-split {val_fraction}: must be in [0, 1)")
    if val_fraction == 0.0 or not pairs:
        return list(pairs), []
    groups: dict[str, list[Pair]] = {}
    for pair in pairs:
        groups.setdefault(pair.group, []).append(pair)
    if len(groups) < 2:
        raise InputError(
            f"{pairs[0].image.parent}: all {len(pairs)} pairs belong to one group ({pairs[0].group}); "
            "a group-aware validation split needs at least two, pass --val-data instead"
        )
    names = sorted(groups)
    random.Random(seed).shuffle(names)
    target = val_fraction * len(pairs)
    val_names: set[str] = set()
    count = 0
    for name in names[:-1]:  # keep at least one group for training
        if count >= target:
            break
        val_names.add(name)
        count += len(groups[name])
    train = [p for p in pairs if p.group not in val_names]
    val = [p for p in pairs if p.group in val_names]
    return train, val
