"""The content digest (munet.edge.integrity): corrupted or altered model files are refused on load with one line,
a model without a digest loads with a one-line warning, ``--no-verify`` / ``verify=False`` skip the check.

Uses the bundled ``skin`` model (a real 2.5 MB conversion, digest-stamped, with MediaPipe metadata and its labels zip
appended) and the suite's tiny int8 model (stamped by munet-convert), so it runs without TensorFlow.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from munet.edge.bundled import PACKAGE_DIR, bundled_models
from munet.edge.cli import main
from munet.edge.integrity import (
    PLACEHOLDER,
    check_digest,
    compute_digest,
    digest_span,
    mismatch_message,
    stamp_digest,
)
from munet.edge.metadata import METADATA_NAME, field_offset, model_root, read_metadata_bytes, table_vector
from munet.edge.runtime import Segmenter
from munet.errors import ModelError

SKIN = bundled_models(PACKAGE_DIR)["skin"].path
_MODEL_BUFFERS, _BUFFER_DATA = 4, 0  # TFLite schema field numbers (Model.buffers, Buffer.data)


def _largest_weight_buffer(data: bytes) -> tuple[int, int]:
    """File offsets ``(start, end)`` of the largest ``Buffer.data`` (a conv weight tensor) of a TFLite file."""
    root = model_root(data)
    spans = []
    for buffer in table_vector(data, root, _MODEL_BUFFERS):
        off = field_offset(buffer, _BUFFER_DATA)
        if off:
            start = buffer.Vector(off)
            spans.append((start, start + buffer.VectorLen(off)))
    return max(spans, key=lambda s: s[1] - s[0])


@pytest.fixture
def skin_copy(tmp_path: Path) -> Path:
    if not SKIN.is_file():
        pytest.skip(f"{SKIN} not present")
    return Path(shutil.copy(SKIN, tmp_path / "skin.tflite"))


def test_bundled_files_carry_a_valid_digest_over_the_whole_file() -> None:
    for model in bundled_models(PACKAGE_DIR).values():
        if not model.installed:
            continue
        data = model.path.read_bytes()
        start, end = digest_span(data)
        stored = data[start:end].decode()
        assert stored != PLACEHOLDER and check_digest(data, model.name)
        info = json.loads(read_metadata_bytes(data)[METADATA_NAME])
        assert info["digest"] == stored
        # Well-defined: the SHA-256 of the file with the 64 digest characters replaced by the placeholder.
        import hashlib

        assert hashlib.sha256(data[:start] + PLACEHOLDER.encode() + data[end:]).hexdigest() == stored
        assert stamp_digest(data) == data  # stamping a stamped file changes nothing


def test_flipped_weight_bytes_are_refused_with_one_line(skin_copy: Path) -> None:
    data = bytearray(skin_copy.read_bytes())
    start, end = _largest_weight_buffer(bytes(data))
    assert end - start > 100_000  # a real weight tensor, far from the metadata
    for pos in (start + 10, (start + end) // 2, end - 3):
        data[pos] ^= 0x01  # one bit each: the interpreter would load and run this silently
    skin_copy.write_bytes(data)
    with pytest.raises(ModelError) as err:
        Segmenter(skin_copy, threads=1)
    assert str(err.value) == mismatch_message(str(skin_copy))
    assert str(err.value) == (
        f"{skin_copy}: model file changed since conversion (digest mismatch); copy it again or re-convert"
    )
    # What the digest prevents: without the check the damaged file loads and segments.
    seg = Segmenter(skin_copy, threads=1, verify=False)
    assert seg.segment(np.full((64, 80, 3), 120, np.uint8)).mask.shape == (64, 80)


def test_a_changed_byte_in_the_appended_labels_zip_is_refused(skin_copy: Path) -> None:
    data = bytearray(skin_copy.read_bytes())
    zip_at = data.rfind(b"PK\x03\x04")
    assert zip_at > len(data) - 1000  # MediaPipe's labels file, after the flatbuffer
    data[-5] ^= 0xFF
    with pytest.raises(ModelError, match="digest mismatch"):
        check_digest(bytes(data), "skin.tflite")


@pytest.mark.parametrize("keep", [0.999, 0.5, 0.01])
def test_a_truncated_file_is_refused_with_one_line(skin_copy: Path, keep: float) -> None:
    data = skin_copy.read_bytes()
    skin_copy.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelError) as err:
        Segmenter(skin_copy, threads=1)
    msg = str(err.value)
    corrupt = f"{skin_copy}: corrupt TFLite flatbuffer; copy it again or re-convert it with munet-convert"
    # Cut inside the appended zip or the weights: the digest names it; cut through the flatbuffer's tables (it then
    # cannot even locate its metadata): a corrupt flatbuffer. Either way one line, never a run.
    assert msg in (mismatch_message(str(skin_copy)), corrupt)
    if keep == 0.999:
        assert msg == mismatch_message(str(skin_copy))


def test_a_damaged_digest_value_is_a_mismatch_not_a_missing_digest(skin_copy: Path) -> None:
    data = skin_copy.read_bytes()
    start, _ = digest_span(data)
    for bad in (b"g", b"A", b'"'):  # a non-hex character, upper case, a quote that ends the string early
        damaged = data[:start] + bad + data[start + 1 :]
        with pytest.raises(ModelError, match="digest mismatch"):
            check_digest(damaged, "m.tflite")


def test_munet_run_refuses_a_corrupted_copy_and_no_verify_runs_it(skin_copy: Path, tmp_path: Path) -> None:
    data = bytearray(skin_copy.read_bytes())
    start, end = _largest_weight_buffer(bytes(data))
    data[(start + end) // 2] ^= 0x10
    skin_copy.write_bytes(data)
    image = tmp_path / "frame.png"
    import cv2

    cv2.imwrite(str(image), np.full((48, 64, 3), 90, np.uint8))
    res = CliRunner().invoke(main, [str(skin_copy), str(image), "--out", str(tmp_path / "o1"), "--threads", "1"])
    assert res.exit_code == 2, res.output
    assert f"error: {mismatch_message(str(skin_copy))}" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o1" / "frame_segmentation.png").exists()
    res = CliRunner().invoke(
        main, [str(skin_copy), str(image), "--out", str(tmp_path / "o2"), "--threads", "1", "--no-verify"]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "o2" / "frame_segmentation.png").is_file()


def test_converted_model_is_stamped_and_loads_without_warning(tiny_int8: Path, caplog) -> None:
    data = tiny_int8.read_bytes()
    if digest_span(data) is None:
        pytest.skip("prebuilt edge models ($MUNET_EDGE_MODELS) come without munet metadata")
    assert check_digest(data, tiny_int8.name)
    with caplog.at_level(logging.WARNING):
        Segmenter(tiny_int8, threads=1)
    assert not [r for r in caplog.records if "digest" in r.getMessage()]


def test_a_model_without_digest_loads_with_a_one_line_warning(tiny_int8: Path, tmp_path: Path, caplog) -> None:
    """A foreign (or pre-digest) model: the flatbuffer with the munet metadata entry renamed, so none is found."""
    data = tiny_int8.read_bytes()
    foreign = tmp_path / "foreign.tflite"
    foreign.write_bytes(data.replace(METADATA_NAME.encode(), b"other_metadata"))
    assert METADATA_NAME not in read_metadata_bytes(foreign.read_bytes())
    assert check_digest(foreign.read_bytes(), foreign.name) is False
    with caplog.at_level(logging.WARNING):
        seg = Segmenter(foreign, threads=1)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert warnings[0].startswith(f"{foreign}: no content digest") and "re-convert" in warnings[0]
    assert seg.segment(np.full((30, 40, 3), 128, np.uint8)).mask.shape == (30, 40)  # still runs
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        Segmenter(foreign, threads=1, verify=False)
    assert not caplog.records  # --no-verify: no check, no warning


def test_in_memory_models_are_checked_when_they_carry_a_digest(skin_copy: Path) -> None:
    data = bytearray(skin_copy.read_bytes())
    assert Segmenter(bytes(data), threads=1).input_size == (128, 128)
    data[len(data) // 2] ^= 0x01
    with pytest.raises(ModelError, match="^in-memory model: model file changed since conversion"):
        Segmenter(bytes(data), threads=1)


def test_digest_covers_everything_but_its_own_value() -> None:
    payload = json.dumps({"digest": PLACEHOLDER}).encode()
    assert payload == b'{"digest": "' + PLACEHOLDER.encode() + b'"}'
    data = b"head" + payload + b"tail"
    span = (data.index(PLACEHOLDER.encode()), data.index(PLACEHOLDER.encode()) + 64)
    other = b"heaD" + payload + b"tail"
    assert compute_digest(data, span) != compute_digest(other, span)
    stamped = data[: span[0]] + b"f" * 64 + data[span[1] :]
    assert compute_digest(stamped, span) == compute_digest(data, span)  # the value itself is left out


def test_munet_run_warns_once_for_a_model_without_digest(tiny_int8: Path, tmp_path: Path) -> None:
    """The command line as a user sees it: one ``WARNING:`` line on stderr, masks written, exit 0; none with
    ``--no-verify``."""
    import subprocess
    import sys

    import cv2

    foreign = tmp_path / "foreign.tflite"
    foreign.write_bytes(tiny_int8.read_bytes().replace(METADATA_NAME.encode(), b"other_metadata"))
    image = tmp_path / "frame.png"
    cv2.imwrite(str(image), np.full((48, 64, 3), 90, np.uint8))
    base = [sys.executable, "-m", "munet.edge.cli", str(foreign), str(image), "--threads", "1", "--quiet"]
    for extra, warned in (([], True), (["--no-verify"], False)):
        out = tmp_path / f"out{len(extra)}"
        res = subprocess.run([*base, "--out", str(out), *extra], capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr[-2000:]
        lines = [ln for ln in res.stderr.splitlines() if "digest" in ln]
        assert lines == (
            [
                f"WARNING: {foreign}: no content digest in the model (converted before digests, or not by "
                "munet-convert): corruption cannot be detected; re-convert with munet-convert to add one"
            ]
            if warned
            else []
        ), res.stderr
        assert (out / "frame_segmentation.png").is_file()
