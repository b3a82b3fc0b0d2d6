"""The whole flow (train -> convert -> munet-run -> accuracy + latency -> REPORT.md) in a tiny configuration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from munet.benchmarks.flow import FlowConfig, run_flow


@pytest.mark.slow
def test_flow_writes_a_complete_report(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    cfg = FlowConfig(
        alpha=0.35,
        size=(64, 64),
        epochs=1,
        batch=4,
        n_train=12,
        n_val=4,
        synthetic_size=(72, 96),
        calib_count=8,
        threads=1,
        latency_runs=3,
        latency_warmup=1,
        worst=2,
    )
    report = run_flow(tmp_path / "report", config=cfg, echo=lambda _m: None, command="munet-bench flow (test)")
    out = report.parent
    text = report.read_text()
    for section in ("Training curve", "Accuracy", "Float vs int8", "Latency", "SYNTHETIC"):
        assert section in text
    assert "round-robin in one process" in text and "Machine during the pass: load average" in text
    for rel in (
        "run/best.keras",
        "run/curves.png",
        "models/munet_int8.tflite",
        "models/munet_float32.tflite",
        "accuracy/accuracy_grid.png",
        "latency/latency.json",
    ):
        assert (out / rel).is_file(), rel
    # munet-run wrote one mask per validation image, at the image's own size
    import cv2

    masks = sorted((out / "masks").glob("*_segmentation.png"))
    assert len(masks) == 4
    assert cv2.imread(str(masks[0]), cv2.IMREAD_GRAYSCALE).shape == (72, 96)
    flow = json.loads((out / "flow.json").read_text())
    assert flow["synthetic"] is True and flow["epochs_completed"] == 1
    assert set(flow["seconds"]) >= {"train", "convert", "munet-run", "accuracy", "latency", "total"}
    assert flow["run_dir"] == str(out / "run") and list(flow["models"]) == ["int8", "float32"]
    assert [Path(m["path"]) for m in flow["models"].values()] == [
        out / "models" / f"munet_{m}.tflite" for m in flow["models"]
    ]
    acc = json.loads((out / "accuracy" / "accuracy.json").read_text())
    assert acc["models"]["munet_float32"]["agreement_with_float"]["dice"] > 0.99
    assert acc["images"] == 4


def test_a_user_folder_is_split_into_linked_training_and_validation_pairs(tmp_path: Path) -> None:
    """``--data DIR`` without train/ + val/: a group-preserving 80/20 split, linked into the report folder (the
    user's files are never moved or copied over); the synthetic set needs no data; image-only files are refused."""
    from munet.benchmarks.flow import prepare_data
    from munet.data import find_pairs
    from munet.errors import InputError
    from tests.conftest import write_blob_dataset

    data = write_blob_dataset(tmp_path / "mine", n=10, size=(32, 40))
    train, val, synthetic = prepare_data(tmp_path / "out", data, FlowConfig())
    assert not synthetic and (len(find_pairs(train)), len(find_pairs(val))) == (8, 2)
    linked = next((train / "images").iterdir())
    assert linked.is_symlink() and linked.resolve().parent == (data / "images").resolve()
    names = {p.name for p in (train / "images").iterdir()} | {p.name for p in (val / "images").iterdir()}
    assert names == {p.name for p in (data / "images").iterdir()}  # every pair once, none lost
    (data / "masks" / "img_000.png").unlink()
    with pytest.raises(InputError):
        prepare_data(tmp_path / "out2", data, FlowConfig())
