"""munet.data: the one place that knows dataset folders (TF-free core, shared by train, convert and benchmarks).

* :mod:`.layouts`: the dataset layouts (ISIC challenge folders, LGG patient folders, ``images/`` + ``masks/``,
  flat folders, figshare ``.mat``) and :func:`find_pairs`, which finds their image/mask :class:`Pair` s; with
  ``masks=False`` images without masks too (int8 calibration needs only images).
* :mod:`.read`: :func:`load_pair` -> RGB ``uint8`` image and ``{0, 1}`` mask; :func:`load_pairs` -> the
  :class:`LoadedPair` s every evaluation scores.
* :mod:`.splits`: the group-preserving train/validation split, seeded samples and sample folders.
* :mod:`.folds`: K-fold files (``name,group,fold``), grouped by patient.

It imports nothing from ``munet.train``, ``munet.convert``, ``munet.edge`` or ``munet.benchmarks``, nor
TensorFlow/Keras (an import-linter contract in pyproject.toml).
"""

from munet.data.folds import (
    FOLD_COLUMNS,
    FoldItem,
    assign_pairs,
    folds_csv,
    make_folds,
    pooled_pairs,
    read_folds,
    write_folds,
)
from munet.data.layouts import (
    IGNORED_SUFFIXES,
    LAYOUTS,
    MASK_SUFFIXES,
    Pair,
    detect_layout,
    find_pairs,
)
from munet.data.read import LoadedPair, load_mat, load_pair, load_pairs, minmax_to_uint8
from munet.data.splits import sample_folder, sample_pairs, split_pairs, subset_folder

__all__ = [
    "FOLD_COLUMNS",
    "IGNORED_SUFFIXES",
    "LAYOUTS",
    "MASK_SUFFIXES",
    "FoldItem",
    "LoadedPair",
    "Pair",
    "assign_pairs",
    "detect_layout",
    "find_pairs",
    "folds_csv",
    "load_mat",
    "load_pair",
    "load_pairs",
    "make_folds",
    "minmax_to_uint8",
    "pooled_pairs",
    "read_folds",
    "sample_folder",
    "sample_pairs",
    "split_pairs",
    "subset_folder",
    "write_folds",
]
