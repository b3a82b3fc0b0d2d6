"""Loading ImageNet encoder weights: Keras' own download, or a local ``.h5`` file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from munet.errors import ModelError

OFFLINE_HINT = (
    "pass a local file instead, e.g. --encoder-weights "
    "shared/weights/mobilenet_v2_1.0_imagenet_qat_notop.h5 (alpha 1.0), or 'none' to train from scratch"
)


def resolve_weights(encoder_weights: str | Path | None) -> tuple[str | None, Path | None]:
    """Split ``encoder_weights`` into (keras ``weights=`` argument, local file to load later)."""
    if encoder_weights is None or str(encoder_weights).lower() in ("none", "random", ""):
        return None, None
    if str(encoder_weights).lower() == "imagenet":
        return "imagenet", None
    path = Path(encoder_weights)
    if not path.is_file():
        raise ModelError(f"{path}: encoder weights file not found; {OFFLINE_HINT}")
    return None, path


def build_keras_encoder(factory: Any, name: str, encoder_weights: str | Path | None, **kwargs: Any) -> Any:
    """Call a ``keras.applications`` factory, turning download and shape errors into one line."""
    weights, local = resolve_weights(encoder_weights)
    try:
        model = factory(weights=weights, **kwargs)
    except ValueError as exc:
        raise ModelError(f"{name}: ImageNet weights unavailable for these settings ({exc}); {OFFLINE_HINT}") from None
    except Exception as exc:  # URL errors, HTTP errors, SSL errors: all mean "no download here"
        if weights == "imagenet":
            raise ModelError(
                f"{name}: could not download the ImageNet weights ({type(exc).__name__}); {OFFLINE_HINT}"
            ) from None
        raise
    if local is not None:
        try:
            model.load_weights(str(local))
        except Exception as exc:
            raise ModelError(
                f"{local}: these weights do not fit {name} {kwargs.get('alpha', '')} "
                f"({str(exc).splitlines()[0][:160]}); use a file made for the same encoder and width"
            ) from None
    return model
