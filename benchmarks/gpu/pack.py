"""A dataset's train/ and val/ pairs at one size in one ``.npz``: JPEG images and PNG masks as byte arrays.

Images are resized with the project's preprocessing (:func:`munet.edge.preprocess.resize_image`, the resize inside
:func:`~munet.edge.preprocess.preprocess`; masks with :func:`~munet.edge.preprocess.preprocess_mask`), so training
on the pack only normalises. Per split the pack holds ``<split>_jpg``/``<split>_png`` (all encoded files end to end,
uint8) with ``<split>_jpg_ends``/``<split>_png_ends`` (int64 end offsets) and ``<split>_names``; ``meta`` is a JSON
string. Nothing needs pickle to load. JPEG quality 90 keeps ISIC (2133 pairs) at 256² at 22 MiB::

    python -m munet.benchmarks.gpu.pack --data ../shared/data/isic --size 256 --out gpu-pack/isic_256.npz
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import cv2
import numpy as np

from munet.errors import InputError, cli_errors

SPLITS = ("train", "val")


def encode_pair(image: np.ndarray, mask: np.ndarray, size: tuple[int, int], quality: int) -> tuple[bytes, bytes]:
    """RGB uint8 image and {0, 1} mask at their own size -> (JPEG bytes, PNG bytes) at ``size`` (h, w)."""
    from munet.edge.preprocess import preprocess_mask, resize_image

    bgr = cv2.cvtColor(resize_image(image, size), cv2.COLOR_RGB2BGR)
    ok_i, jpg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    ok_m, png = cv2.imencode(".png", preprocess_mask(mask, size)[:, :, 0].astype(np.uint8))
    if not (ok_i and ok_m):
        raise InputError("OpenCV could not encode an image/mask pair")
    return jpg.tobytes(), png.tobytes()


def _joined(blobs: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    ends = np.cumsum([len(b) for b in blobs], dtype=np.int64)
    return np.frombuffer(b"".join(blobs), dtype=np.uint8), ends


def pack(
    folders: dict[str, Path], size: tuple[int, int], out: Path, layout: str = "auto", quality: int = 90
) -> dict[str, Any]:
    """Pack every pair of ``folders`` (``{"train": DIR, "val": DIR}``) into ``out``; returns the pack's ``meta``."""
    from munet.data import find_pairs, load_pair

    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {"size": list(size), "quality": quality, "layout": layout, "counts": {}, "source": {}}
    for split in SPLITS:
        pairs = find_pairs(folders[split], layout)
        encoded = [encode_pair(*load_pair(p), size, quality) for p in pairs]
        arrays[f"{split}_jpg"], arrays[f"{split}_jpg_ends"] = _joined([e[0] for e in encoded])
        arrays[f"{split}_png"], arrays[f"{split}_png_ends"] = _joined([e[1] for e in encoded])
        arrays[f"{split}_names"] = np.array([Path(p.image).stem for p in pairs])
        meta["counts"][split], meta["source"][split] = len(pairs), str(folders[split])
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:  # a file object: np.savez would append ".npz" to a path without it
        np.savez(f, meta=np.array(json.dumps(meta)), **arrays)
    return meta


def _split(blob: np.ndarray, ends: np.ndarray) -> list[np.ndarray]:
    return np.split(blob, ends[:-1]) if len(ends) else []


def load_pack(path: Path) -> dict[str, Any]:
    """``{"meta", "train": (images, masks, names), "val": ...}``: RGB uint8 ``(N, h, w, 3)``, {0, 1} ``(N, h, w)``."""
    try:
        data = np.load(path, allow_pickle=False)
        meta = json.loads(str(data["meta"]))
        out: dict[str, Any] = {"meta": meta}
        for split in SPLITS:
            jpgs = _split(data[f"{split}_jpg"], data[f"{split}_jpg_ends"])
            pngs = _split(data[f"{split}_png"], data[f"{split}_png_ends"])
            images = [cv2.cvtColor(cv2.imdecode(b, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) for b in jpgs]
            masks = [cv2.imdecode(b, cv2.IMREAD_GRAYSCALE) for b in pngs]
            h, w = meta["size"]
            out[split] = (
                np.stack(images) if images else np.zeros((0, h, w, 3), np.uint8),
                (np.stack(masks) > 0).astype(np.uint8) if masks else np.zeros((0, h, w), np.uint8),
                [str(n) for n in data[f"{split}_names"]],
            )
    except (OSError, KeyError, ValueError, cv2.error) as exc:
        raise InputError(
            f"{path}: not a readable pack ({exc}); make one with python -m munet.benchmarks.gpu.pack"
        ) from None
    return out


@click.command("pack", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Folder with train/ + val/."
)
@click.option("--train", "train_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None)
@click.option("--val", "val_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None)
@click.option("--size", default="256", show_default=True, help="Model input size N or HxW.")
@click.option("--layout", default="auto", show_default=True, help="Dataset layout (auto|isic|lgg|figshare|folder).")
@click.option("--quality", default=90, show_default=True, type=click.IntRange(50, 100), help="JPEG quality.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The .npz to write.")
@cli_errors
def pack_command(**kw: Any) -> None:
    """Pack DATA/train and DATA/val at one size into one .npz for the GPU machine; print its size."""
    from munet.benchmarks.compare import resolve_split
    from munet.edge.preprocess import parse_size

    train, val = resolve_split(kw["data"], kw["train_dir"], kw["val_dir"])
    meta = pack({"train": train, "val": val}, parse_size(kw["size"]), kw["out"], kw["layout"], kw["quality"])
    mib = kw["out"].stat().st_size / 2**20
    click.echo(f"wrote {kw['out']}: {meta['counts']['train']} train + {meta['counts']['val']} val pairs, {mib:.1f} MiB")


if __name__ == "__main__":
    pack_command()
