"""Finding image/mask pairs in the usual segmentation dataset layouts (TF-free; reading them: :mod:`.read`).

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
  :func:`munet.data.split_pairs` never puts one patient's slices on both sides.
* ``figshare``: the figshare brain tumour ``.mat`` files (MATLAB v7.3 = HDF5, read with h5py):
  ``cjdata/image`` (int16, min-max scaled per image to 0..255) and ``cjdata/tumorMask``; group = ``cjdata/PID``.
* ``auto`` (default) picks the first that matches, else raises :class:`~munet.errors.InputError` listing them.

``find_pairs(data, masks=False)`` finds the images of the same layouts when masks are optional (int8
calibration needs only images): an image without a mask is a :class:`Pair` with ``mask=None``, and a folder of
images alone (flat, or ``images/`` without ``masks/``, or an ISIC ``..._Input`` folder without ground truth) is
accepted as the ``folder`` (or ``isic``) layout.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from munet.errors import InputError
from munet.imageio import IMAGE_SUFFIXES

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
    """One example: an image file, its mask file and its group (patient id for MRI, else the stem).

    figshare ``.mat`` pairs have ``image == mask ==`` the ``.mat`` file; ``mask`` is None for an image without a
    mask, found only with ``find_pairs(..., masks=False)``.
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


def _match(images: Sequence[Path], masks: Iterable[Path], where: Path, group_of=None, required=True) -> list[Pair]:
    """Pair each image with the mask of the same stem (plus one of :data:`MASK_SUFFIXES`); with ``required``
    False an image without one gets ``mask=None``."""
    index: dict[str, Path] = {}
    for mask in sorted(masks):
        index.setdefault(mask.stem, mask)
    pairs, missing = [], []
    for image in images:
        found = next((index[image.stem + s] for s in MASK_SUFFIXES if image.stem + s in index), None)
        if found == image:
            found = None
        if found is None and required:
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


def _images_masks_dirs(data: Path, required: bool = True) -> tuple[Path, Path | None] | None:
    images, masks = data / "images", data / "masks"
    if images.is_dir() and masks.is_dir():
        return images, masks
    if images.is_dir() and not required:
        return images, None
    return None


def _isic_challenge_dirs(data: Path, required: bool = True) -> tuple[Path, Path | None] | None:
    subdirs = [p for p in data.iterdir() if p.is_dir()]
    inputs = sorted(p for p in subdirs if p.name.endswith(("_Data", "_Input")))
    truths = sorted(p for p in subdirs if p.name.endswith("_GroundTruth"))
    if len(inputs) == 1 and len(truths) == 1:
        return inputs[0], truths[0]
    if len(inputs) == 1 and not truths and not required:
        return inputs[0], None
    return None


def _lgg_patient_dirs(data: Path) -> list[Path]:
    root = data / "kaggle_3m" if (data / "kaggle_3m").is_dir() else data
    return sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob(f"{p.name}_*_mask.tif")))


def _mat_files(data: Path) -> list[Path]:
    return sorted(p for p in data.rglob("*.mat") if p.is_file())


def _masks_in(folder: Path | None) -> list[Path]:
    return _images_in(folder) if folder is not None else []


def _pairs_folder(data: Path, required: bool = True, group_of=None) -> list[Pair] | None:
    dirs = _images_masks_dirs(data, required)
    if dirs is not None:
        images = _images_in(dirs[0])
        if not images:
            raise InputError(f"{dirs[0]}: empty folder, no image ({', '.join(IMAGE_SUFFIXES)}); add images")
        return _match(images, _masks_in(dirs[1]), dirs[0], group_of, required)
    images, masks = _flat_split(data)
    if images and (masks or not required):
        return _match(images, masks, data, group_of, required)
    return None


