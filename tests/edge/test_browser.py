"""``munet-run MODEL --web PORT``: the in-browser page (MediaPipe Tasks, WASM on the CPU) in a real headless Chromium.

The page is served by the munet command itself, driven over the Chrome DevTools Protocol (tests/edge/cdp.py,
standard library only). Photo path: an ISIC validation image chosen in the file input gives a mask, saved by the
page's "save" button, that matches munet-run's (Dice >= 0.98). Camera path: Chromium's fake camera plays a clip
made here from ISIC validation images; frames arrive, the overlay is drawn and the lesion area % shown.
Skips with one line without chromium (apt-get install chromium), the vendored runtime (make web) or ../shared.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from munet.edge import browser as web
from munet.edge.bundled import resolve_model
from munet.edge.cli import main
from munet.edge.runtime import Segmenter
from munet.errors import ModelError, MunetError

_spec = importlib.util.spec_from_file_location("munet_test_cdp", Path(__file__).with_name("cdp.py"))
cdp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cdp)

CHROMIUM = cdp.find_chromium()
#: Agreement of the page's mask with munet-run's on the same image (MediaPipe resizes with its own kernels).
MIN_DICE = 0.98


def _vendored() -> bool:
    try:
        web.check_vendor(web.VENDOR_DIR)
        return True
    except MunetError:
        return False


needs_vendor = pytest.mark.skipif(not _vendored(), reason="MediaPipe web runtime not vendored: run `make web`")


def _skin() -> Path:
    """The bundled skin model, which MediaPipe loads (uint8 I/O, MediaPipe metadata)."""
    model = resolve_model("skin")
    web.model_settings(model, "skin")  # raises when MediaPipe would refuse it
    return model


def dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0, b > 0
    total = a.sum() + b.sum()
    return 1.0 if total == 0 else float(2 * (a & b).sum() / total)


# --- without a browser: the one-line refusals --------------------------------------------------------------------


def test_web_without_the_vendored_runtime_says_make_web(tmp_path, monkeypatch):
    monkeypatch.setattr(web, "VENDOR_DIR", tmp_path / "vendor")
    res = CliRunner().invoke(main, ["skin", "--web", "0"])
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and "run `make web`" in lines[0], res.output
    assert str(tmp_path / "vendor") in lines[0]
    res = CliRunner().invoke(main, ["skin", "some.jpg", "--web", "0"])
    assert res.exit_code == 2 and "drop SOURCE" in res.output
    res = CliRunner().invoke(main, ["skin"])
    assert res.exit_code == 2 and "Missing argument 'SOURCE'" in res.output and "--web PORT" in res.output


def test_web_refuses_a_model_mediapipe_cannot_load(tiny_int8, tmp_path):
    with pytest.raises(ModelError, match=r"int8 input, which MediaPipe's ImageSegmenter refuses.*--io uint8"):
        web.model_settings(tiny_int8, "tiny")  # the suite's tiny model has int8 I/O
    plain = tmp_path / "plain.tflite"  # the skin file with its MediaPipe metadata entry renamed away
    plain.write_bytes(resolve_model("skin").read_bytes().replace(b"TFLITE_METADATA", b"TFLITE_METADATX"))
    with pytest.raises(ModelError, match=r"plain.tflite: no MediaPipe metadata.*--mediapipe"):
        web.model_settings(plain, "plain")
    data = bytearray(resolve_model("skin").read_bytes())
    data[len(data) // 3] ^= 0xFF  # a flipped weight byte: MediaPipe would run it; the server refuses it
    (tmp_path / "flipped.tflite").write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"flipped.tflite: model file changed since conversion"):
        web.model_settings(tmp_path / "flipped.tflite", "flipped")


@needs_vendor
def test_web_server_serves_page_runtime_model_and_nothing_else():
    model = _skin()
    with web.WebServer("skin", port=0) as server:

        def get(path: str) -> tuple[int, bytes, str]:
            try:
                with urllib.request.urlopen(server.url.rstrip("/") + path, timeout=10) as resp:
                    return resp.status, resp.read(), resp.headers["Content-Type"]
            except urllib.error.HTTPError as exc:
                return exc.code, b"", ""

        status, body, ctype = get("/")
        assert status == 200 and b'src="app.mjs"' in body and ctype.startswith("text/html")
        status, body, ctype = get("/app.mjs")
        assert status == 200 and b"ImageSegmenter" in body and ctype.startswith("text/javascript")
        assert get("/vendor/wasm/vision_wasm_internal.wasm")[2] == "application/wasm"
        status, body, _ = get("/model.tflite")
        assert status == 200 and body == model.read_bytes()
        info = json.loads(get("/model.json")[1])
        assert info["name"] == "skin" and info["threshold"] == 0.5 and info["input_size"] == [128, 128]
        for path in ("/vendor/../browser.py", "/vendor/%2e%2e/browser.py", "/../pyproject.toml", "/web/app.mjs"):
            assert get(path)[0] == 404, path


def test_the_page_ships_with_the_package():
    """pyproject.toml puts the page (and, after `make web`, the runtime the server asks for) into a wheel."""
    from fnmatch import fnmatch

    tomllib = pytest.importorskip("tomllib")
    setup = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = setup["package-data"]["munet.edge.web"]
    assert "munet.edge.web" in setup["packages"]
    for name in [*set(web.PAGE_FILES.values()), *(f"vendor/{f}" for f in web.VENDOR_FILES)]:
        assert (web.WEB_DIR / name).is_file() or name.startswith("vendor/"), name
        assert any(fnmatch(name, g) and name.count("/") == g.count("/") for g in globs), name


# --- in Chromium -------------------------------------------------------------------------------------------------


def write_y4m(path: Path, frames_bgr: list[np.ndarray], fps: int = 10) -> Path:
    """A YUV4MPEG2 (4:2:0) clip: Chromium's --use-file-for-fake-video-capture plays it in a loop."""
    h, w = frames_bgr[0].shape[:2]
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for bgr in frames_bgr:
            f.write(b"FRAME\n" + cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


@pytest.fixture(scope="module")
def camera_frames(isic_dir: Path) -> list[np.ndarray]:
    """Three ISIC validation images at 320x240 (BGR): the fake dermatoscope's view."""
    paths = sorted((isic_dir / "val" / "images").glob("*.jpg"))[:3]
    return [cv2.resize(cv2.imread(str(p)), (320, 240), interpolation=cv2.INTER_AREA) for p in paths]


@pytest.fixture(scope="module")
def served_skin():
    """``munet-run skin --web 0`` in its own process: the page's URL; stopped with Ctrl-C (exit 0) at the end."""
    if not _vendored():
        pytest.skip("MediaPipe web runtime not vendored: run `make web`")
    try:
        _skin()
    except ModelError as exc:
        pytest.skip(f"the bundled skin model does not load in MediaPipe: {exc}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "munet.edge.cli", "skin", "--web", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    url = re.search(r"http://127\.0\.0\.1:\d+/", line)
    assert url, (line, proc.stderr.read() if proc.poll() is not None else "")
    yield url.group(0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "stopped" in out, (proc.returncode, out, err)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory, camera_frames):
    """A headless Chromium whose camera is a fake device playing the ISIC clip; downloads go to ``downloads``."""
    if CHROMIUM is None:
        pytest.skip("chromium not installed: apt-get install chromium (CI installs it)")
    tmp = tmp_path_factory.mktemp("chromium")
    clip = write_y4m(tmp / "clip.y4m", [f for f in camera_frames for _ in range(5)])
    flags = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    browser = cdp.Browser.launch(CHROMIUM, flags)
    downloads = tmp / "downloads"
    downloads.mkdir()
    control = browser.browser_target()
    control.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(downloads), eventsEnabled=True)
    tab = browser.page()
    try:
        yield tab, downloads
    finally:
        tab.close()
        control.close()
        browser.close()


def open_page(tab, url: str):
    tab.call("Page.navigate", url=url)
    tab.wait_for("document.readyState === 'complete' && document.body.dataset.state === 'ready'", timeout=60)


def screenshot(tab) -> np.ndarray:
    png = base64.b64decode(tab.call("Page.captureScreenshot", format="png")["data"])
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)


