"""Test-time flips: un-flip and averaging maths, flip-equivariance, uncertainty map/score, munet-run --tta."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from munet.edge.cli import main
from munet.edge.runtime import Segmenter
from munet.edge.tta import (
    FLIP_SETS,
    check_tta,
    flip,
    passes,
    tta_predict,
    uncertainty_image,
    uncertainty_score,
)
from munet.errors import MunetError
from munet.imageio import list_images, load_image

H, W = 6, 8
COLS = np.tile(np.arange(W, dtype=np.float32) / (W - 1), (H, 1))  # 0 at the left edge, 1 at the right
ROWS = np.tile((np.arange(H, dtype=np.float32) / (H - 1))[:, None], (1, W))  # 0 at the top, 1 at the bottom


def _position_biased(x: np.ndarray) -> np.ndarray:
    """A predict function that is NOT flip-equivariant: half the input plus fixed column and row ramps."""
    return 0.5 * x[..., 0] + 0.3 * COLS + 0.2 * ROWS


def test_flip_sets_and_pass_counts() -> None:
    assert [passes(t) for t in ("none", "hflip", "flips")] == [1, 2, 4]
    assert all(FLIP_SETS[t][0] == (False, False) for t in FLIP_SETS)  # the identity pass comes first
    with pytest.raises(MunetError, match=r"^--tta 'four': unknown; choose one of none, hflip, flips$"):
        check_tta("four")


def test_unflip_and_average_by_hand() -> None:
    """Each pass is flipped back before averaging: the ramps average to constants, the input term survives."""
    x = np.random.default_rng(0).uniform(0, 1, (H, W, 3)).astype(np.float32)
    out = tta_predict(_position_biased, x, "flips")
    # passes after un-flipping: 0.5 x0 + 0.3 (COLS or mirrored COLS) + 0.2 (ROWS or mirrored ROWS)
    np.testing.assert_allclose(out.passes[0], _position_biased(x), atol=1e-6)
    np.testing.assert_allclose(out.passes[1], 0.5 * x[..., 0] + 0.3 * COLS[:, ::-1] + 0.2 * ROWS, atol=1e-6)
    np.testing.assert_allclose(out.passes[2], 0.5 * x[..., 0] + 0.3 * COLS + 0.2 * ROWS[::-1], atol=1e-6)
    # COLS + mirrored COLS = 1 and ROWS + mirrored ROWS = 1, so the mean is 0.5 x0 + 0.15 + 0.1
    np.testing.assert_allclose(out.prob, 0.5 * x[..., 0] + 0.25, atol=1e-6)
    # the spread is max - min: both ramps at their larger minus both at their smaller value
    expected = 0.3 * np.abs(COLS - COLS[:, ::-1]) + 0.2 * np.abs(ROWS - ROWS[::-1])
    np.testing.assert_allclose(out.spread, expected, atol=1e-6)
    # hflip: two passes, only the column ramp is mirrored; spread = |p1 - p2|
    two = tta_predict(_position_biased, x, "hflip")
    np.testing.assert_allclose(two.prob, 0.5 * x[..., 0] + 0.15 + 0.2 * ROWS, atol=1e-6)
    np.testing.assert_allclose(two.spread, 0.3 * np.abs(COLS - COLS[:, ::-1]), atol=1e-6)
    # none: the plain prediction, zero spread
    one = tta_predict(_position_biased, x, "none")
    np.testing.assert_array_equal(one.prob, _position_biased(x))
    assert not one.spread.any()


def test_flip_equivariant_model_on_a_symmetric_input_equals_plain() -> None:
    """A model whose output for a symmetric image is symmetric: TTA changes nothing and the spread is 0."""
    rng = np.random.default_rng(1)
    quarter = rng.uniform(-1, 1, (5, 7, 3)).astype(np.float32)
    half = np.concatenate([quarter, quarter[:, ::-1]], axis=1)
    x = np.concatenate([half, half[::-1]], axis=0)  # symmetric under both flips

    def blur_model(t: np.ndarray) -> np.ndarray:  # symmetric kernel + reflected border: flip-equivariant
        return 1 / (1 + np.exp(-cv2.GaussianBlur(t[..., 0] + t[..., 1], (5, 5), 1.0, borderType=cv2.BORDER_REFLECT)))

    plain = blur_model(x)
    for tta in ("hflip", "flips"):
        out = tta_predict(blur_model, x, tta)
        np.testing.assert_allclose(out.prob, plain, atol=1e-6)
        assert float(out.spread.max()) < 1e-6
        assert uncertainty_score(out.passes) < 1e-6


def test_tta_makes_the_real_model_flip_equivariant(tiny_int8: Path) -> None:
    """Averaged over all 4 flips, the int8 model's map of a mirrored image is the mirrored map (any model)."""
    rgb = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)  # model size: no resampling
    plain = Segmenter(tiny_int8, threads=1)
    assert np.abs(plain.segment(rgb[:, ::-1]).prob - plain.segment(rgb).prob[:, ::-1]).max() > 0.01  # not by itself
    seg = Segmenter(tiny_int8, threads=1, tta="flips")
    base = seg.segment(rgb)
    for v, h in FLIP_SETS["flips"][1:]:
        mirrored = seg.segment(flip(rgb, v, h))
        np.testing.assert_allclose(mirrored.prob, flip(base.prob, v, h), atol=1e-6)
        np.testing.assert_allclose(mirrored.spread, flip(base.spread, v, h), atol=1e-6)
        assert mirrored.uncertainty == pytest.approx(base.uncertainty, abs=1e-6)


