"""Training API: ``train(config) -> RunResult`` writes a complete, resumable run folder.

Run folder (``config.out``)::

    config.yaml      effective config            best.keras / last.keras  checkpoints (atomic)
    log.csv          one row per completed epoch curves.png               loss / Dice / IoU / lr
    metrics.json     final validation metrics    MODEL_CARD.md            data, config, metrics, params
    state/progress.json   resume state (epoch, best, counters, lr, history; atomic)

Optimiser: Adam, default lr 1e-3 (the paper's "Adam with a learning rate of 0.05" is fifty times
Adam's usual step and diverges when fine-tuning a pretrained encoder, so it is treated as a
typo-level value; see :class:`~munet.train.config.TrainConfig`). Recipe options (:mod:`munet.train.optim`):
``warmup_epochs`` (linear ramp before the schedule), ``encoder_lr_mult`` (the encoder at ``lr * mult``) and
``ema`` (weight average: validation, ``best.keras`` and the final metrics use it); ``lesion_share`` (training
draws balanced between lesion and lesion-free images, :func:`~munet.train.pipeline.make_dataset`); ``teacher``
(distillation: soft targets from trained models, :mod:`munet.train.teacher`).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from munet.atomic import write_text_atomic
from munet.errors import InputError, MunetError
from munet.train.config import TrainConfig, config_from_run
from munet.train.models.decoder import DecoderSpec

RESUME_HINT = "munet-train --resume {run}"
#: A final fit (``val_split`` 0) monitors one in this many of its training images (they are not held out).
FINAL_FIT_MONITOR = 10


@dataclass
class RunResult:
    """What a run produced (see the module docstring for the files)."""

    run_dir: Path
    epochs_completed: int
    best_epoch: int | None
    best_value: float | None
    monitor: str
    metrics: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False
    stopped_early: bool = False
    replicas: int = 1
    wall_s: float = 0.0  # over all sessions of the run
    synthetic: bool = False


@dataclass
class _Data:
    x_train: Any
    y_train: Any
    x_val: Any
    y_val: Any
    train_source: str
    val_source: str
    synthetic: bool
    lesion: Any = None  # bool per training image: its mask has a lesion pixel
    val_pairs: Any = None  # the validation munet.data pairs: the final metrics read them at their original size


def _log(msg: str) -> None:
    print(msg, flush=True)


def default_run_dir() -> Path:
    return Path("runs") / time.strftime("munet-%Y%m%d-%H%M%S")


def _prepare_data(config: TrainConfig, run_dir: Path) -> _Data:
    from munet.data import find_pairs, sample_pairs, split_pairs
    from munet.train.pipeline import lesion_flags, load_arrays

    size = config.input_size
    synthetic = config.data is None
    if synthetic:
        from munet.train.synthetic import make_synthetic_dataset

        data_dir = make_synthetic_dataset(run_dir / "synthetic", n=config.synthetic_count, size=size, seed=config.seed)
        _log(
            f"no --data given: training on {config.synthetic_count} SYNTHETIC dermoscopy-like images in {data_dir} "
            f"(alpha {config.alpha}, {size[0]}x{size[1]}, {config.epochs} epochs)"
        )
        pairs = find_pairs(data_dir, "folder")
    else:
        data_dir = Path(config.data)  # type: ignore[arg-type]
        pairs = find_pairs(data_dir, config.dataset)
    if config.val_data:
        train_pairs, val_pairs = pairs, find_pairs(config.val_data, config.dataset)
        val_source = str(config.val_data)
    elif config.val_split == 0:  # a final fit: every pair trains; the monitor watches a sample of them
        train_pairs, val_pairs = pairs, sample_pairs(pairs, max(1, len(pairs) // FINAL_FIT_MONITOR), config.seed)
        val_source = (
            f"FINAL FIT on all {len(pairs)} images of {data_dir}: 'validation' is {len(val_pairs)} of the TRAINING "
            "images (a monitor, not an estimate; the estimate is the recipe's cross-validation)"
        )
    else:
        train_pairs, val_pairs = split_pairs(pairs, config.val_split, seed=config.seed)
        val_source = f"{config.val_split:.0%} group-aware split of {data_dir} (seed {config.seed})"
    if not train_pairs or not val_pairs:
        raise MunetError(
            f"{data_dir}: {len(pairs)} image(s) cannot be split into training and validation; "
            "add images or pass --val-data DIR"
        )
    if config.teacher:  # a missing teacher fails before the images are decoded
        from munet.train.teacher import teacher_file

        for t in config.teacher:
            teacher_file(t)
    t0 = time.perf_counter()
    x_train, y_train = load_arrays(train_pairs, size, workers=config.workers)
    x_val, y_val = load_arrays(val_pairs, size, workers=config.workers)
    _log(
        f"data: {len(train_pairs)} training / {len(val_pairs)} validation images at {size[0]}x{size[1]} "
        f"decoded in {time.perf_counter() - t0:.1f} s"
    )
    lesion = lesion_flags(y_train)  # once, from the decoded masks
    if config.lesion_share > 0 and (lesion.all() or not lesion.any()):
        raise InputError(
            f"{data_dir}: lesion_share {config.lesion_share:g} needs training images with and without a lesion, "
            f"but {int(lesion.sum())} of {len(lesion)} have one; use --lesion-share 0"
        )
    if config.teacher:
        from munet.train.teacher import soft_targets, teacher_probs

        t0 = time.perf_counter()
        probs = teacher_probs(config.teacher, x_train, config.teacher_tta)
        y_train = soft_targets(y_train, probs, config.teacher_weight)
        _log(
            f"distillation: soft targets = {1 - config.teacher_weight:g} x mask + {config.teacher_weight:g} x the mean "
            f"of {len(config.teacher)} teacher(s) over {config.teacher_tta} ({time.perf_counter() - t0:.0f} s)"
        )
    return _Data(x_train, y_train, x_val, y_val, str(data_dir), val_source, synthetic, lesion, list(val_pairs))


def tf_config_workers() -> int:
    """Training tasks (chief + workers) in the standard ``TF_CONFIG`` cluster; 0 when the variable is unset."""
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        return 0
    try:
        cluster = json.loads(raw)["cluster"]
        return sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise MunetError(
            f"TF_CONFIG {raw[:80]!r}: expected JSON with a cluster and a task, e.g. "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'
        ) from None


def _multi_worker_strategy() -> Any:
    """``tf.distribute.MultiWorkerMirroredStrategy`` over the ``TF_CONFIG`` cluster, made to work with Keras 3's fit.

    Keras 3 (seen with 3.15, keras-team/keras#20585) calls ``strategy.reduce`` on a nested batch, on scalar losses
    with ``axis=0`` and without ``axis``; the collective strategy rejects all three. This subclass reduces each
    value of a nest on its own, and rank-0 values over the replicas only.
    """
    import tensorflow as tf

    class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op: Any, value: Any, axis: Any = None) -> Any:
            parent = super().reduce

            def one(v: Any) -> Any:
                rank = self.experimental_local_results(v)[0].shape.rank
                return parent(reduce_op, v, None if rank == 0 else axis)

            return tf.nest.map_structure(one, value)

    try:
        return MultiWorkerMirroredStrategy()
    except RuntimeError as e:  # collective ops must be set up before TensorFlow runs anything in this process
        raise MunetError(f"TF_CONFIG: cannot start multi-worker training in this process ({e})") from None


def _is_chief(strategy: Any) -> bool:
    """False only for a non-chief worker of a multi-worker run (the chief alone writes the run folder)."""
    return bool(strategy.extended.should_checkpoint)


def _devices(config: TrainConfig) -> tuple[Any, bool, str]:
    """(distribution strategy, mixed precision on?, device description).

    ``distribute``: ``multiworker`` (or ``auto`` with a ``TF_CONFIG`` of several workers) ->
    MultiWorkerMirroredStrategy, created first; ``mirrored`` (or ``auto`` with several local GPUs) ->
    MirroredStrategy; otherwise the default strategy.
    """
    import tensorflow as tf

    workers = tf_config_workers()
    multi = config.distribute == "multiworker" or (config.distribute == "auto" and workers > 1)
    multi_strategy = _multi_worker_strategy() if multi else None  # before list_logical_devices starts TF
    gpus = tf.config.list_logical_devices("GPU")
    cpus = tf.config.list_logical_devices("CPU")
    if multi_strategy is not None:
        strategy = multi_strategy
    elif config.distribute == "mirrored" or (config.distribute == "auto" and len(gpus) > 1):
        devices = [d.name for d in (gpus or cpus)]
        strategy = tf.distribute.MirroredStrategy(devices)
    else:
        strategy = tf.distribute.get_strategy()
    mixed = bool(gpus) and config.mixed_precision in ("auto", "on")
    if config.mixed_precision == "on" and not gpus:
        _log("mixed precision requested but no GPU is visible: training in float32")
    device = f"{len(gpus)} GPU(s)" if gpus else f"CPU ({os.cpu_count()} cores, {platform.machine()})"
    if multi_strategy is not None:
        device += f" x {max(workers, 1)} worker(s)"
    return strategy, mixed, device


def build_for(config: TrainConfig) -> Any:
    """The untrained model ``config`` describes (architecture, width, input size, decoder, encoder weights)."""
    from munet.train.models import build_model

    return build_model(config.arch, **_builder_kwargs(config))


def _builder_kwargs(config: TrainConfig) -> dict[str, Any]:
    from munet.train.models import get_builder

    builder = get_builder(config.arch)
    params = inspect.signature(builder).parameters
    weights = None if config.encoder_weights.lower() in ("none", "") else config.encoder_weights
    wanted = {"alpha": config.alpha, "input_shape": (*config.input_size, 3), "encoder_weights": weights}
    decoder = {
        "decoder_upsample": config.decoder_upsample,
        "decoder_conv": config.decoder_conv,
        "decoder_filters": tuple(config.decoder_filters),
        "decoder_head": config.decoder_head,
    }
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    if accepts_any or all(k in params for k in decoder):
        wanted.update(decoder)
    elif config.decoder_spec() != DecoderSpec():
        raise MunetError(f"--arch {config.arch}: its decoder is fixed; the decoder_* settings apply to munet only")
    return {k: v for k, v in wanted.items() if accepts_any or k in params}


def _warmup_steps(config: TrainConfig, steps_per_epoch: int) -> int:
    """Optimizer steps of the linear warm-up (``warmup_epochs`` x steps per epoch, rounded; 0 = none)."""
    return max(int(config.warmup_epochs * steps_per_epoch + 0.5), 1) if config.warmup_epochs > 0 else 0


def _optimizer(config: TrainConfig, lr: float, steps: int, warmup: int = 0, encoder_paths: Any = ()) -> Any:
    """Adam over ``steps`` optimizer steps: ``warmup`` of them a linear ramp to ``lr``, then the schedule.

    ``plateau`` keeps a variable rate (its cuts assign it): its warm-up is :class:`~munet.train.optim.WarmUpCallback`.
    """
    import keras

    from munet.train.optim import WarmUp, make_optimizer

    rate: Any = lr
    if config.lr_schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(steps - warmup, 1), alpha=config.min_lr / lr)
    if warmup and config.lr_schedule == "cosine":
        rate = WarmUp(lr, warmup, after=rate)
    elif warmup and config.lr_schedule == "constant":
        rate = WarmUp(lr, warmup)
    return make_optimizer(rate, ema=config.ema, encoder_lr_mult=config.encoder_lr_mult, encoder_paths=encoder_paths)


def _train_dataset(config: TrainConfig, data: _Data) -> Any:
    """The training batches: shuffled (or drawn at ``lesion_share``) and augmented, ``config.seed`` seeded."""
    from munet.train.pipeline import make_dataset

    return make_dataset(
        data.x_train,
        data.y_train,
        config.batch,
        training=True,
        augment=config.augment,
        seed=config.seed,
        lesion_share=config.lesion_share,
        lesion=data.lesion,
        soft=bool(config.teacher),
    )


def _precise_bn(model: Any, train_ds: Any, batches: int, strategy: Any) -> Any:
    """The callback's precise-BN step (:mod:`munet.train.precise_bn`): ``batches`` training batches, or None (off;
    or several replicas, where the eager pass would not see every replica's batch)."""
    if not batches:
        return None
    if strategy.num_replicas_in_sync > 1:
        _log(f"precise BN: skipped over {strategy.num_replicas_in_sync} replicas (single-replica runs only)")
        return None
    from munet.train.precise_bn import recompute_bn_statistics

    return lambda: recompute_bn_statistics(model, train_ds.take(batches))


def _encoder_paths(model: Any, config: TrainConfig) -> list[str]:
    """Paths of the encoder's weights (they get ``lr * encoder_lr_mult``); [] when the multiplier is 1."""
    if config.encoder_lr_mult == 1.0:
        return []
    if not _has_encoder(model):
        raise MunetError(
            f"encoder_lr_mult {config.encoder_lr_mult:g}: --arch {config.arch} has no pretrained 'encoder' to slow "
            "down; use 1 (or --arch munet)"
        )
    return [v.path for v in model.get_layer("encoder").weights]


def _compile(model: Any, config: TrainConfig, lr: float, steps: int, warmup: int = 0) -> None:
    from munet.train.keras_metrics import training_metrics
    from munet.train.losses import get_loss

    model.compile(
        optimizer=_optimizer(config, lr, steps, warmup, _encoder_paths(model, config)),
        loss=get_loss(config.loss),
        metrics=training_metrics(config.threshold),
    )


def _has_encoder(model: Any) -> bool:
    return any(layer.name == "encoder" for layer in model.layers)


def _set_encoder(model: Any, trainable: bool) -> None:
    from munet.train.models.munet import set_encoder_trainable

    set_encoder_trainable(model, trainable)


def _prepare_run_dir(config: TrainConfig, resume: bool) -> Path:
    run_dir = Path(config.out) if config.out else default_run_dir()
    if not resume and (run_dir / "state" / "progress.json").exists():
        raise MunetError(
            f"{run_dir}: already holds a run; continue it with {RESUME_HINT.format(run=run_dir)} "
            "or choose another --out"
        )
    return run_dir  # created by _train once the data passed its checks


def _evaluate(model_path: Path, data: _Data, config: TrainConfig) -> dict[str, Any]:
    """Final validation metrics of ``model_path`` through the one evaluator (:mod:`munet.edge.evaluate`): the
    validation images at their ORIGINAL size, preprocessed by the shared function, the probabilities resized back and
    thresholded there, so they compare with the TFLite rows of ``munet-bench`` (which score the same way)."""
    import keras

    from munet.edge.evaluate import evaluate, predict_pairs
    from munet.train.predictor import KerasPredictor

    model = keras.models.load_model(model_path, compile=False)  # custom objects: registered by _train
    predictor = KerasPredictor(model, threshold=config.threshold, batch_size=config.batch)
    preds, truths = predict_pairs(predictor, data.val_pairs)
    ev = evaluate(preds, truths)
    return {
        "model": model_path.name,
        "threshold": config.threshold,
        "val_images": len(truths),
        "resolution": list(config.input_size),
        "masks_at": "original size",
        "per-image": ev.per_image,
        "pixel": ev.pixel,
    }


def _summarise(
    run_dir: Path,
    config: TrainConfig,
    data: _Data,
    progress: Any,
    model: Any,
    device: str,
    wall: float,
    interrupted: bool,
) -> dict[str, Any]:
    import munet
    from munet.device import provenance
    from munet.train.model_card import plot_curves, write_model_card

    prov = provenance()  # the command, date, machine (CPU, int8 instructions) and library versions of this run
    metrics: dict[str, Any] = {}
    best = run_dir / "best.keras"
    if best.is_file():
        metrics = _evaluate(best, data, config)
        metrics.update({"monitor": config.monitor, "best_epoch": progress.best_epoch, "best_value": progress.best})
        metrics["config_hash"] = config.config_hash()  # as in MODEL_CARD.md and a converted model's metadata
        metrics["provenance"] = prov
        write_text_atomic(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    if progress.history:
        plot_curves(progress.history, run_dir / "curves.png")
    macs = None
    try:
        from munet.train.models.complexity import count_macs

        macs = int(count_macs(model))
    except Exception:  # MACs are a nicety: the card is written without them
        macs = None
    info = {
        **config.to_dict(),
        "params": int(model.count_params()),
        "macs": macs,
        "config_hash": config.config_hash(),
        "munet_version": munet.__version__,
        "train_source": data.train_source,
        "val_source": data.val_source,
        "n_train": len(data.x_train),
        "n_val": len(data.x_val),
        "synthetic": data.synthetic,
        "epochs_completed": progress.epoch,
        "stopped_early": progress.stopped_early,
        "collapsed": progress.collapsed,
        "interrupted": interrupted,
        "best_epoch": progress.best_epoch,
        "best": None if progress.best is None else round(progress.best, 4),
        "wall_s": wall,
        "device": device,
        "machine": prov["machine"],
    }
    write_model_card(run_dir / "MODEL_CARD.md", info, config.to_yaml(), metrics or None)
    return metrics


def train(config: TrainConfig, resume: bool = False, verbose: int | None = None) -> RunResult:
    """Train ``config`` into the run folder ``config.out`` (or continue it with ``resume=True``).

    Resume continues from the last completed epoch with the optimizer state of ``last.keras`` and the
    counters of ``state/progress.json``. The first SIGINT finishes the current epoch, the second stops
    after the current batch (that partial epoch is not counted); either way the checkpoints and the
    summary are written and ``RunResult.interrupted`` is set.

    Multi-worker (``TF_CONFIG``, see :func:`_devices`): every worker trains in step; only the chief writes
    ``config.out``, the others write to a temporary folder that is deleted at the end (Keras's pattern).
    """
    config.validate()
    _prepare_run_dir(config, resume)  # a folder holding a run: refused in a second, before TensorFlow is imported
    devices = _devices(config)  # first: MultiWorkerMirroredStrategy must exist before TensorFlow runs anything
    if _is_chief(devices[0]):
        return _train(config, resume, verbose, devices)
    resolver = devices[0].cluster_resolver
    with tempfile.TemporaryDirectory(prefix="munet-worker-") as tmp:
        worker = dataclasses.replace(config, out=str(Path(tmp) / "run"))
        _log(
            f"{resolver.task_type} {resolver.task_id}: not the chief, so checkpoints and logs go to a temporary "
            f"folder (deleted at the end); the chief writes {config.out or 'the run folder'}"
        )
        if resume and config.out:  # the run folder on storage every worker reads: start from the chief's state
            for name in ("state", "last.keras"):
                src = Path(config.out) / name
                if src.is_dir():
                    shutil.copytree(src, Path(worker.out) / name)
                elif src.is_file():
                    Path(worker.out).mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, Path(worker.out) / name)
        return _train(worker, resume, verbose, devices)


def _train(config: TrainConfig, resume: bool, verbose: int | None, devices: tuple[Any, bool, str]) -> RunResult:
    """:func:`train` with the strategy, mixed-precision flag and device description already chosen."""
    import keras

    import munet.train.keras_metrics  # noqa: F401

    # Registers the custom loss and metric classes so .keras checkpoints load.
    import munet.train.losses  # noqa: F401
    import munet.train.models.layers  # noqa: F401  (custom layers, e.g. SegNet's unpooling)
    import munet.train.optim  # noqa: F401  (the warm-up schedule and ScaledAdam)
    from munet.train.callbacks import InterruptFlag, Progress, RunCallback, recover_checkpoints
    from munet.train.pipeline import make_dataset

    t_start = time.perf_counter()
    config.validate()
    if config.data:  # fail on bad folders before creating anything (cheap directory scan)
        from munet.data import find_pairs

        find_pairs(config.data, config.dataset)
        if config.val_data:
            find_pairs(config.val_data, config.dataset)
    run_dir = _prepare_run_dir(config, resume)
    data = _prepare_data(config, run_dir)  # every image decoded and checked before the run folder exists
    run_dir.mkdir(parents=True, exist_ok=True)
    progress = Progress.load(run_dir) if resume else Progress()
    for note in recover_checkpoints(run_dir, progress.epoch):
        _log(note)
    wall_before = progress.wall_s
    if resume and progress.epoch >= config.epochs and progress.finished:
        _log(f"{run_dir}: all {config.epochs} epochs already completed; pass --epochs N to train longer")
    write_text_atomic(run_dir / "config.yaml", config.to_yaml())
    keras.utils.set_random_seed(config.seed + progress.epoch)
    strategy, mixed, device = devices
    if strategy.num_replicas_in_sync > 1:
        _log(f"distributed: {type(strategy).__name__} over {strategy.num_replicas_in_sync} replicas")
    if mixed:
        keras.mixed_precision.set_global_policy("mixed_float16")
    train_ds = _train_dataset(config, data)
    val_ds = make_dataset(data.x_val, data.y_val, config.batch, training=False)
    steps = config.steps_per_epoch or -(-len(data.x_train) // config.batch)
    warmup = _warmup_steps(config, steps)
    recipe = [f"warm-up {warmup} steps"] if warmup else []
    recipe += [f"encoder lr x{config.encoder_lr_mult:g}"] if config.encoder_lr_mult != 1.0 else []
    recipe += [f"weight EMA {config.ema:g} (validation and best.keras use the average)"] if config.ema else []
    if config.lesion_share:
        n_lesion = int(data.lesion.sum())
        recipe += [f"lesion share {config.lesion_share:g} ({n_lesion} of {len(data.lesion)} images have a lesion)"]
    if config.precise_bn:
        recipe += [f"precise BN over {config.precise_bn} training batches before each validation"]
    if recipe:
        _log("recipe: " + ", ".join(recipe))

    last = run_dir / "last.keras"
    with strategy.scope():
        if resume and progress.epoch > 0:
            if not last.is_file():
                raise MunetError(f"{run_dir}: progress says epoch {progress.epoch} but last.keras is missing")
            model = keras.models.load_model(last)
            _log(f"resuming {run_dir} after epoch {progress.epoch} (lr {progress.lr:.3g}, best {progress.best})")
        else:
            model = build_for(config)
            if config.freeze_encoder_epochs > 0 and _has_encoder(model):
                _set_encoder(model, False)
            _compile(model, config, config.lr, steps * config.epochs, warmup)
    freeze_until = config.freeze_encoder_epochs if _has_encoder(model) else 0

    callback = None
    interrupt = InterruptFlag()
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    phases = []
    if progress.epoch < freeze_until:
        phases.append((progress.epoch, min(freeze_until, config.epochs), False))
    start = max(progress.epoch, freeze_until)
    if start < config.epochs:
        phases.append((start, config.epochs, True))
    with interrupt:
        for first, end, encoder_trainable in phases:
            if first >= end or progress.stopped_early or interrupt.count:
                break
            warmup_lr = config.lr  # plateau's warm-up target: the phase's learning rate
            if freeze_until and encoder_trainable and not model.get_layer("encoder").trainable:
                # the phase's rate: where the schedule is, or lr when the freeze ended inside the warm-up
                in_warmup = warmup and freeze_until <= config.warmup_epochs
                lr = warmup_lr = config.lr if in_warmup else (progress.lr or config.lr)
                with strategy.scope():
                    _set_encoder(model, True)
                    _compile(model, config, lr, steps * (config.epochs - first), warmup)
                _log(f"epoch {first + 1}: encoder unfrozen (fine-tuning all layers, lr {lr:.3g})")
            phase_start = freeze_until if encoder_trainable else 0  # each phase has a new optimizer and warm-up
            callback = RunCallback(
                run_dir,
                progress,
                monitor=config.monitor,
                patience=config.patience,
                plateau=config.lr_schedule == "plateau",
                lr_patience=config.lr_patience,
                lr_factor=config.lr_factor,
                min_lr=config.min_lr,
                interrupt=interrupt,
                wall_base=wall_before,
                session_start=t_start,
                warmup_until=phase_start + config.warmup_epochs if warmup else 0,
                ema=config.ema > 0,
                precise_bn=_precise_bn(model, train_ds, config.precise_bn, strategy),
            )
            extra = []
            if warmup and config.lr_schedule == "plateau":
                from munet.train.optim import WarmUpCallback

                extra.append(WarmUpCallback(warmup_lr, warmup))
            model.fit(
                train_ds,
                validation_data=val_ds,
                epochs=end,
                initial_epoch=first,
                steps_per_epoch=config.steps_per_epoch,
                callbacks=[*extra, callback],
                shuffle=False,  # the tf.data pipeline shuffles
                verbose=verbose,
            )
            if callback.partial_epoch:
                break
        interrupted = interrupt.count > 0
        if not interrupted and (progress.epoch >= config.epochs or progress.stopped_early):
            progress.finished = True
            progress.save(run_dir)
        wall = wall_before + time.perf_counter() - t_start  # all sessions (a killed one up to its last epoch)
        metrics = _summarise(run_dir, config, data, progress, model, device, wall, interrupted)
    return RunResult(
        run_dir=run_dir,
        epochs_completed=progress.epoch,
        best_epoch=progress.best_epoch,
        best_value=progress.best,
        monitor=config.monitor,
        metrics=metrics,
        interrupted=interrupted,
        stopped_early=progress.stopped_early,
        replicas=int(strategy.num_replicas_in_sync),
        wall_s=wall_before + time.perf_counter() - t_start,
        synthetic=data.synthetic,
    )


def resume_run(run_dir: str | Path, epochs: int | None = None, verbose: int | None = None) -> RunResult:
    """Continue the run in ``run_dir`` (its saved config; ``epochs`` may extend it)."""
    config = config_from_run(run_dir)
    config.out = str(run_dir)
    if epochs is not None:
        config.epochs = int(epochs)
        progress_path = Path(run_dir) / "state" / "progress.json"
        if progress_path.is_file():
            data = json.loads(progress_path.read_text())
            if data.get("finished") and data.get("epoch", 0) < epochs and not data.get("stopped_early"):
                data["finished"] = False
                write_text_atomic(progress_path, json.dumps(data, indent=1) + "\n")
    return train(config, resume=True, verbose=verbose)