def _pairs_isic(data: Path, required: bool = True) -> list[Pair] | None:
    dirs = _isic_challenge_dirs(data, required)
    if dirs is not None:
        images = _images_in(dirs[0])
        if not images:
            raise InputError(f"{dirs[0]}: empty folder, no ISIC image; add the ISIC_x.jpg files")
        return _match(images, _masks_in(dirs[1]), dirs[0], required=required)
    return _pairs_folder(data, required)


def _pairs_lgg(data: Path, required: bool = True) -> list[Pair] | None:
    patients = _lgg_patient_dirs(data)
    if patients:
        pairs: list[Pair] = []
        for patient in patients:
            files = sorted(p for p in patient.glob("*.tif") if p.is_file())
            masks = [p for p in files if p.stem.endswith("_mask")]
            images = [p for p in files if not p.stem.endswith("_mask")]
            pairs += _match(images, masks, patient, lambda _p, name=patient.name: name, required)
        return pairs
    return _pairs_folder(data, required, group_of=_lgg_group)


def _mat_pid(path: Path) -> str | None:
    """The patient id of a figshare ``.mat`` file (``cjdata/PID``, else the stem); None without ``cjdata``."""
    h5py = import_h5py(path)
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


def _pairs_figshare(data: Path, required: bool = True) -> list[Pair] | None:
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


def _detect(data: Path, required: bool = True) -> str | None:
    """Name of the layout ``data`` looks like (images alone suffice when masks are not ``required``), or None."""
    dirs = _images_masks_dirs(data, required)
    if dirs is not None:
        stems = [p.stem for p in _images_in(dirs[0])]
        if stems and all(s.startswith("ISIC_") for s in stems):
            return "isic"
        if stems and all(s.startswith("TCGA_") and _LGG_STEM.match(s) for s in stems):
            return "lgg"
        return "folder"
    if _isic_challenge_dirs(data, required) is not None:
        return "isic"
    if _lgg_patient_dirs(data):
        return "lgg"
    images, masks = _flat_split(data)
    if images and (masks or not required):
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


def _no_layout_message(data: Path, required: bool = True) -> str:
    hint = ""
    splits = [p.name for p in sorted(data.iterdir()) if p.is_dir() and _detect(p, required) is not None]
    splits.sort(key=lambda name: name != "train")
    if splits:
        hint = f" (it has dataset subfolders {', '.join(splits)}: pass one of them, e.g. {data / splits[0]})"
    return f"{data}: unknown dataset layout{hint}; expected one of: {_LAYOUT_HELP}"


def find_pairs(data: str | Path, layout: str = "auto", masks: bool = True) -> list[Pair]:
    """All image/mask pairs under ``data`` in ``layout`` (``auto|isic|lgg|figshare|folder``), sorted by path.

    ``masks=False``: masks are optional (calibration images); an image without one has ``mask=None``.
    Raises :class:`~munet.errors.InputError` (one line naming the folder and the fix) for a missing or empty
    folder, an unknown layout, or (with ``masks``) an image without a mask.
    """
    if layout not in LAYOUTS:
        raise InputError(f"--dataset {layout!r}: unknown layout; choose one of {', '.join(LAYOUTS)}")
    data = _check_folder(data)
    name = _detect(data, masks) if layout == "auto" else layout
    if name is None:
        raise InputError(_no_layout_message(data, masks))
    pairs = _READERS[name](data, masks)
    if pairs is None:
        raise InputError(f"{data}: does not look like the {name} layout; expected {_layout_help(name)}")
    if not pairs:
        raise InputError(f"{data}: no image/mask pair found; expected {_layout_help(name)}")
    log.info("%s: %d pairs (%s layout)", data, len(pairs), name)
    return pairs


def _layout_help(name: str) -> str:
    return next(part for part in _LAYOUT_HELP.split(", ") if part.startswith(name))


def import_h5py(path: Path):
    """h5py (an optional dependency: figshare ``.mat`` files only), or a one-line error naming ``path``."""
    try:
        import h5py
    except ImportError:
        raise InputError(f"{path}: reading figshare .mat files needs h5py; install it with pip install h5py") from None
    return h5py