def assert_overlay_on_screen(shot: np.ndarray) -> None:
    """Not blank: varied pixels, the red lesion tint and the yellow outline that the page draws."""
    b, g, r = (shot[..., i].astype(int) for i in range(3))
    tinted = int(((r > g + 60) & (r > b + 60)).sum())
    outline = int(((r > 200) & (g > 200) & (b < 80)).sum())
    assert shot.std() > 20 and tinted > 500 and outline > 50, (shot.std(), tinted, outline)


@pytest.mark.shared
def test_photo_in_the_browser_gives_munet_runs_mask(chromium, served_skin, isic_dir, tmp_path):
    tab, downloads = chromium
    images = sorted((isic_dir / "val" / "images").glob("*.jpg"))[:3]
    for image in images:
        res = CliRunner().invoke(main, ["skin", str(image), "--out", str(tmp_path / "ref"), "--threads", "1"])
        assert res.exit_code == 0, res.output
    open_page(tab, served_skin)
    assert tab.js("document.getElementById('model').textContent") == "skin"
    root = tab.call("DOM.getDocument")["root"]["nodeId"]
    scores = {}
    for image in images:
        node = tab.call("DOM.querySelector", nodeId=root, selector="#photo")["nodeId"]
        tab.call("DOM.setFileInputFiles", files=[str(image)], nodeId=node)
        tab.wait_for(
            f"document.body.dataset.state === 'photo' && document.getElementById('status')"
            f".textContent.startsWith({json.dumps(image.name)})",
            timeout=30,
        )
        area = float(tab.js("document.body.dataset.area"))
        assert re.fullmatch(r"lesion area \d+\.\d %", tab.js("document.getElementById('area').textContent"))
        tab.js("document.getElementById('save').click()")
        saved = downloads / f"{image.stem}_segmentation.png"
        deadline = time.monotonic() + 15
        while not saved.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        page_mask = cv2.imread(str(saved), cv2.IMREAD_GRAYSCALE)
        ref_mask = cv2.imread(str(tmp_path / "ref" / f"{image.stem}_segmentation.png"), cv2.IMREAD_GRAYSCALE)
        assert page_mask is not None and page_mask.shape == ref_mask.shape == cv2.imread(str(image)).shape[:2]
        assert set(np.unique(page_mask)) <= {0, 255}
        assert abs(area - 100 * (page_mask > 0).mean()) < 0.01  # the % shown is the saved mask's
        scores[image.name] = dice(page_mask, ref_mask)
        if image == images[0]:
            assert_overlay_on_screen(screenshot(tab))
    assert min(scores.values()) >= MIN_DICE, scores
    print(f"page vs munet-run mask Dice: {scores}")


