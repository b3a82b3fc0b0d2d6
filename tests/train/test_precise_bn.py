"""Precise BatchNorm statistics (``munet.train.precise_bn``) and their place in the trainer (``--precise-bn``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from munet.train import precise_bn  # noqa: E402
from munet.train.config import make_config  # noqa: E402
from tests.conftest import TINY_ALPHA, TINY_SIZE  # noqa: E402


def _bn_model() -> tuple[keras.Model, keras.layers.BatchNormalization, keras.layers.BatchNormalization]:
    """A nested model (inner model with a BatchNorm, then a frozen BatchNorm) on 3 features."""
    inner_bn = keras.layers.BatchNormalization(name="inner_bn")
    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3, name="dense"), inner_bn], name="inner")
    frozen = keras.layers.BatchNormalization(name="frozen_bn")
    frozen.trainable = False
    model = keras.Sequential([keras.Input((3,)), inner, frozen])
    return model, inner_bn, frozen


def test_the_moving_statistics_become_the_mean_of_the_batch_statistics() -> None:
    model, bn, frozen = _bn_model()
    model.get_layer("inner").get_layer("dense").set_weights([np.eye(3, dtype="float32"), np.zeros(3, "float32")])
    rng = np.random.default_rng(0)
    batches = [rng.normal(loc, scale, (8, 3)).astype("float32") for loc, scale in ((1, 1), (3, 2), (-2, 0.5))]
    gamma_before = bn.gamma.numpy().copy()
    frozen_before = [w.copy() for w in frozen.get_weights()]

    assert precise_bn.batchnorm_layers(model) == [bn]  # nested found, frozen left alone
    assert precise_bn.recompute_bn_statistics(model, iter(batches)) == 3

    np.testing.assert_allclose(bn.moving_mean.numpy(), np.mean([b.mean(0) for b in batches], 0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), np.mean([b.var(0) for b in batches], 0), rtol=1e-4)
    assert bn.momentum == pytest.approx(0.99)  # restored
    np.testing.assert_array_equal(bn.gamma.numpy(), gamma_before)  # no weight changed
    for before, after in zip(frozen_before, frozen.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


def test_tuples_are_read_as_inputs_and_nothing_changes_without_batches() -> None:
    model, bn, _ = _bn_model()
    x = np.full((4, 3), 2.0, "float32")
    assert precise_bn.recompute_bn_statistics(model, []) == 0
    np.testing.assert_array_equal(bn.moving_mean.numpy(), np.zeros(3))
    assert precise_bn.recompute_bn_statistics(model, [(x, np.zeros((4, 1)))]) == 1
    assert not np.allclose(bn.moving_mean.numpy(), 0)
    assert precise_bn.recompute_bn_statistics(keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]), [x]) == 0


def test_the_trainer_recomputes_before_every_validation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from munet.train.trainer import train

    calls: list[int] = []
    real = precise_bn.recompute_bn_statistics

    def counting(model, batches):  # noqa: ANN001, ANN202
        calls.append(real(model, batches))
        return calls[-1]

    monkeypatch.setattr(precise_bn, "recompute_bn_statistics", counting)
    cfg = make_config(
        overrides={
            "alpha": TINY_ALPHA,
            "size": list(TINY_SIZE),
            "synthetic_count": 16,
            "batch": 4,
            "epochs": 2,
            "encoder_weights": "none",
            "precise_bn": 2,
            "out": str(tmp_path / "run"),
        }
    )
    result = train(cfg, verbose=0)
    assert result.epochs_completed == 2
    assert calls == [2, 2]  # two batches, before each epoch's validation
    with pytest.raises(Exception, match="precise_bn -1"):
        make_config(overrides={"precise_bn": -1})
