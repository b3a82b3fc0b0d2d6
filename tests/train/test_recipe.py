"""Training-recipe levers: learning-rate warm-up, a slower encoder (ScaledAdam), weight EMA in best.keras, lesion share.

Unit tests use the tiny MU-Net (alpha 0.35, 64x64) and ``train_on_batch``; two short in-process runs
(synthetic data, a few steps) check the trainer: freeze + encoder_lr_mult 0 + plateau warm-up + resume, and EMA.
The lesion share is checked on the trainer's data and training batches (no model is trained).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

from munet.errors import InputError  # noqa: E402
from munet.train import optim  # noqa: E402
from munet.train.callbacks import InterruptFlag, Progress, RunCallback  # noqa: E402
from munet.train.config import make_config  # noqa: E402
from munet.train.models import build_model  # noqa: E402
from munet.train.trainer import _compile, _optimizer  # noqa: E402

TINY = {"alpha": 0.35, "size": [64, 64], "encoder_weights": "none"}
DECODER = {"decoder_upsample": "nearest", "decoder_conv": "separable", "decoder_filters": [16, 16, 16, 16]}


def _lr_at(opt: keras.optimizers.Optimizer, step: int) -> float:
    opt.iterations.assign(step)
    return float(keras.ops.convert_to_numpy(opt.learning_rate))


def _tiny_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return build_model(
        "munet",
        alpha=0.35,
        input_shape=(64, 64, 3),
        encoder_weights=None,
        decoder_head="upsample_conv",
        **{k: tuple(v) if isinstance(v, list) else v for k, v in DECODER.items()},
    )


def _batch(n: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (n, 64, 64, 3)).astype(np.float32)
    y = (x[..., :1] > 0.2).astype(np.float32)
    return x, y


def _encoder_decoder(model: keras.Model) -> tuple[list[np.ndarray], list[np.ndarray]]:
    enc = {v.path for v in model.get_layer("encoder").weights}
    weights = [(v.path in enc, keras.ops.convert_to_numpy(v).copy()) for v in model.trainable_variables]
    return [w for e, w in weights if e], [w for e, w in weights if not e]


# ----------------------------------------------------------------------------------------------- warm-up
def test_no_recipe_keys_give_todays_optimizer() -> None:
    opt = _optimizer(make_config(overrides={"lr_schedule": "cosine"}), 1e-3, 100)
    assert type(opt) is keras.optimizers.Adam and not opt.use_ema
    assert isinstance(opt._learning_rate, keras.optimizers.schedules.CosineDecay)
    assert _lr_at(opt, 0) == pytest.approx(1e-3)
    assert type(_optimizer(make_config(), 1e-3, 100)) is keras.optimizers.Adam


def test_warmup_then_cosine_learning_rate_at_steps() -> None:
    config = make_config(overrides={"lr_schedule": "cosine", "warmup_epochs": 1, "epochs": 3, "min_lr": 1e-5})
    opt = _optimizer(config, 1e-3, steps=12, warmup=4)  # 4 steps per epoch: 4 warm-up + 8 cosine steps
    ramp = [_lr_at(opt, s) for s in range(4)]
    np.testing.assert_allclose(ramp, [2.5e-4, 5e-4, 7.5e-4, 1e-3], rtol=1e-5)
    assert _lr_at(opt, 4) == pytest.approx(1e-3, rel=1e-5)  # the cosine starts at lr
    mid = 1e-5 + (1e-3 - 1e-5) * 0.5  # half-way through the 8 cosine steps
    assert _lr_at(opt, 8) == pytest.approx(mid, rel=1e-4)
    assert _lr_at(opt, 12) == pytest.approx(1e-5, rel=1e-3) and _lr_at(opt, 50) == pytest.approx(1e-5, rel=1e-3)


def test_warmup_then_constant_and_serialisation() -> None:
    config = make_config(overrides={"lr_schedule": "constant", "warmup_epochs": 0.5})
    opt = _optimizer(config, 2e-3, steps=100, warmup=2)
    assert [_lr_at(opt, s) for s in (0, 1, 2, 40)] == pytest.approx([1e-3, 2e-3, 2e-3, 2e-3])
    sched = optim.WarmUp(1e-3, 4, after=keras.optimizers.schedules.CosineDecay(1e-3, 8))
    again = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(sched))
    assert isinstance(again, optim.WarmUp) and isinstance(again.after, keras.optimizers.schedules.CosineDecay)
    for step in (0, 3, 6, 20):
        assert float(again(step)) == pytest.approx(float(sched(step)))


def test_plateau_warmup_callback_ramps_a_variable_learning_rate() -> None:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    seen: list[float] = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_begin=lambda b, logs: seen.append(
            float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        )
    )
    x, y = np.ones((12, 3), np.float32), np.ones((12, 1), np.float32)
    model.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[optim.WarmUpCallback(1e-3, 4), record])
    np.testing.assert_allclose(seen, [2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3], rtol=1e-5)
    model.optimizer.learning_rate = 4e-4  # a plateau cut after the warm-up is left alone
    model.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[optim.WarmUpCallback(1e-3, 4)])
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(4e-4)


# ------------------------------------------------------------------------------------------ encoder lr
@pytest.mark.parametrize("mult", [0.0, 1.0])
def test_encoder_lr_mult_after_one_step(mult: float) -> None:
    model = _tiny_model()
    _compile(model, make_config(overrides={**TINY, **DECODER, "encoder_lr_mult": mult}), 1e-3, 10)
    assert isinstance(model.optimizer, optim.ScaledAdam) == (mult != 1.0)
    enc0, dec0 = _encoder_decoder(model)
    model.train_on_batch(*_batch())
    enc1, dec1 = _encoder_decoder(model)
    assert len(enc0) > 10 and len(dec0) > 4
    changed = [not np.array_equal(a, b) for a, b in zip(enc0, enc1, strict=True)]
    assert (not any(changed)) if mult == 0 else (sum(changed) > len(enc0) // 2)
    assert sum(not np.array_equal(a, b) for a, b in zip(dec0, dec1, strict=True)) > len(dec0) // 2


@pytest.mark.slow  # a whole training resumed (or two workers): 20-40 s, in make test-slow
def test_scaled_adam_halves_the_step_and_resumes_from_a_keras_checkpoint(tmp_path: Path) -> None:
    x, y = _batch()
    steps = {}
    for mult in (1.0, 0.5):
        model = _tiny_model()
        config = make_config(overrides={**TINY, **DECODER, "encoder_lr_mult": mult})
        _compile(model, config, 1e-3, 10)
        before = _encoder_decoder(model)
        model.train_on_batch(x, y)
        after = _encoder_decoder(model)
        steps[mult] = [[b - a for a, b in zip(*pair, strict=True)] for pair in zip(before, after, strict=True)]
    # Adam's first step is about lr * sign(g): the same gradients (same weights, same batch), so the encoder moves
    # half as far and the decoder as far.
    for full, half in zip(steps[1.0][0], steps[0.5][0], strict=True):
        np.testing.assert_allclose(half, full * 0.5, rtol=1e-3, atol=1e-8)
    for full, same in zip(steps[1.0][1], steps[0.5][1], strict=True):
        np.testing.assert_allclose(same, full, rtol=1e-3, atol=1e-8)

    config = make_config(
        overrides={**TINY, **DECODER, "encoder_lr_mult": 0.0, "lr_schedule": "cosine", "warmup_epochs": 1}
    )
    _compile(model := _tiny_model(), config, 1e-3, 12, warmup=4)
    model.train_on_batch(x, y)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    opt = loaded.optimizer
    assert isinstance(opt, optim.ScaledAdam) and opt.lr_mult == 0.0
    assert opt.scaled_paths == sorted(v.path for v in loaded.get_layer("encoder").weights)
    assert isinstance(opt._learning_rate, optim.WarmUp) and int(opt.iterations) == 1
    assert float(opt.learning_rate) == pytest.approx(5e-4)  # step 1 of the 4-step ramp
    for a, b in zip(model.optimizer.variables, opt.variables, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    enc0, dec0 = _encoder_decoder(loaded)
    loaded.train_on_batch(x, y)  # resumes: the encoder still frozen by lr_mult 0, the decoder learns
    enc1, dec1 = _encoder_decoder(loaded)
    assert all(np.array_equal(a, b) for a, b in zip(enc0, enc1, strict=True))
    assert any(not np.array_equal(a, b) for a, b in zip(dec0, dec1, strict=True))
    assert int(opt.iterations) == 2


# ------------------------------------------------------------------------------------------------- EMA
def test_run_callback_validates_on_the_ema_weights(tmp_path: Path) -> None:
    model = _tiny_model()
    _compile(model, make_config(overrides={**TINY, **DECODER, "ema": 0.5}), 1e-2, 10)
    x, y = _batch()
    for _ in range(3):
        model.train_on_batch(x, y)
    raw = [keras.ops.convert_to_numpy(v).copy() for v in model.trainable_variables]
    avg = [keras.ops.convert_to_numpy(v) for v in model.optimizer._model_variables_moving_average]
    assert any(not np.allclose(r, a) for r, a in zip(raw, avg, strict=True))
    cb = RunCallback(tmp_path, Progress(), "val_dice", 5, False, 4, 0.5, 1e-6, InterruptFlag(), ema=True)
    cb.set_model(model)
    cb.on_test_begin()
    for v, a in zip(model.trainable_variables, avg, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(v), a)
    cb.on_test_end()
    for v, r in zip(model.trainable_variables, raw, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(v), r)


# ------------------------------------------------------------------------------------------- trainer
def _run_config(tmp_path: Path, **extra: object) -> object:
    overrides = {**TINY, **DECODER, "synthetic_count": 16, "batch": 4, "seed": 0, "out": str(tmp_path / "run")}
    return make_config(overrides={**overrides, "augment": {"rotation_deg": 0.0}, **extra})


def _log(run: Path) -> list[dict[str, str]]:
    with open(run / "log.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow  # a whole training resumed (or two workers): 20-40 s, in make test-slow
def test_trainer_freeze_slow_encoder_plateau_warmup_and_resume(tmp_path: Path) -> None:
    from munet.train.trainer import resume_run, train

    enc_file = tmp_path / "enc.weights.h5"  # a known encoder start, to compare with after training
    keras.utils.set_random_seed(1)
    keras.applications.MobileNetV2(weights=None, alpha=0.35, include_top=False, input_shape=(64, 64, 3)).save_weights(
        enc_file
    )
    config = _run_config(
        tmp_path,
        encoder_weights=str(enc_file),
        epochs=2,
        freeze_encoder_epochs=1,
        encoder_lr_mult=0.0,
        lr_schedule="plateau",
        warmup_epochs=1.5,
    )
    result = train(config, verbose=0)
    run = result.run_dir
    assert result.epochs_completed == 2
    # 12 training images / batch 4 -> 3 steps per epoch, warm-up 1.5 epochs = 5 steps: each epoch ends 3/5 of
    # the way (the unfrozen phase has a new optimizer and warms up again, to lr, not to the ramp's 3/5)
    assert [float(r["lr"]) for r in _log(run)] == pytest.approx([1e-3 * 3 / 5] * 2, rel=1e-5)
    start = keras.applications.MobileNetV2(weights=None, alpha=0.35, include_top=False, input_shape=(64, 64, 3))
    start.load_weights(enc_file)
    expected = {w.path: keras.ops.convert_to_numpy(w) for w in start.weights}

    def check(path: Path) -> keras.Model:
        model = keras.models.load_model(path)
        assert isinstance(model.optimizer, optim.ScaledAdam) and model.optimizer.lr_mult == 0.0
        enc = model.get_layer("encoder")
        assert enc.trainable and len(enc.weights) > 200  # the encoder stops at the bottleneck: a subset
        for w in enc.weights:  # lr_mult 0: the encoder is where it started, frozen or not
            np.testing.assert_array_equal(keras.ops.convert_to_numpy(w), expected[w.path])
        return model

    assert int(check(run / "last.keras").optimizer.iterations) == 3
    result = resume_run(run, epochs=3, verbose=0)
    assert result.epochs_completed == 3
    assert int(check(run / "last.keras").optimizer.iterations) == 6
    # the resumed optimizer finishes its warm-up (steps 3 and 4), then holds lr
    assert float(_log(run)[-1]["lr"]) == pytest.approx(1e-3, rel=1e-5)
    assert len(_log(run)) == 3


def test_trainer_ema_best_keras_holds_the_average(tmp_path: Path) -> None:
    from munet.train.trainer import train

    config = _run_config(tmp_path, epochs=1, ema=0.9, lr=5e-3, lr_schedule="constant", warmup_epochs=0.5)
    result = train(config, verbose=0)
    run = result.run_dir
    assert result.best_epoch == 1
    last = keras.models.load_model(run / "last.keras")
    best = keras.models.load_model(run / "best.keras", compile=False)
    assert last.optimizer.use_ema and last.optimizer.ema_momentum == pytest.approx(0.9)
    assert isinstance(last.optimizer._learning_rate, optim.WarmUp)
    raw = [keras.ops.convert_to_numpy(v) for v in last.trainable_variables]
    avg = [keras.ops.convert_to_numpy(v) for v in last.optimizer._model_variables_moving_average]
    ema = [keras.ops.convert_to_numpy(v) for v in best.trainable_variables]
    for a, e in zip(avg, ema, strict=True):
        np.testing.assert_array_equal(a, e)  # best.keras = the EMA of the weights
    assert sum(not np.allclose(r, e) for r, e in zip(raw, ema, strict=True)) > len(raw) // 2  # not the raw ones
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["model"] == "best.keras" and metrics["best_epoch"] == 1
    # where it was trained: the provenance in metrics.json, the CPU and TF/Keras versions on the card
    from munet.device import cpu_model

    prov = metrics["provenance"]
    assert prov["date"].endswith("+00:00") and prov["machine"]["cpu"] == cpu_model()
    assert isinstance(prov["machine"]["int8"], list) and prov["machine"]["versions"]["keras"] == keras.__version__
    assert f"{cpu_model()}; TensorFlow " in (run / "MODEL_CARD.md").read_text()


# ----------------------------------------------------------------------------------------------- lesion share
def _folder(path: Path, n: int, n_lesion: int) -> Path:
    """A ``folder`` layout set of ``n`` 64x64 images; the first ``n_lesion`` masks hold a square."""
    rng = np.random.default_rng(n)
    for sub in ("images", "masks"):
        (path / sub).mkdir(parents=True)
    for i in range(n):
        mask = np.zeros((64, 64), np.uint8)
        mask[16:48, 16:48] = 255 if i < n_lesion else 0
        assert cv2.imwrite(str(path / "images" / f"im{i:02d}.png"), rng.integers(0, 256, (64, 64, 3), np.uint8))
        assert cv2.imwrite(str(path / "masks" / f"im{i:02d}.png"), mask)
    return path


def test_trainer_draws_training_batches_at_the_lesion_share(tmp_path: Path) -> None:
    from munet.train.trainer import _prepare_data, _train_dataset

    data_dir, val_dir = _folder(tmp_path / "train", 12, 3), _folder(tmp_path / "val", 4, 1)
    config = _run_config(tmp_path, data=str(data_dir), val_data=str(val_dir), lesion_share=0.6)
    assert config.config_hash() != _run_config(tmp_path, data=str(data_dir)).config_hash()
    data = _prepare_data(config, tmp_path / "run")
    assert data.lesion.tolist() == [True] * 3 + [False] * 9  # read once from the masks, in pair order
    drawn = []
    ds = _train_dataset(config, data)
    for _ in range(30):  # 360 draws
        batches = list(ds)
        assert [len(b[1]) for b in batches] == [4, 4, 4]  # the steps of an epoch are unchanged
        drawn += [bool(m.numpy().any()) for _, masks in batches for m in masks]
    assert abs(np.mean(drawn) - 0.6) < 0.1  # natural share 0.25
    natural = [bool(m.numpy().any()) for _, masks in _train_dataset(_run_config(tmp_path), data) for m in masks]
    assert np.mean(natural) == 0.25


def test_lesion_share_needs_images_with_and_without_a_lesion(tmp_path: Path) -> None:
    from munet.train.trainer import train

    empty = _folder(tmp_path / "empty", 10, 0)
    config = _run_config(tmp_path, data=str(empty), lesion_share=0.5, epochs=1)
    with pytest.raises(
        InputError, match=r"empty: lesion_share 0.5 needs .* but 0 of \d+ have one; use --lesion-share 0"
    ):
        train(config, verbose=0)
    assert not (tmp_path / "run").exists()  # refused before the run folder is made
    with pytest.raises(InputError, match=r"synthetic: lesion_share 0.5 .* but (\d+) of \1 have one"):  # all lesions
        train(_run_config(tmp_path, lesion_share=0.5, epochs=1), verbose=0)
