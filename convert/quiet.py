"""Keep TensorFlow's console output out of the user's way.

The TFLite converter and the SavedModel exporter print from C++ straight to the process's
file descriptors 1 and 2 (MLIR pass notes, ``fully_quantize: 0, ...``, resource specs), which
``contextlib.redirect_stdout`` cannot catch. :func:`captured_output` redirects the descriptors
themselves to a temporary file and hands the text back, so an error message can quote it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator


def quiet_tensorflow() -> None:
    """Set the environment and Python loggers so TF/absl stay quiet (call before importing TF)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    for name in ("tensorflow", "absl", "h5py", "keras"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # absl comes with TensorFlow; nothing to silence without it
        pass


class Captured:
    """Text written to stdout/stderr inside :func:`captured_output` (filled on exit)."""

    text: str = ""


@contextlib.contextmanager
def captured_output(enabled: bool = True) -> Iterator[Captured]:
    """Redirect file descriptors 1 and 2 (and ``sys.stdout``/``sys.stderr``) into a buffer."""
    result = Captured()
    if not enabled:
        yield result
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        old_out, old_err = sys.stdout, sys.stderr
        try:
            with contextlib.redirect_stdout(old_out), contextlib.redirect_stderr(old_out):
                yield result
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sys.stdout, sys.stderr = old_out, old_err
            sink.seek(0)
            result.text = sink.read().decode("utf-8", errors="replace")
