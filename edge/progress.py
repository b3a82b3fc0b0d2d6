"""A progress bar for long file runs: tqdm when it is installed and wanted, otherwise nothing at all."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


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
