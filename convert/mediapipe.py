"""MediaPipe Tasks metadata for converted MU-Net models (the phone path: Android, iOS and web).

MediaPipe's ``ImageSegmenter`` only loads a ``.tflite`` file that carries TFLite Metadata
(``TFLITE_METADATA``): image input with its normalisation, a segmentation-mask output with a labels
file, and the segmenter options. :func:`add_mediapipe_metadata` writes them with MediaPipe's own
``image_segmenter`` metadata writer. The file stays one ``.tflite``: the metadata goes into the
flatbuffer's ``Model.metadata`` list next to ``munet_metadata`` (kept, and checked), the labels file
is appended as a zip after the flatbuffer, so ``munet-run`` and LiteRT load the same file. The munet
content digest (:mod:`munet.edge.integrity`) is stamped again over the result, zip included.

What MediaPipe does with it (checked by ``tests/convert/test_mediapipe.py``):
- Normalisation mean = std = 127.5: MediaPipe maps pixels 0..255 to [-1, 1] like
  ``munet.edge.preprocess`` (float32 input) or feeds the raw pixels (uint8 input, whose
  quantization already encodes the same mapping).
- Input must be uint8 or float32: MediaPipe refuses int8 input ("Requested one of these types:
  uint8/float32, got INT8"), so full-int8 models for phones are converted with ``--io uint8``.
- The single-channel sigmoid output gives ONE confidence mask (the lesion probability, dequantized
  for uint8/int8 outputs) and a category mask (0/255). Activation is written as ``NONE`` because
  the model already ends in a sigmoid (``SIGMOID`` would apply it twice). Threshold the confidence
  mask at the munet threshold (0.5 by default) to get the ``munet-run`` mask.

MediaPipe is optional: it is imported only here, inside functions. Where it is not importable but
``MUNET_MEDIAPIPE_PYTHON`` names a Python that has it, the writer runs there
(``python -m munet.convert.mediapipe IN.tflite OUT.tflite``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

from munet.errors import ModelError, MunetError

PYTHON_ENV = "MUNET_MEDIAPIPE_PYTHON"
SUFFIX = "_mediapipe"
NORM_MEAN = 127.5  # MediaPipe: (pixel - mean) / std == munet.edge.preprocess's pixel / 127.5 - 1
NORM_STD = 127.5
INSTALL_HINT = (
    f"MediaPipe is not installed: pip install mediapipe (in a separate venv if it clashes), "
    f"or set {PYTHON_ENV} to a Python that has it"
)
MEDIAPIPE_INPUT_TYPES = ("uint8", "float32")


def mediapipe_output(path: str | os.PathLike[str]) -> Path:
    """``model.tflite`` -> ``model_mediapipe.tflite``."""
    path = Path(path)
    return path.with_name(f"{path.stem}{SUFFIX}{path.suffix}")


def mediapipe_python() -> str | None:
    """The Python that runs the writer: this one when MediaPipe is importable, else ``$MUNET_MEDIAPIPE_PYTHON``."""
    import importlib.util

    if importlib.util.find_spec("mediapipe") is not None:
        return sys.executable
    other = os.environ.get(PYTHON_ENV)
    return other if other and Path(other).is_file() else None


def check_available() -> str:
    """The Python to run the writer with, or a one-line :class:`MunetError` saying how to install MediaPipe."""
    python = mediapipe_python()
    if python is None:
        raise MunetError(INSTALL_HINT)
    return python


def _install_version_stub() -> None:
    """Some MediaPipe wheels (e.g. 1.2.3) ship the metadata writers without their native helper
    ``mediapipe.tasks.cc.metadata.python._pywrap_metadata_version``; provide it in Python."""
    name = "mediapipe.tasks.cc.metadata.python._pywrap_metadata_version"
    try:
        __import__(name)
        return
    except ImportError:
        pass
    stub = types.ModuleType(name)
    stub.GetMinimumMetadataParserVersion = min_parser_version  # type: ignore[attr-defined]
    parents = ["mediapipe.tasks.cc", "mediapipe.tasks.cc.metadata", "mediapipe.tasks.cc.metadata.python"]
    for parent in parents:
        sys.modules.setdefault(parent, types.ModuleType(parent))
    sys.modules[name] = stub
    sys.modules[parents[-1]]._pywrap_metadata_version = stub  # type: ignore[attr-defined]


def min_parser_version(metadata_buf: bytes) -> str:
    """The lowest metadata-parser version that reads ``metadata_buf`` (the "Added in" versions of
    ``metadata_schema.fbs`` for the fields the MediaPipe writers use)."""
    from mediapipe.tasks.metadata import metadata_schema_py_generated as fb

    meta = fb.ModelMetadataT.InitFromObj(fb.ModelMetadata.GetRootAsModelMetadata(bytearray(metadata_buf), 0))
    version = (1, 0, 0)
    files = list(meta.associatedFiles or [])
    for sub in meta.subgraphMetadata or []:
        if sub.customMetadata:
            version = max(version, (1, 5, 0))
        if sub.inputTensorGroups or sub.outputTensorGroups:
            version = max(version, (1, 2, 0))
        if sub.inputProcessUnits or sub.outputProcessUnits:
            version = max(version, (1, 1, 0))
        files += list(sub.associatedFiles or [])
        for tensor in list(sub.inputTensorMetadata or []) + list(sub.outputTensorMetadata or []):
            files += list(tensor.associatedFiles or [])
    for f in files:
        if getattr(f, "version", None):
            version = max(version, (1, 4, 1))
        if f.type == fb.AssociatedFileType.VOCABULARY:
            version = max(version, (1, 0, 1))
    return ".".join(str(v) for v in version)


def pin_uint8_input(tflite: bytes) -> bytes:
    """Give a uint8 input the quantization of raw pixels (scale 1/127.5, zero point 128).

    MediaPipe feeds a uint8 input the raw pixels 0..255 and ignores the tensor's quantization, but
    the converter calibrates the input range from the images (e.g. scale 0.0074, zero point 135), so
    raw pixels would be misread. With ``--io uint8`` the converter puts a QUANTIZE op (uint8 -> int8)
    first; it requantizes from whatever its input says, so setting the input to (1/127.5, 128) is
    exact: pixel p then means (p - 128) / 127.5, half a step from ``preprocess``'s p / 127.5 - 1.
    Zero point 127 with the same scale (what ``munet-convert MODEL.tflite --io uint8`` gives an int8 model whose
    input scale is already 2/255, zero point -1) is kept: p then means (p - 127) / 127.5, half a step the other
    way, and ``munet-run``'s masks stay bit-identical to the int8 model's.
    """
    import numpy as np
    from mediapipe.tasks.metadata import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(tflite), 0)
    graph = model.subgraphs[0]
    index = int(graph.inputs[0])
    tensor = graph.tensors[index]
    if tensor.type != schema.TensorType.UINT8:
        return tflite
    q = tensor.quantization
    raw = q is not None and q.scale is not None and q.zeroPoint is not None and np.allclose(q.scale, [1 / NORM_STD])
    if raw and [int(v) for v in q.zeroPoint] in ([128], [127]):
        return tflite
    consumers = [op for op in graph.operators if index in list(op.inputs)]
    codes = [model.operatorCodes[op.opcodeIndex] for op in consumers]
    quantize = schema.BuiltinOperator.QUANTIZE
    if len(consumers) != 1 or max(codes[0].builtinCode, codes[0].deprecatedBuiltinCode) != quantize:
        raise ModelError("the uint8 input does not feed a QUANTIZE op; re-convert with munet-convert --int8 --io uint8")
    q = q or schema.QuantizationParametersT()
    q.scale = np.array([1 / NORM_STD], np.float32)
    q.zeroPoint = np.array([128], np.int64)
    q.min = q.max = None
    tensor.quantization = q
    import flatbuffers

    builder = flatbuffers.Builder(len(tflite) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def metadata_bytes(tflite: bytes, labels: list[str]) -> bytes:
    """``tflite`` with MediaPipe ImageSegmenter metadata (needs ``mediapipe`` importable), its digest re-stamped."""
    from munet.edge.integrity import stamp_digest
    from munet.edge.metadata import METADATA_NAME, read_metadata_bytes

    _install_version_stub()
    from mediapipe.tasks.metadata import schema_py_generated as schema
    from mediapipe.tasks.python.metadata.metadata_writers import image_segmenter, metadata_writer, writer_utils

    names = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    in_type = names.get(writer_utils.get_input_tensor_types(bytearray(tflite))[0], "?")
    if in_type not in MEDIAPIPE_INPUT_TYPES:
        raise ModelError(
            f"MediaPipe's ImageSegmenter takes uint8 or float32 input, this model has {in_type}; "
            "re-convert with --io uint8 (or --io float32)"
        )

    tflite = pin_uint8_input(tflite)
    writer = image_segmenter.MetadataWriter.create(
        bytearray(tflite),
        [NORM_MEAN],
        [NORM_STD],
        labels=metadata_writer.Labels().add(list(labels)),
        activation=image_segmenter.Activation.NONE,
    )
    out, _ = writer.populate()
    del writer  # cleans its temp folder now, not at interpreter exit
    out = bytes(out)
    had = METADATA_NAME in read_metadata_bytes(tflite)
    if had and METADATA_NAME not in read_metadata_bytes(out):
        raise ModelError(f"MediaPipe's metadata writer dropped the {METADATA_NAME} entry; use another mediapipe")
    return stamp_digest(out)  # the writer repacked the flatbuffer and appended the labels zip: digest the result


def add_mediapipe_metadata(
    model: str | os.PathLike[str], out: str | os.PathLike[str] | None = None, python: str | None = None
) -> Path:
    """Write ``model`` with MediaPipe metadata to ``out`` (default ``<model>_mediapipe.tflite``), atomically.

    Runs in this process when MediaPipe is importable, else in ``python`` / ``$MUNET_MEDIAPIPE_PYTHON``.
    The labels file holds the model's class name (one label for the one-channel output).
    """
    from munet.atomic import write_bytes_atomic
    from munet.edge.integrity import verify_model
    from munet.edge.metadata import read_model_info

    model = Path(model)
    out = Path(out) if out is not None else mediapipe_output(model)
    python = python or check_available()
    if os.path.abspath(python) != os.path.abspath(sys.executable):
        cmd = [python, "-m", "munet.convert.mediapipe", str(model), str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            lines = [ln for ln in (proc.stderr + proc.stdout).strip().splitlines() if ln.strip()]
            last = lines[-1] if lines else f"exit {proc.returncode}"
            raise ModelError(f"{model}: MediaPipe metadata writer failed with {python}: {last.removeprefix('error: ')}")
        return out
    try:
        data = model.read_bytes()
    except OSError as exc:
        raise ModelError(f"{model}: cannot read the model ({exc.strerror}); check the path") from None
    verify_model(data, str(model))  # never re-stamp a corrupted file as good
    info = read_model_info(model)
    labels = [info.class_name if info is not None else "lesion"]
    write_bytes_atomic(out, metadata_bytes(data, labels))
    return out


def segment_images(model: str | os.PathLike[str], images: list[str | os.PathLike[str]]) -> list[tuple]:
    """Run MediaPipe's ``ImageSegmenter`` on image files: ``[(confidence (H, W) float32, category (H, W) uint8)]``.

    What a phone app gets from the same file (needs ``mediapipe`` importable); used by the tests.
    """
    import mediapipe as mp
    import numpy as np
    from mediapipe.tasks.python import BaseOptions, vision

    from munet.imageio import load_image

    options = vision.ImageSegmenterOptions(
        base_options=BaseOptions(model_asset_path=str(model)), output_confidence_masks=True, output_category_mask=True
    )
    out = []
    with vision.ImageSegmenter.create_from_options(options) as segmenter:
        for path in images:
            rgb = np.ascontiguousarray(load_image(path))
            result = segmenter.segment(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
            conf = np.array(result.confidence_masks[0].numpy_view(), np.float32).reshape(rgb.shape[:2])
            cat = np.array(result.category_mask.numpy_view(), np.uint8).reshape(rgb.shape[:2])
            out.append((conf, cat))
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m munet.convert.mediapipe IN.tflite [OUT.tflite]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (1, 2) or args[0] in ("-h", "--help"):
        print(__doc__.splitlines()[0] + "\nusage: python -m munet.convert.mediapipe IN.tflite [OUT.tflite]")
        return 0 if args and args[0] in ("-h", "--help") else 2
    try:
        out = add_mediapipe_metadata(args[0], args[1] if len(args) == 2 else None, python=sys.executable)
    except MunetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        print(f"error: {INSTALL_HINT} ({exc})", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
