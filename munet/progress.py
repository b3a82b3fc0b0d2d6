"""Progress on long work: :class:`Stages` (a tqdm bar on a terminal, else one line per finished stage with its
seconds) and :class:`Progress` (a bar over the files of a long edge run, or nothing at all).

Both go to stderr (results stay on stdout) and both are off with ``quiet``. tqdm is optional: without it
(e.g. an edge install) a terminal gets the lines too.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO, TypeVar

T = TypeVar("T")


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Stages:
    """Progress over ``total`` steps (e.g. conversion modes), each made of named stages.

    >>> with Stages(2, "convert") as progress, progress.stage("int8: convert", step=1): ...

    Not a TTY: ``[1/2] int8: convert 12.3 s`` per finished stage (``step`` is the step it belongs to, None for
    set-up stages, which print without the counter). A TTY with tqdm: one bar over the steps whose text is the
    running stage.
    """

    def __init__(self, total: int, what: str = "", quiet: bool = False, stream: TextIO | None = None) -> None:
        self.total, self.quiet = total, quiet
        self.stream = stream if stream is not None else sys.stderr
        self._bar: Any = None
        self._done = 0
        if not quiet and _isatty(self.stream):
            with contextlib.suppress(ImportError):
                from tqdm import tqdm

                self._bar = tqdm(total=total, desc=what, file=self.stream, leave=False, dynamic_ncols=True)

    def __enter__(self) -> Stages:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    @contextlib.contextmanager
    def stage(self, name: str, step: int | None = None) -> Iterator[None]:
        """Time the stage ``name``; report it when it finishes (nothing when it raises)."""
        t0 = time.perf_counter()
        if self._bar is not None:
            self._bar.set_postfix_str(name)
        yield
        elapsed = time.perf_counter() - t0
        if self.quiet:
            return
        if self._bar is None:
            counter = f"[{step}/{self.total}] " if step is not None else ""
            print(f"{counter}{name} {elapsed:.1f} s", file=self.stream, flush=True)

    def step_done(self) -> None:
        """One of the ``total`` steps is complete (advances the bar)."""
        self._done += 1
        if self._bar is not None:
            self._bar.update(1)


class Progress:
    """``iterate(items)`` counts items as they finish; ``wrap(echo)`` prints lines without breaking the bar.

    ``enabled=False`` (or tqdm missing) makes both a pass-through: no import, no output.
    """

    def __init__(self, total: int | None, enabled: bool = True, desc: str = "", unit: str = "frame") -> None:
        self._bar: Any = None
        if not enabled:
            return
        try:
            from tqdm import tqdm  # imported only when a bar is wanted
        except ImportError:
            return
        self._bar = tqdm(total=total or None, desc=desc or None, unit=unit, file=sys.stderr, dynamic_ncols=True)

    @property
    def active(self) -> bool:
        return self._bar is not None

    def iterate(self, items: Iterable[T]) -> Iterator[T]:
        """Yield ``items``; each counts as done when the next one is asked for (or the loop ends)."""
        for item in items:
            yield item
            if self._bar is not None:
                self._bar.update(1)

    def wrap(self, echo: Callable[[str], None]) -> Callable[[str], None]:
        """``echo`` that prints above the bar while it is shown."""
        if self._bar is None:
            return echo
        bar = self._bar
        return lambda msg: bar.write(msg, file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
