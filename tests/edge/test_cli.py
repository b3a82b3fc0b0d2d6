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
from munet.edge.runtime import Segmenter
from munet.imageio import list_images, load_image


def _images_with_corrupt(edge_images: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    shutil.copytree(edge_images, folder)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return folder


def test_folder_writes_masks_identical_to_python_api(tiny_int8, edge_images, tmp_path):
    folder = _images_with_corrupt(edge_images, tmp_path)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, [str(tiny_int8), str(folder), "--out", str(out), "--threads", "1"])
    assert res.exit_code == 3, res.output  # done, but not everything: a batch script must notice
    assert "processed 3 frame(s), skipped 1" in res.output and "1 input(s) skipped" in res.output
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
    assert proc.returncode == 130, stderr  # like munet-train: interrupted, summary written
    assert "ended: interrupted (SIGINT)" in stdout
    assert "Traceback" not in stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["ended"] == "interrupted (SIGINT)" and 0 < summary["processed"] < 150


def test_colliding_stems_get_unique_documented_names(tiny_int8, edge_images, tmp_path):
    """scan.jpg + scan.png (and scan.png in other folders of a glob) never overwrite each other's outputs."""
    rgb = load_image(edge_images / "img_00.png")
    for folder in ("a", "b", "c"):
        (tmp_path / folder).mkdir()
        cv2.imwrite(str(tmp_path / folder / "scan.png"), rgb[:, :, ::-1])
    cv2.imwrite(str(tmp_path / "a" / "scan.jpg"), load_image(edge_images / "img_01.png")[:, :, ::-1])
    out = tmp_path / "out"
    res = CliRunner().invoke(main, [str(tiny_int8), str(tmp_path / "*" / "scan.*"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "processed 4 frame(s)" in res.output
    # sorted inputs: a/scan.jpg keeps the stem, a/scan.png takes its file name, b/ and c/ get -2, -3
    expected = {
        "a/scan.jpg": "scan",
        "a/scan.png": "scan.png",
        "b/scan.png": "scan-2",
        "c/scan.png": "scan-3",
    }
    rows = list(csv.DictReader((out / "summary.csv").open()))
    got = {Path(r["source"]).relative_to(tmp_path).as_posix(): r for r in rows}
    assert {k: r["name"] for k, r in got.items()} == expected
    seg = Segmenter(tiny_int8, threads=1)
    for source, stem in expected.items():
        row = got[source]
        assert row["mask"] == f"{stem}_segmentation.png" and (out / f"{stem}_overlay.png").is_file()
        written = cv2.imread(str(out / row["mask"]), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(written, seg.segment(load_image(tmp_path / source)).mask * 255)
    assert len(list(out.glob("*_segmentation.png"))) == 4
    rows_json = json.loads((out / "summary.json").read_text())["rows"]
    assert sorted(r["mask"] for r in rows_json) == sorted(f"{s}_segmentation.png" for s in expected.values())


def _run_cli(args: list[str], preexec=None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "munet.edge.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec,
    )


def _one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip() and "XNNPACK delegate" not in line]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_out_under_a_regular_file_is_one_line(tiny_int8, edge_images, tmp_path):
    (tmp_path / "file.txt").write_text("not a folder\n")
    out = tmp_path / "file.txt" / "out"
    proc = _run_cli([str(tiny_int8), str(edge_images), "--out", str(out)])
    assert proc.returncode == 2
    line = _one_error_line(proc)
    assert str(out) in line and "file.txt is a file" in line and "cannot create" in line


def _limit_file_size(limit: int):
    def preexec() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # munet-run itself must ignore SIGXFSZ

    return preexec


def test_disk_full_stops_with_one_line_and_writes_the_summary(tiny_int8, edge_images, tmp_path):
    out = tmp_path / "out"
    # masks (about 1 kB) and the summary fit under 24 kB, the first overlay (noisy 192x256 RGB) does not
    proc = _run_cli([str(tiny_int8), str(edge_images), "--out", str(out), "--threads", "1"], _limit_file_size(24_000))
    assert proc.returncode == 2, proc.stderr
    line = _one_error_line(proc)
    assert str(out / "img_00_overlay.png") in line and "ulimit -f" in line
    assert f"summary in {out / 'summary.json'}" in line
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ended"].startswith("write failed") and summary["processed"] == 0
    assert "ended: write failed" in proc.stdout
    assert (out / "summary.csv").is_file() and not list(out.glob(".*tmp*"))


def test_nothing_writable_says_the_summary_was_not_written(tiny_int8, edge_images, tmp_path):
    out = tmp_path / "out"
    proc = _run_cli([str(tiny_int8), str(edge_images), "--out", str(out), "--no-overlay"], _limit_file_size(64))
    assert proc.returncode == 2, proc.stderr
    line = _one_error_line(proc)
    assert "_segmentation.png" in line and "the summary could not be written" in line
    assert not (out / "summary.json").exists() and not list(out.glob(".*tmp*"))
    assert "ended: write failed" in proc.stdout


def _stderr_on_a_terminal(args: list[str]) -> tuple[int, str]:
    """Run munet-run with stderr on a pseudo-terminal; returns (exit code, what the terminal showed)."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a real terminal has a size
    proc = subprocess.Popen(
        [sys.executable, "-m", "munet.edge.cli", *args], stdout=subprocess.PIPE, stderr=slave, close_fds=True
    )
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return proc.wait(timeout=120), shown.decode(errors="replace")


def test_progress_bar_only_on_a_terminal_and_not_with_quiet(tiny_int8, edge_images, tmp_path):
    code, shown = _stderr_on_a_terminal([str(tiny_int8), str(edge_images), "--out", str(tmp_path / "a")])
    assert code == 0 and "3/3" in shown and "100%" in shown, shown
    code, shown = _stderr_on_a_terminal([str(tiny_int8), str(edge_images), "--out", str(tmp_path / "b"), "--quiet"])
    assert code == 0 and "3/3" not in shown and "%|" not in shown, shown
    res = CliRunner().invoke(main, [str(tiny_int8), str(edge_images), "--out", str(tmp_path / "c")])
    assert res.exit_code == 0 and "3/3" not in res.output  # not a terminal: no bar


def test_out_folder_holding_the_inputs_is_refused_before_any_write(tiny_int8, edge_images, tmp_path):
    import shutil

    folder = tmp_path / "isic"
    shutil.copytree(edge_images, folder)
    truth = folder / f"{sorted(folder.iterdir())[0].stem}_segmentation.png"  # an ISIC-style ground-truth file
    truth.write_bytes(b"ground truth")
    before = sorted(p.name for p in folder.iterdir())
    res = CliRunner().invoke(main, [str(tiny_int8), str(folder), "--out", str(folder)])
    assert res.exit_code == 2 and "holds the inputs" in res.output and "choose another --out" in res.output
    assert res.output.count("\n") <= 2 and "Traceback" not in res.output
    assert sorted(p.name for p in folder.iterdir()) == before and truth.read_bytes() == b"ground truth"
    res = CliRunner().invoke(main, [str(tiny_int8), str(folder), "--out", str(folder / "masks"), "--threads", "1"])
    assert res.exit_code in (0, 3) and (folder / "masks" / "summary.json").is_file()  # a subfolder is fine
    assert sorted(p.name for p in folder.iterdir()) == sorted([*before, "masks"])
    assert truth.read_bytes() == b"ground truth"


def test_out_refusal_covers_links_globs_and_realtime_videos(tiny_int8, edge_images, tmp_path, make_video):
    """The folder holding an input is refused however --out names it (a symlink), when a glob makes a subfolder an
    input folder (a rerun over 'imgs/*/*.png' after writing masks into imgs/masks), and for a --realtime video."""
    folder = tmp_path / "imgs"
    shutil.copytree(edge_images, folder / "a")
    (tmp_path / "link").symlink_to(folder / "a", target_is_directory=True)
    before = sorted(p.name for p in (folder / "a").iterdir())
    res = CliRunner().invoke(main, [str(tiny_int8), str(folder / "a"), "--out", str(tmp_path / "link")])
    assert res.exit_code == 2 and "holds the inputs" in res.output, res.output
    assert sorted(p.name for p in (folder / "a").iterdir()) == before
    pattern = str(folder / "*" / "*.png")
    res = CliRunner().invoke(main, [str(tiny_int8), pattern, "--out", str(folder / "masks"), "--threads", "1"])
    assert res.exit_code == 0 and (folder / "masks" / "summary.json").is_file(), res.output
    written = {p: p.read_bytes() for p in (folder / "masks").iterdir()}
    res = CliRunner().invoke(main, [str(tiny_int8), pattern, "--out", str(folder / "masks"), "--threads", "1"])
    assert res.exit_code == 2 and "holds the inputs" in res.output, res.output  # its masks now match the glob
    assert {p: p.read_bytes() for p in (folder / "masks").iterdir()} == written
    (tmp_path / "v").mkdir()
    video = make_video(tmp_path / "v" / "clip.avi", 5, fps=100)
    for extra in ([], ["--realtime"]):
        res = CliRunner().invoke(main, [str(tiny_int8), str(video), "--out", str(video.parent), *extra])
        assert res.exit_code == 2 and "holds the inputs (e.g. clip.avi)" in res.output, (extra, res.output)
    assert [p.name for p in video.parent.iterdir()] == ["clip.avi"]
