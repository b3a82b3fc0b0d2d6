"""Model registry: one name -> one builder, with an error that lists valid names.

Every builder returns a Keras 3 functional model that takes preprocessed images
(``munet.edge.preprocess.preprocess``: RGB in [-1, 1]) and outputs a sigmoid
1-channel mask of the same height and width.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable
from typing import Any

from munet.errors import MunetError

_REGISTRY: dict[str, Callable[..., Any]] = {}

#: The built-in names, known without importing Keras (``munet-train --help``); a test keeps it equal to the registry.
ARCHITECTURES = ("munet", "unet", "unet-resnet50", "unet-vgg19", "segnet", "fcn")


def register_model(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register ``builder`` under ``name`` (e.g. ``@register_model("munet")``)."""

    def deco(builder: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = builder
        return builder

    return deco


def _load_builtin() -> None:
    # Imported lazily: each module imports Keras.
    from munet.train.models import munet  # noqa: F401

    with contextlib.suppress(ImportError):  # the paper's comparison models (issue 6)
        from munet.train.models import baselines  # noqa: F401


def available_models() -> list[str]:
    """Names accepted by :func:`build_model` and ``munet-train --arch``."""
    _load_builtin()
    return sorted(_REGISTRY)


def get_builder(name: str) -> Callable[..., Any]:
    """The builder registered as ``name``; unknown names get a 'did you mean' error."""
    _load_builtin()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, _REGISTRY, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise MunetError(f"unknown model {name!r}{hint}; choose one of: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def build_model(name: str, **kwargs: Any) -> Any:
    """Build the registered model ``name`` with builder keyword arguments ``kwargs``."""
    return get_builder(name)(**kwargs)
