"""Ready-to-run models shipped inside the package: ``munet-run skin IMAGE``, ``Segmenter("brain")``.

The bundled models live in the package folder ``munet/edge/models/`` (:data:`PACKAGE_DIR`): ``index.json``
maps each name to its ``.tflite`` file, a one-line description, the training data, its licence, the citation,
the intended use and the model card (``<name>.md``). :func:`resolve_model` turns a name or a path into a model
file: an existing file always wins over a bundled name. Setting ``$MUNET_MODELS_DIR`` (:data:`MODELS_ENV`) to a
folder with the same layout (``index.json``, the ``.tflite`` files, the cards) replaces the packaged folder, e.g.
for tests or a site-wide model set. Reads JSON and file sizes only: no TensorFlow, no interpreter.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from munet.device import describe_cpu
from munet.edge.metadata import ModelInfo, read_model_info
from munet.errors import ModelError

#: The packaged folder of bundled models (``munet/edge/models`` when installed, ``edge/models`` in a checkout).
PACKAGE_DIR = Path(__file__).resolve().with_name("models")
#: Environment variable naming a folder that replaces :data:`PACKAGE_DIR` (same layout).
MODELS_ENV = "MUNET_MODELS_DIR"
INDEX_NAME = "index.json"
#: Bundled files are kept small enough for a wheel and a Raspberry Pi (issue 11: each <= 4 MB).
MAX_BYTES = 4 * 1024 * 1024
_FIELDS = ("file", "description", "training_data", "licence", "citation", "intended_use", "card")


@dataclass(frozen=True)
class Measured:
    """What a bundled model was measured to do (index.json ``measured``, written from committed benchmark results
    by ``munet-bench readme-table``): its recipe's cross-validated accuracy and its time on a named CPU."""

    metric: str  # e.g. "per-image Dice"
    mean: float
    sd: float
    folds: int
    cv_source: str  # the results folder, e.g. benchmarks/results/cv-isic
    ms: float | None = None  # end-to-end median per image (pre + inference + post)
    threads: int | None = None
    cpu: str = ""
    ms_source: str = ""
    cpu_int8: list[str] | None = None  # that CPU's int8 dot-product instructions (munet.device.int8_instructions)

    @classmethod
    def parse(cls, raw: object, where: str) -> Measured | None:
        if raw is None:
            return None
        try:
            if not isinstance(raw, dict):
                raise TypeError("not an object")
            return cls(**raw)
        except TypeError as exc:
            raise ModelError(
                f"{where}: unreadable 'measured' entry ({exc}); regenerate it (munet-bench readme-table)"
            ) from None

    def line(self) -> str:
        text = f"    measured: {self.metric} {self.mean:.3f} ± {self.sd:.3f} ({self.folds}-fold CV of its recipe, int8"
        text += f" as shipped: {self.cv_source})"
        if self.ms is not None:
            cpu = self.cpu if self.cpu_int8 is None else describe_cpu(self.cpu, self.cpu_int8)
            text += f"; {self.ms:.1f} ms/image end to end, {self.threads} thread(s), {cpu} ({self.ms_source})"
        return text


@dataclass(frozen=True)
class BundledModel:
    """One entry of ``index.json``; :attr:`path` and :attr:`card_path` are in the models folder."""

    name: str
    file: str
    description: str
    training_data: str
    licence: str
    citation: str
    intended_use: str
    card: str
    folder: Path
    measured: Measured | None = None

    @property
    def path(self) -> Path:
        return self.folder / self.file

    @property
    def card_path(self) -> Path:
        return self.folder / self.card

    @property
    def installed(self) -> bool:
        return self.path.is_file()


def models_dir() -> Path:
    """The folder of bundled models: ``$MUNET_MODELS_DIR`` when set, else :data:`PACKAGE_DIR`."""
    override = os.environ.get(MODELS_ENV)
    return Path(override) if override else PACKAGE_DIR


