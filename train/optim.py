"""Optimizer pieces of the training recipe: linear warm-up, a lower learning rate for the encoder, weight EMA.

- :class:`WarmUp`: a learning-rate schedule that ramps linearly to ``target`` over ``warmup_steps`` optimizer
  steps (step ``i`` gets ``target * (i + 1) / warmup_steps``), then follows ``after`` (a schedule started at
  step 0 when the warm-up ends) or stays at ``target``.
- :class:`WarmUpCallback`: the same ramp for an optimizer whose learning rate is a variable (the ``plateau``
  schedule, which cuts it by assignment): it sets the rate before each warm-up step.
- :class:`ScaledAdam`: Adam whose step for the variables named in ``scaled_paths`` uses ``lr * lr_mult``
  (Keras 3 has no per-layer learning rate; scaling the gradients would not work, Adam normalises them away).
- :func:`make_optimizer`: Adam or :class:`ScaledAdam` for a config, with Keras's own weight EMA
  (``use_ema``/``ema_momentum``) when ``ema`` > 0.

The warm-up counts the optimizer's steps (``optimizer.iterations``): it survives a resume (the step counter is
in ``last.keras``) and starts again with the new optimizer when a frozen encoder is unfrozen.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="munet")
class WarmUp(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to ``target`` over ``warmup_steps`` steps, then ``after(step - warmup_steps)`` (or ``target``)."""

    def __init__(self, target: float, warmup_steps: int, after: Any = None) -> None:
        self.target = float(target)
        self.warmup_steps = max(int(warmup_steps), 1)
        self.after = after

    def __call__(self, step: Any) -> Any:
        step = ops.cast(step, "float32")
        warm = self.target * ops.minimum((step + 1.0) / float(self.warmup_steps), 1.0)
        if self.after is None:
            return warm
        rest = self.after(ops.maximum(step - float(self.warmup_steps), 0.0))
        return ops.where(step < float(self.warmup_steps), warm, ops.cast(rest, "float32"))

    def get_config(self) -> dict[str, Any]:
        after = None if self.after is None else keras.optimizers.schedules.serialize(self.after)
        return {"target": self.target, "warmup_steps": self.warmup_steps, "after": after}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> WarmUp:
        config = dict(config)
        if isinstance(config.get("after"), dict):
            config["after"] = keras.optimizers.schedules.deserialize(config["after"])
        return cls(**config)


class WarmUpCallback(keras.callbacks.Callback):
    """Linear warm-up of a variable learning rate (``plateau``): ``target * (i + 1) / steps`` before step ``i``."""

    def __init__(self, target: float, warmup_steps: int) -> None:
        super().__init__()
        self.target, self.warmup_steps = float(target), max(int(warmup_steps), 1)

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        if step < self.warmup_steps:
            self.model.optimizer.learning_rate = self.target * (step + 1) / self.warmup_steps
        elif step == self.warmup_steps:
            self.model.optimizer.learning_rate = self.target


@keras.saving.register_keras_serializable(package="munet")
class ScaledAdam(keras.optimizers.Adam):
    """Adam with the learning rate times ``lr_mult`` for the variables whose ``path`` is in ``scaled_paths``.

    The paths (e.g. every weight of the pretrained encoder) are part of the config, so a ``.keras`` checkpoint
    reloads with the same split; ``lr_mult = 0`` leaves those variables exactly unchanged.
    """

    def __init__(self, lr_mult: float = 1.0, scaled_paths: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lr_mult = float(lr_mult)
        self.scaled_paths = sorted(set(scaled_paths))
        self._scaled_keys: set[Any] = set()

    def build(self, var_list: list[Any]) -> None:
        if self.built:
            return
        super().build(var_list)
        wanted = set(self.scaled_paths)
        # update_step may see the backend's variable (TF: a tf.Variable without .path): match by the optimizer's key
        self._scaled_keys = {self._var_key(v) for v in var_list if v.path in wanted}

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        if self._var_key(variable) in self._scaled_keys:
            learning_rate = ops.multiply(ops.cast(learning_rate, variable.dtype), self.lr_mult)
        super().update_step(gradient, variable, learning_rate)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "lr_mult": self.lr_mult, "scaled_paths": list(self.scaled_paths)}


def make_optimizer(
    learning_rate: Any, ema: float = 0.0, encoder_lr_mult: float = 1.0, encoder_paths: Iterable[str] = ()
) -> keras.optimizers.Optimizer:
    """Adam (today's default) or :class:`ScaledAdam` when ``encoder_lr_mult`` != 1; weight EMA when ``ema`` > 0."""
    kwargs: dict[str, Any] = {"learning_rate": learning_rate}
    if ema > 0:
        kwargs.update(use_ema=True, ema_momentum=float(ema))
    if encoder_lr_mult != 1.0:
        return ScaledAdam(lr_mult=encoder_lr_mult, scaled_paths=encoder_paths, **kwargs)
    return keras.optimizers.Adam(**kwargs)


@contextlib.contextmanager
def ema_weights_swapped(model: Any) -> Iterator[bool]:
    """The model's trainable weights replaced by the optimizer's EMA inside the block, the raw ones restored after.

    Yields False (and changes nothing) when the optimizer has no EMA or is not built yet. Only trainable weights
    have an average (Keras's EMA): BatchNorm statistics stay those of the raw weights.
    """
    opt = getattr(model, "optimizer", None)
    if opt is None or not getattr(opt, "use_ema", False) or not opt.built:
        yield False
        return
    variables = model.trainable_variables
    raw = [ops.convert_to_numpy(v) for v in variables]
    opt.finalize_variable_values(variables)
    try:
        yield True
    finally:
        for v, value in zip(variables, raw, strict=True):
            v.assign(value)
