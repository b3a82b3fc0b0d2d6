"""User-facing errors: one line that names the file and the fix, never a deep traceback."""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., object])


class MunetError(Exception):
    """A problem the user can fix (bad input, missing file, wrong option).

    The message is a single line naming the offending file or option and the fix.
    """


class InputError(MunetError):
    """An input file or folder is missing, unreadable, or of the wrong kind."""


class ModelError(MunetError):
    """A model file is not what the command needs (not Keras / not TFLite / incompatible)."""


#: The one line a command that needs TensorFlow prints in an install without it (e.g. ``munet[edge]`` only).
NEEDS_TENSORFLOW = 'this command needs TensorFlow: pip install "munet[train]"'
_TF_MODULES = ("tensorflow", "keras")


def _missing_tensorflow(exc: ImportError) -> bool:
    name = getattr(exc, "name", None) or ""
    return name.split(".")[0] in _TF_MODULES


def require_tensorflow() -> None:
    """Raise :class:`MunetError` with :data:`NEEDS_TENSORFLOW` unless TensorFlow and Keras are importable.

    Cheap (a module lookup, nothing imported): call it before a command creates any file.
    """
    for name in _TF_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise MunetError(NEEDS_TENSORFLOW)


def cli_errors(func: F) -> F:
    """Decorate a click command so a :class:`MunetError` prints ``error: ...`` and exits 2.

    A missing ``tensorflow`` / ``keras`` module gets the same treatment with :data:`NEEDS_TENSORFLOW`.
    """

    @functools.wraps(func)
    def wrapper(*args: object, **kwargs: object) -> object:
        try:
            return func(*args, **kwargs)
        except MunetError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        except ImportError as exc:
            if not _missing_tensorflow(exc):
                raise
            print(f"error: {NEEDS_TENSORFLOW}", file=sys.stderr)
            raise SystemExit(2) from None

    return wrapper  # type: ignore[return-value]