def test_segmenter_tta_result_fields(tiny_int8: Path, edge_images: Path) -> None:
    plain = Segmenter(tiny_int8, threads=1)
    seg = Segmenter(tiny_int8, threads=1, tta="flips")
    calls = []
    invoke = seg.invoke
    seg.invoke = lambda t: calls.append(t.shape) or invoke(t)  # count the forward passes
    for path in list_images(edge_images):
        rgb = load_image(path)
        res, ref = seg.segment(rgb), plain.segment(rgb)
        assert res.mask.shape == rgb.shape[:2] and res.mask.dtype == np.uint8
        assert res.spread.shape == (64, 64) and res.spread.dtype == np.float32
        assert res.spread.min() >= 0.0 and res.spread.max() <= 1.0
        assert isinstance(res.uncertainty, float) and 0.0 <= res.uncertainty <= 1.0
        assert set(res.timings) == {"pre_ms", "infer_ms", "post_ms"}
        assert ref.uncertainty is None and ref.spread is None
        # the identity pass is the plain prediction, so the mean stays within the passes' spread of it
        assert np.all(np.abs(res.prob - ref.prob) <= res.spread + 1e-6)
    assert calls == [(1, 64, 64, 3)] * 4 * len(list_images(edge_images))
    with pytest.raises(MunetError, match="choose one of none, hflip, flips"):
        Segmenter(tiny_int8, tta="rotate")


def test_uncertainty_score_region_and_image() -> None:
    passes_ = np.zeros((2, 4, 4), np.float32)
    assert uncertainty_score(passes_) == 0.0  # no pass finds a lesion: they agree
    passes_[0, 0, :2] = [0.9, 0.6]  # pass 1 sees two lesion pixels
    passes_[1, 0, :2] = [0.8, 0.2]  # pass 2 only one
    passes_[1, 3, 3] = 0.4  # disagreement outside every mask does not count
    assert uncertainty_score(passes_) == pytest.approx((0.1 + 0.4) / 2)
    spread = np.ptp(passes_, axis=0)
    img = uncertainty_image(spread, (12, 20))
    assert img.shape == (12, 20, 3) and img.dtype == np.uint8
    zero, one = uncertainty_image(np.array([[0.0, 1.0]], np.float32))[0]
    assert zero.sum() < one.sum()  # the colour map runs dark (agree) -> bright (disagree)


def _rows(out: Path) -> list[dict]:
    return list(csv.DictReader((out / "summary.csv").open()))


