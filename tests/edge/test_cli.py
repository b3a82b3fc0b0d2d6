"""munet-run on files: masks at the original size equal to the Python API, overlays, summary, errors, SIGINT."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from click.testing import CliRunner

from munet.edge.cli import main
from munet.edge.imageio import list_images, load_image
from munet.edge.runtime import Segmenter


def _images_with_corrupt(edge_images: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    shutil.copytree(edge_images, folder)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return folder


def test_folder_writes_masks_identical_to_python_api(tiny_int8, edge_images, tmp_path):
    folder = _images_with_corrupt(edge_images, tmp_path)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, [str(tiny_int8), str(folder), "--out", str(out), "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert "processed 3 frame(s), skipped 1" in res.output
    seg = Segmenter(tiny_int8, threads=1)
    for path in list_images(edge_images):
        rgb = load_image(path)
        written = cv2.imread(str(out / f"{path.stem}_segmentation.png"), cv2.IMREAD_UNCHANGED)
        assert written.ndim == 2 and written.shape == rgb.shape[:2]
        assert set(np.unique(written).tolist()) <= {0, 255}
        np.testing.assert_array_equal(written, seg.segment(rgb).mask * 255)
        ov = cv2.imread(str(out / f"{path.stem}_overlay.png"))
        assert ov.shape == (*rgb.shape[:2], 3)
    assert not list(out.glob("broken_*.png"))
    assert not list(out.glob(".*tmp*"))  # atomic writes leave no temporary files
    summary = json.loads((out / "summary.json").read_text())
    assert summary["processed"] == 3 and summary["skipped"] == 1 and summary["backend"] == "litert"
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["status"] for r in rows].count("skipped") == 1
    for row in rows:
        if row["status"] == "ok":
            mask = cv2.imread(str(out / f"{row['name']}_segmentation.png"), cv2.IMREAD_UNCHANGED) > 0
            assert abs(float(row["area_pct"]) - 100 * mask.mean()) < 1e-3
            if mask.any():
                ys, xs = np.nonzero(mask)
                assert (int(row["bbox_x"]), int(row["bbox_y"])) == (xs.min(), ys.min())
                assert int(row["bbox_w"]) == xs.max() - xs.min() + 1
                assert 0.5 < float(row["mean_confidence"]) <= 1.0
            assert float(row["infer_ms"]) > 0


def test_glob_single_file_and_no_overlay(tiny_int8, edge_images, tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(main, [str(tiny_int8), str(edge_images / "img_0*.png"), "--out", str(out), "--no-overlay"])
    assert res.exit_code == 0, res.output
    assert len(list(out.glob("*_segmentation.png"))) == 3 and not list(out.glob("*_overlay.png"))
    res = CliRunner().invoke(main, [str(tiny_int8), str(edge_images / "img_01.png"), "--out", str(out / "one")])
    assert res.exit_code == 0 and [p.name for p in (out / "one").glob("*.png")].count("img_01_segmentation.png") == 1


def test_only_corrupt_inputs_exit_nonzero(tiny_int8, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "x.png").write_bytes(b"nope")
    res = CliRunner().invoke(main, [str(tiny_int8), str(folder), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "skipped 1" in res.output


def test_non_tflite_model_one_line_error(tmp_path, edge_images):
    bad = tmp_path / "model.tflite"
    bad.write_text("this is not a model\n")
    proc = subprocess.run(
        [sys.executable, "-m", "munet.edge.cli", str(bad), str(edge_images), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "TFL3" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_sigint_ends_cleanly_with_summary(tiny_int8, tmp_path, make_video):
    video = make_video(tmp_path / "cam.avi", 150, fps=10)  # 15 s of "camera" at real time
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "munet.edge.cli",
            str(tiny_int8),
            str(video),
            "--realtime",
            "--threads",
            "1",
            "--out",
            str(tmp_path / "out"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((tmp_path / "out").glob("*_segmentation.png")):
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "ended: interrupted (SIGINT)" in stdout
    assert "Traceback" not in stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["ended"] == "interrupted (SIGINT)" and 0 < summary["processed"] < 150
