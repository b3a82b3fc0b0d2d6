"""The GPU path (munet.benchmarks.gpu): pack round trip, NumPy augmentation, and train_compare under Keras on JAX
with TensorFlow hidden (in a subprocess), its weights loaded back with the TensorFlow backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from munet.benchmarks.compare import Budget
from munet.benchmarks.gpu.augment import augment_batch, check_config, epoch_order
from munet.benchmarks.gpu.pack import load_pack, pack
from munet.benchmarks.gpu.train_compare import NOTE, better, previous_rows
from munet.data import find_pairs, load_pair
from munet.edge.metrics import METRIC_NAMES
from munet.edge.preprocess import preprocess_mask, resize_image
from munet.errors import InputError, MunetError
from munet.train.pipeline import AugmentConfig
from tests.tf_block import NO_TENSORFLOW

REPO = Path(__file__).resolve().parents[2]
SIZE = (64, 64)
#: The block hides TensorFlow only: Keras itself runs on JAX there.
NO_TF_ONLY = NO_TENSORFLOW.replace('("tensorflow", "keras")', '("tensorflow",)')


@pytest.fixture(scope="module")
def tiny_pack(tiny_pairs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pack") / "tiny_64.npz"
    pack({"train": tiny_pairs, "val": tiny_pairs}, SIZE, out)
    return out


def test_block_hides_tensorflow_only() -> None:
    assert NO_TF_ONLY != NO_TENSORFLOW  # the snippet still names the modules as this test expects


def test_pack_round_trip(tiny_pack: Path, tiny_pairs: Path) -> None:
    got = load_pack(tiny_pack)
    pairs = find_pairs(tiny_pairs)
    assert got["meta"]["size"] == list(SIZE) and got["meta"]["counts"] == {"train": 4, "val": 4}
    images, masks, names = got["val"]
    assert images.shape == (4, *SIZE, 3) and images.dtype == np.uint8 and masks.shape == (4, *SIZE)
    assert names == [p.image.stem for p in pairs]
    for i, pair in enumerate(pairs):
        image, mask = load_pair(pair)
        np.testing.assert_array_equal(masks[i], preprocess_mask(mask, SIZE)[:, :, 0])  # PNG: exact
        error = np.abs(images[i].astype(int) - resize_image(image, SIZE)).mean()
        assert error < 8.0  # JPEG quality 90 on sharp synthetic edges
    (bad := tiny_pack.with_name("bad.npz")).write_bytes(b"not a pack")
    with pytest.raises(InputError, match="not a readable pack"):
        load_pack(bad)


def test_augment_is_seeded_flips_and_rotates_pairs_alike() -> None:
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (4, 32, 32, 3)).astype(np.float32)
    masks = np.zeros((4, 32, 32, 1), np.float32)
    masks[:, 8:20, 4:12] = 1
    a = augment_batch(images, masks, (0, 1, 2), AugmentConfig())
    b = augment_batch(images, masks, (0, 1, 2), AugmentConfig())
    np.testing.assert_array_equal(a[0], b[0])
    assert set(np.unique(a[1])) <= {0.0, 1.0} and a[0].shape == images.shape
    assert not np.array_equal(a[0], augment_batch(images, masks, (0, 1, 3), AugmentConfig())[0])
    flips = augment_batch(images, masks, (5,), AugmentConfig(rotation_deg=0))  # flips only: exact copies
    for img, mask, out_img, out_mask in zip(images, masks, *flips, strict=True):
        same = np.array_equal(out_img, img) and np.array_equal(out_mask, mask)
        assert same or (np.array_equal(out_img, img[:, ::-1]) and np.array_equal(out_mask, mask[:, ::-1]))
    with pytest.raises(MunetError, match="hue"):
        check_config(AugmentConfig(hue=0.1))
    order = epoch_order(10, 4, seed=0, epoch=1)
    assert [len(o) for o in order] == [4, 4] and len(set(np.concatenate(order))) == 8
    assert [len(o) for o in epoch_order(3, 8, 0, 0)] == [3]


def test_previous_rows_need_the_same_budget(tmp_path: Path) -> None:
    budget = Budget(size=SIZE, epochs=2, alpha=0.35)
    doc = {"budget": {**budget.__dict__, "size": list(SIZE)}, "n_train": 4, "n_val": 4, "models": [{"arch": "munet"}]}
    (path := tmp_path / "compare_x.json").write_text(json.dumps(doc))
    assert list(previous_rows(path, budget, 4, 4)["rows"]) == ["munet"]
    with pytest.raises(InputError, match="epochs 2 -> 3"):
        previous_rows(path, Budget(size=SIZE, epochs=3, alpha=0.35), 4, 4)
    partial, full, failed = {"epochs": 1}, {"epochs": 2}, {"epochs": 0, "error": "x"}
    assert better(partial, full) is full and better(full, partial) is full and better(partial, failed) is partial


@pytest.mark.slow  # trains one epoch (about 30 s on 2 shared cores)
def test_train_compare_on_jax_without_tensorflow(tiny_pack: Path, tmp_path: Path) -> None:
    pytest.importorskip("jax")
    code = NO_TF_ONLY + (
        "import runpy\n"
        "sys.argv = ['train_compare', *sys.argv[1:]]\n"
        "runpy.run_module('munet.benchmarks.gpu.train_compare', run_name='__main__')\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'tensorflow']\n"
    )
    args = ["--pack", tiny_pack, "--name", "tiny", "--archs", "munet", "--alpha", "0.35", "--size", "64"]
    args += ["--epochs", "1", "--workers", "1", "--out", tmp_path]
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "compare_tiny.json").read_text())
    assert (result["n_train"], result["n_val"], result["not_reached"]) == (4, 4, [])
    assert result["budget"]["size"] == list(SIZE) and "jax" in result["budget_text"]
    assert set(result["trivial"]) == {"all-empty", "all-full"}
    (row,) = result["models"]
    assert row["arch"] == "munet" and row["epochs"] == 1 and row["error"] is None and row["params"] > 1e6
    assert row["int8"] == {} and row["float_ms"] is None and row["int8_ms"] is None and row["note"] == NOTE
    assert isinstance(row["learned"], bool) and row["best_epoch"] == 1
    for metrics in (row["float32"], row["float32_pixel"]):
        assert set(metrics) == {*METRIC_NAMES, "isic_jaccard"}
        assert all(0.0 <= v <= 1.0 for v in metrics.values())
    assert row["weights_files"] == ["tiny_munet.weights.h5"]

    # The JAX-trained weights load into the TensorFlow-backend model and give the same validation Dice.
    from munet.edge.metrics import score
    from munet.edge.preprocess import preprocess
    from munet.train.models import build_model

    model = build_model("munet", alpha=0.35, input_shape=(*SIZE, 3), encoder_weights=None)
    model.load_weights(tmp_path / row["weights_files"][0])
    images, masks, _ = load_pack(tiny_pack)["val"]
    prob = model.predict(np.stack([preprocess(i, SIZE) for i in images]), verbose=0)
    assert score(prob[..., 0] > 0.5, masks)["per-image"]["dice"] == pytest.approx(row["float32"]["dice"], abs=0.02)