@pytest.mark.shared
def test_camera_in_the_browser_draws_the_overlay_and_area(chromium, served_skin, camera_frames):
    tab, _ = chromium
    open_page(tab, served_skin)
    seg = Segmenter("skin", threads=1)
    areas = [100 * seg.segment(cv2.cvtColor(f, cv2.COLOR_BGR2RGB)).mask.mean() for f in camera_frames]
    tab.js("document.getElementById('camera').click()")
    tab.wait_for("Number(document.body.dataset.frames || 0) >= 5", timeout=30)
    assert tab.js("document.body.dataset.state") == "camera"
    assert tab.js("[document.getElementById('view').width, document.getElementById('view').height]") == [320, 240]
    assert re.fullmatch(r"\d+\.\d FPS", tab.js("document.getElementById('fps').textContent"))
    first = int(tab.js("document.body.dataset.frames"))
    tab.wait_for(f"Number(document.body.dataset.frames) > {first + 3}", timeout=20)  # frames keep arriving
    shown = []
    for _ in range(5):
        shown.append(float(tab.js("document.body.dataset.area")))
        time.sleep(0.1)
    assert re.fullmatch(r"lesion area \d+\.\d %", tab.js("document.getElementById('area').textContent"))
    # each area shown is that of one of the clip's frames as munet-run segments it (the camera path's YUV 4:2:0
    # round trip and MediaPipe's resizing move it a little)
    assert all(min(abs(a - b) for b in areas) < 2.0 for a in shown), (shown, areas)
    print(f"camera: areas shown {shown}, munet-run on the clip frames {areas}")
    assert_overlay_on_screen(screenshot(tab))
    tab.js("document.getElementById('camera').click()")
    assert tab.wait_for("document.body.dataset.state === 'ready'", timeout=10)
