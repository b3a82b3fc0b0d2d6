"""User-facing errors: one line that names the file and the fix, never a deep traceback."""

from __future__ import annotations

import functools
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


def cli_errors(func: F) -> F:
    """Decorate a click command so a :class:`MunetError` prints ``error: ...`` and exits 2."""

    @functools.wraps(func)
    def wrapper(*args: object, **kwargs: object) -> object:
        try:
            return func(*args, **kwargs)
        except MunetError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None

    return wrapper  # type: ignore[return-value]