def test_cli_tta_writes_uncertainty_png_and_columns(tiny_int8: Path, edge_images: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main, [str(tiny_int8), str(edge_images), "--out", str(out), "--threads", "1"] + ["--tta", "flips"]
    )
    assert res.exit_code == 0, res.output
    assert "(TTA flips: 4 passes/frame)" in res.output and "review" not in res.output
    seg = Segmenter(tiny_int8, threads=1, tta="flips")
    rows = {r["name"]: r for r in _rows(out)}
    assert "uncertainty" in next(iter(rows.values())) and "review" not in next(iter(rows.values()))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tta"] == "flips" and summary["passes"] == 4
    for path in list_images(edge_images):
        rgb = load_image(path)
        expected = seg.segment(rgb)
        png = cv2.imread(str(out / f"{path.stem}_uncertainty.png"), cv2.IMREAD_UNCHANGED)
        assert png.shape == (*rgb.shape[:2], 3) and png.dtype == np.uint8
        np.testing.assert_array_equal(png, uncertainty_image(expected.spread, rgb.shape[:2]))
        mask = cv2.imread(str(out / f"{path.stem}_segmentation.png"), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(mask, expected.mask * 255)
        assert float(rows[path.stem]["uncertainty"]) == pytest.approx(expected.uncertainty, abs=1e-4)
        row = next(r for r in summary["rows"] if r["name"] == path.stem)
        assert row["uncertainty"] == pytest.approx(expected.uncertainty, abs=1e-4)
    assert not list(out.glob(".*tmp*"))
    # without --tta: no uncertainty images and no uncertainty column
    plain = tmp_path / "plain"
    assert CliRunner().invoke(main, [str(tiny_int8), str(edge_images), "--out", str(plain)]).exit_code == 0
    assert not list(plain.glob("*_uncertainty.png")) and "uncertainty" not in _rows(plain)[0]
    assert (
        "passes/frame" not in CliRunner().invoke(main, [str(tiny_int8), str(edge_images), "--out", str(plain)]).output
    )


def test_cli_review_above_lists_and_marks(tiny_int8: Path, edge_images: Path, tmp_path: Path) -> None:
    seg = Segmenter(tiny_int8, threads=1, tta="hflip")
    scores = {p.stem: seg.segment(load_image(p)).uncertainty for p in list_images(edge_images)}
    cut = float(np.median(list(scores.values())))  # some images above, some not
    flagged = sorted(n for n, s in scores.items() if s > cut)
    assert 0 < len(flagged) < len(scores)
    out = tmp_path / "out"
    args = [str(tiny_int8), str(edge_images), "--out", str(out), "--threads", "1", "--tta", "hflip"]
    res = CliRunner().invoke(main, [*args, "--review-above", str(cut)])
    assert res.exit_code == 0, res.output
    assert f"review (uncertainty > {cut:g}): {len(flagged)} of {len(scores)}: {', '.join(flagged)}" in res.output
    assert "(TTA hflip: 2 passes/frame)" in res.output
    assert sorted(r["name"] for r in _rows(out) if r["review"] == "True") == flagged
    rows = json.loads((out / "summary.json").read_text())["rows"]
    assert sorted(r["name"] for r in rows if r["review"] is True) == flagged
    assert all(r["review"] is False for r in rows if r["name"] not in flagged)
    # --review-above without --tta: one-line error, exit 2
    res = CliRunner().invoke(
        main, [str(tiny_int8), str(edge_images), "--out", str(tmp_path / "x"), "--review-above", "0.1"]
    )
    assert res.exit_code == 2 and "--review-above needs --tta hflip or flips" in res.output


def test_cli_tta_on_a_live_video_source(tiny_int8: Path, tmp_path: Path, make_video) -> None:
    """A camera stand-in read in real time keeps working with TTA; the FPS lines name the pass count."""
    # 20 s of camera time, ended by --max-frames 5 after 5 frames: headroom for 4 passes per frame emulated
    # (.ci/aarch64.sh: ~0.7 s per frame quiet, 1.9 s on a busy host, where 5 s of video gave only 3 frames)
    video = make_video(tmp_path / "cam.avi", 400, fps=20)
    res = CliRunner().invoke(main, [str(tiny_int8), str(video), "--realtime", "--tta", "flips", "--max-frames", "5"])
    assert res.exit_code == 0, res.output
    assert "processed 5 frame(s)" in res.output and "(TTA flips: 4 passes/frame)" in res.output


def test_run_options_are_validated_once_before_anything_opens(tmp_path: Path) -> None:
    from munet.edge.runner import RunOptions, run

    with pytest.raises(MunetError, match="--review-above needs --tta"):
        RunOptions(review_above=0.2).validate()
    assert RunOptions(review_above=0.2, tta="flips").validate().tta == "flips"
    with pytest.raises(MunetError, match="--review-above needs --tta"):  # before the model or the source is read
        run(tmp_path / "missing.tflite", str(tmp_path / "nothing"), RunOptions(review_above=0.2))