def bundled_models(folder: Path | None = None) -> dict[str, BundledModel]:
    """``{name: BundledModel}`` from ``index.json`` of ``folder`` (default :func:`models_dir`), in index order."""
    folder = models_dir() if folder is None else Path(folder)
    index = folder / INDEX_NAME
    where = f" (${MODELS_ENV})" if folder == models_dir() and os.environ.get(MODELS_ENV) else ""
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{index}{where}: no index of bundled models; reinstall munet or fix ${MODELS_ENV}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"{index}{where}: unreadable index of bundled models ({first}); reinstall munet") from None
    entries = data.get("models") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise ModelError(f"{index}{where}: no 'models' object in the index of bundled models; reinstall munet")
    out = {}
    for name, entry in entries.items():
        bad = [k for k in _FIELDS if not isinstance(entry, dict) or not isinstance(entry.get(k), str)]
        if bad:
            raise ModelError(f"{index}: bundled model {name!r} lacks {', '.join(bad)} (strings); fix the index")
        measured = Measured.parse(entry.get("measured"), f"{index}: bundled model {name!r}")
        out[name] = BundledModel(name=name, folder=folder, measured=measured, **{k: entry[k] for k in _FIELDS})
    return out


def _looks_like_path(text: str) -> bool:
    return os.sep in text or "/" in text or Path(text).suffix != ""


def resolve_model(name_or_path: str | os.PathLike[str]) -> Path:
    """The model file for ``name_or_path``: an existing file as given; else a bundled name's packaged file.

    Raises a one-line :class:`ModelError` for a name that is neither a file nor bundled (listing the bundled
    names, with a "did you mean"), and for a bundled name whose file is not installed.
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    text = os.fspath(name_or_path)
    models = bundled_models()
    if text in models:
        model = models[text]
        if not model.installed:
            raise ModelError(
                f"bundled model {text!r}: its file {model.path} is not installed (a source checkout before the "
                f"model was added, or a partial install); reinstall munet or pass a .tflite path"
            )
        return model.path
    names = ", ".join(models) or "none"
    if path.is_dir():
        raise ModelError(f"{path}: is a folder, not a .tflite model; pass the model file or a bundled name ({names})")
    close = difflib.get_close_matches(text, list(models), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    if _looks_like_path(text):
        raise ModelError(f"{path}: no such model file; check the path ({hint}bundled models: {names})")
    raise ModelError(
        f"{text!r}: neither a model file nor a bundled model; {hint}bundled models: {names} (munet-run --list-models)"
    )


@dataclass
class ModelListing:
    """What ``munet-run --list-models`` shows for one bundled model."""

    model: BundledModel
    size_bytes: int | None = None  # None: the file is not installed
    info: ModelInfo | None = None  # the embedded metadata (or sidecar), None when absent

    def lines(self) -> list[str]:
        """Name, size, input size, quantization and description; the measured accuracy and time (when the index
        has them); the training data; the data's licence, the intended use and the model card."""
        m = self.model
        if self.size_bytes is None:
            head = f"{m.name}: not installed ({m.path})"
        else:
            size = f"{self.size_bytes / 1e6:.2f} MB"
            if self.info is None:
                spec = "no munet metadata"
            else:
                h, w = self.info.input_size
                spec = f"input {h}x{w} (HxW), {self.info.quantization}, {self.info.io_dtype} I/O"
            head = f"{m.name}: {size}, {spec}"
        return [
            f"{head}: {m.description}",
            *([m.measured.line()] if m.measured is not None else []),
            f"    data: {m.training_data} ({m.citation})",
            f"    licence of the data: {m.licence}; use: {m.intended_use}; card: {m.card_path}",
        ]


def list_models() -> list[ModelListing]:
    """Each bundled model with its file size and embedded metadata (a missing file is listed, not an error)."""
    out = []
    for model in bundled_models().values():
        if not model.installed:
            out.append(ModelListing(model))
            continue
        out.append(ModelListing(model, model.path.stat().st_size, read_model_info(model.path)))
    return out
