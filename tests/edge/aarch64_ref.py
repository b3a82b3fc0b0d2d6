"""Test-model helpers for the edge tests, and the x86 half of the emulated aarch64 check.

``python tests/edge/aarch64_ref.py OUT`` (run on the host, needs TensorFlow) writes ``OUT/model.tflite``
(a tiny random-weight int8 MU-Net), two frames ``OUT/frames/*.png`` and ``OUT/ref.npz`` with the int8 input
tensors (``in_<i>``), the raw int8 outputs of the reference kernels (``ref_<i>``) and of the default XNNPACK
kernels (``xnn_<i>``), and the masks (``ref_mask_<i>``, ``xnn_mask_<i>``).
``tests/edge/test_aarch64.py`` compares the guest's outputs with them. ``OUT/suite`` gets the suite's shared
tiny models (:func:`suite_models`), with which the whole edge suite runs in the TensorFlow-free guest.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np

TINY_ALPHA = 0.35
TINY_SIZE = (64, 64)
#: Bump when build_tiny_keras / make_tflite change what they produce (part of the test-model cache key).
MODEL_RECIPE = 1


def synthetic_frame(h: int, w: int, seed: int) -> np.ndarray:
    """A skin-toned RGB uint8 frame with a dark irregular blob (a stand-in lesion)."""
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3), np.uint8)
    img[:] = (205, 160, 140)
    noise = rng.normal(0, 12, (h, w, 3))
    cy, cx = h * rng.uniform(0.35, 0.65), w * rng.uniform(0.35, 0.65)
    axes = (int(w * rng.uniform(0.12, 0.25)), int(h * rng.uniform(0.12, 0.25)))
    cv2.ellipse(img, (int(cx), int(cy)), axes, float(rng.uniform(0, 180)), 0, 360, (110, 70, 50), -1)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def write_frames(folder: Path, sizes: list[tuple[int, int]], seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (h, w) in enumerate(sizes):
        path = folder / f"img_{i:02d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(synthetic_frame(h, w, seed + i), cv2.COLOR_RGB2BGR))
        paths.append(path)
    return paths


def spread_output(model, gain: float = 40.0) -> None:
    """Scale the last layer's kernel so a random-weight model's probabilities span 0..1, not just ~0.5."""
    layer = model.get_layer("mask_deconv")
    weights = layer.get_weights()
    weights[0] = weights[0] * gain
    layer.set_weights(weights)


def write_video(path: Path, n: int, fps: float, size: tuple[int, int] = (120, 160), fourcc: str = "MJPG") -> Path:
    """An MJPG ``.avi`` (or another ``fourcc``: mp4v for ``.mp4``) of ``n`` frames whose brightness changes with the
    index (a camera stand-in)."""
    h, w = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {fourcc} {path.suffix} here")
    for i in range(n):
        frame = np.full((h, w, 3), 40 + (i * 5) % 200, np.uint8)
        cv2.circle(frame, (w // 2, h // 2), h // 4, (30, 30, 90), -1)
        writer.write(frame)
    writer.release()
    return path


def build_tiny_keras(out: Path, seed: int = 0, source: Path | None = None) -> Path:
    """A tiny random-weight MU-Net (or the one saved at ``source``) with a spread output, saved as ``.keras``."""
    import keras

    from munet.train.models import build_model

    keras.utils.set_random_seed(seed)
    if source is not None:
        model = keras.models.load_model(source, compile=False)
    else:
        model = build_model("munet", alpha=TINY_ALPHA, input_shape=(*TINY_SIZE, 3), encoder_weights=None)
    spread_output(model)
    model.save(out)
    return out


def make_tflite(keras_path: Path, out: Path, mode: str, calib_dir: Path) -> Path:
    """Convert with ``munet.convert.api.convert`` when it exists, else a plain ``TFLiteConverter`` (batch 1)."""
    try:
        from munet.convert.api import convert
    except ImportError:
        convert = None
    if convert is not None:
        io = "int8" if mode == "int8" else "float32"
        return Path(convert(keras_path, out, mode=mode, calib_data=calib_dir, calib_count=8, io=io))
    import keras
    import tensorflow as tf

    from munet.edge.metadata import ModelInfo, sidecar_path
    from munet.edge.preprocess import preprocess
    from munet.imageio import list_images, load_image
    from munet.train.models import build_model

    loaded = keras.models.load_model(keras_path, compile=False)
    h, w = loaded.input_shape[1:3]
    model = build_model("munet", alpha=TINY_ALPHA, input_shape=(h, w, 3), encoder_weights=None, batch_size=1)
    model.set_weights(loaded.get_weights())
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode == "int8":
        calib = [preprocess(load_image(p), (h, w))[None] for p in list_images(calib_dir)]

        def rep():
            for x in calib:
                yield [x]

        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = rep
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    out.write_bytes(conv.convert())
    info = ModelInfo(input_size=(h, w), quantization=mode, io_dtype="int8" if mode == "int8" else "float32")
    sidecar_path(out).write_text(info.to_json())
    return out


def suite_models(out: Path) -> dict[str, Path]:
    """``out/tiny_{int8,float32}.tflite``: the edge suite's shared models, by tests/conftest.py's recipe.

    The same blob data, training and one Converter as its ``tiny_tflites`` fixture; the edge tests use these files
    when ``$MUNET_EDGE_MODELS`` names ``out`` (tests/edge/conftest.py), so they run where TensorFlow is absent.
    """
    import importlib.util
    import tempfile

    from munet.convert.api import Converter

    spec = importlib.util.spec_from_file_location("munet_tests_conftest", Path(__file__).parents[1] / "conftest.py")
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="munet-suite-models-") as tmp:
        blobs = suite.write_blob_dataset(Path(tmp) / "blobs")
        run = suite.train_tiny_run(blobs, Path(tmp) / "run")
        with Converter(run) as conv:
            conv.set_calibration(blobs, suite.TINY_CALIB_COUNT)
            return {mode: conv.convert(mode, out / f"tiny_{mode}.tflite").path for mode in ("int8", "float32")}


def main(out: Path) -> None:
    """Write the tiny int8 model, two frames and the x86 reference outputs into ``out``; the suite's into out/suite."""
    from munet.edge.runtime import Segmenter
    from munet.imageio import load_image

    out.mkdir(parents=True, exist_ok=True)
    frames = write_frames(out / "frames", [(96, 128), (64, 80)], seed=7)
    keras_path = build_tiny_keras(out / "tiny.keras")
    model = make_tflite(keras_path, out / "model.tflite", "int8", out / "frames")
    (out / "tiny.keras").unlink()
    arrays = {}
    for tag, ref in (("ref", True), ("xnn", False)):
        seg = Segmenter(model, threads=1, reference_kernels=ref)
        for i, path in enumerate(frames):
            tensor = seg.prepare(load_image(path))
            arrays[f"in_{i}"] = tensor  # the model input: OpenCV's resize is not bit-exact across CPUs
            arrays[f"{tag}_{i}"] = seg.invoke(tensor)
            arrays[f"{tag}_mask_{i}"] = seg.segment(load_image(path)).mask
    np.savez(out / "ref.npz", **arrays)
    print(f"wrote {model} and {len(arrays)} reference outputs to {out}")
    models = suite_models(out / "suite")
    print(f"wrote the edge suite's models {', '.join(p.name for p in models.values())} to {out / 'suite'}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/edge/aarch64_ref.py OUT_DIR")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main(Path(sys.argv[1]))
