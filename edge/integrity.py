"""Content digest of a converted model: corrupted or altered ``.tflite`` files never run silently.

``munet-convert`` stores a SHA-256 digest in the munet metadata (``ModelInfo.digest``, the JSON key ``"digest"``).
It is well-defined because it is computed over the WHOLE file as written (the flatbuffer and anything appended after
it, e.g. the zip of labels that MediaPipe's metadata writer appends) with the 64 hex characters of the digest value
itself replaced by :data:`PLACEHOLDER` (64 ``0``). Stamping (:func:`stamp_digest`) and checking
(:func:`check_digest`) swap those 64 bytes in place, so the file's layout never changes; the last writer of a file
stamps it (``munet-convert``, and ``add_mediapipe_metadata`` again after MediaPipe's writer repacks it).

The check reads the digest's position from the flatbuffer (``Model.metadata`` -> ``munet_metadata`` buffer) and
hashes the bytes already read for the interpreter, so what is checked is what runs. Cost: one SHA-256 pass,
1.3 ms for the 2.5 MB bundled ``skin`` model (median of 200, AMD EPYC Zen 5 with SHA-NI, Python's hashlib).

Limits: a flip inside the metadata that erases the key ``"digest"`` itself (or the metadata entry) makes the file
look like one without a digest: it then loads with the one-line warning, not silently.
"""

from __future__ import annotations

import hashlib
import logging
import re

from munet.edge.metadata import METADATA_NAME, metadata_spans
from munet.errors import ModelError

log = logging.getLogger(__name__)

DIGEST_HEX = 64
#: What the digest value is replaced with while hashing (and what munet-convert embeds before stamping).
PLACEHOLDER = "0" * DIGEST_HEX
_KEY = re.compile(rb'"digest": "([^"]*)"')
_HEX = re.compile(rb"[0-9a-f]{64}")
_CORRUPT = "corrupt TFLite flatbuffer"


def mismatch_message(name: str) -> str:
    """The one-line refusal for a file whose bytes changed after conversion."""
    return f"{name}: model file changed since conversion (digest mismatch); copy it again or re-convert"


def no_digest_message(name: str) -> str:
    """The one-line warning for a file without a digest."""
    return (
        f"{name}: no content digest in the model (converted before digests, or not by munet-convert): "
        "corruption cannot be detected; re-convert with munet-convert to add one"
    )


def digest_span(data: bytes | bytearray) -> tuple[int, int] | None:
    """File offsets ``(start, end)`` of the digest value's hex characters, ``None`` when the model has no digest.

    Raises :class:`ModelError` (unnamed: callers add the file) when ``data`` is not a TFLite flatbuffer or the
    digest entry is damaged (a key ``"digest"`` with a value that is not 64 lower-case hex characters).
    """
    try:
        span = metadata_spans(data).get(METADATA_NAME)
    except ModelError:
        raise
    except Exception:  # a damaged flatbuffer: offsets out of range
        raise ModelError(_CORRUPT) from None
    if span is None:
        return None
    start, end = span
    if end > len(data):
        raise ModelError("truncated file: the munet metadata runs past its end")
    found = list(_KEY.finditer(data, start, end))
    if not found:
        return None
    value = found[0]
    if len(found) > 1 or value.end(1) - value.start(1) != DIGEST_HEX:
        raise ModelError("damaged digest entry in the munet metadata")
    return value.start(1), value.end(1)


def compute_digest(data: bytes | bytearray, span: tuple[int, int]) -> str:
    """SHA-256 hex of ``data`` with ``data[start:end]`` (the digest value) replaced by :data:`PLACEHOLDER`."""
    start, end = span
    view = memoryview(data)
    sha = hashlib.sha256(view[:start])
    sha.update(PLACEHOLDER.encode("ascii"))
    sha.update(view[end:])
    return sha.hexdigest()


def stamp_digest(data: bytes) -> bytes:
    """``data`` with its digest value set to the digest of its own content (the model must carry munet metadata
    with a ``digest`` entry: munet-convert writes :data:`PLACEHOLDER` there first); unchanged when it has none."""
    span = digest_span(data)
    if span is None:
        return data
    start, end = span
    return data[:start] + compute_digest(data, span).encode("ascii") + data[end:]


def check_digest(data: bytes | bytearray, name: str) -> bool:
    """Verify a model's digest: ``True`` when it matches, ``False`` when the model has none.

    Raises a one-line :class:`ModelError` naming ``name`` and the fix when the content changed since conversion
    (a flipped byte anywhere, a truncated or extended file, a damaged digest entry).
    """
    try:
        span = digest_span(data)
    except ModelError as exc:
        if str(exc) == _CORRUPT:  # not even the metadata can be found: say what is wrong without claiming a digest
            raise ModelError(f"{name}: {_CORRUPT}; copy it again or re-convert it with munet-convert") from None
        raise ModelError(mismatch_message(name)) from None
    if span is None:
        return False
    start, end = span
    stored = bytes(data[start:end])
    if not _HEX.fullmatch(stored) or compute_digest(data, span).encode("ascii") != stored:
        raise ModelError(mismatch_message(name))
    return True


def verify_model(data: bytes | bytearray, name: str, warn_missing: bool = True) -> bool:
    """:func:`check_digest`, logging the one-line warning for a model without a digest (when ``warn_missing``)."""
    ok = check_digest(data, name)
    if not ok and warn_missing:
        log.warning(no_digest_message(name))
    return ok
