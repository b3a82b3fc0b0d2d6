"""A headless Chromium driven over the Chrome DevTools Protocol, with the standard library only.

``Browser.launch(flags)`` starts ``chromium --headless=new --remote-debugging-port=0`` in a throw-away profile;
:meth:`Browser.page` connects to its page over a minimal WebSocket client (RFC 6455 text frames: enough for
CDP's JSON messages); :meth:`Tab.call` sends one command and returns its result. Used by test_browser.py.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


class WebSocket:
    """A blocking WebSocket client for one ``ws://`` URL (client frames masked, as the RFC requires)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        self._buf = b""
        while b"\r\n\r\n" not in self._buf:
            self._buf += self._recv_some()
        head, self._buf = self._buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"{url}: no WebSocket upgrade: {head[:200]!r}")

    def _recv_some(self) -> bytes:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("the browser closed the DevTools connection")
        return chunk

    def _exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            self._buf += self._recv_some()
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def _frame(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send(self, text: str) -> None:
        self._frame(0x1, text.encode())

    def recv(self) -> str:
        parts = []
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            payload = self._exact(n)  # server frames are never masked
            opcode = b0 & 0x0F
            if opcode == 0x8:
                raise ConnectionError("the browser closed the DevTools connection")
            if opcode == 0x9:
                self._frame(0xA, payload)  # pong
                continue
            if opcode in (0x0, 0x1, 0x2):
                parts.append(payload)
                if b0 & 0x80:
                    return b"".join(parts).decode()

    def close(self) -> None:
        self.sock.close()


class Tab:
    """One DevTools target (a page, or the browser itself): ``call(method, **params)`` -> result."""

    def __init__(self, ws_url: str) -> None:
        self.ws = WebSocket(ws_url)
        self._id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params: object) -> dict:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]
            self.events.append(msg)

    def js(self, expression: str) -> object:
        """Evaluate ``expression`` in the page (promises awaited, as a user gesture) and return its value."""
        result = self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True, userGesture=True
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise RuntimeError(f"{expression}: {details.get('exception', {}).get('description') or details}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0, interval: float = 0.1) -> object:
        """Poll ``expression`` until it is truthy; its value. ``TimeoutError`` with the page's status if not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(interval)
        status = self.js("document.body.dataset.state + ': ' + document.getElementById('status')?.textContent")
        raise TimeoutError(f"{expression} still false after {timeout:.0f} s (page: {status})")

    def close(self) -> None:
        self.ws.close()


class Browser:
    """A headless Chromium in a temporary profile; close() ends it (and removes the profile)."""

    def __init__(self, proc: subprocess.Popen, profile: Path, port: int) -> None:
        self.proc, self.profile, self.port = proc, profile, port

    @classmethod
    def launch(cls, executable: str, flags: list[str] = (), timeout: float = 30.0) -> Browser:
        profile = Path(tempfile.mkdtemp(prefix="munet-chromium-"))
        cmd = [
            executable,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--window-size=900,800",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            *flags,
            "about:blank",
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.is_file() and port_file.read_text().count("\n") >= 1):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                shutil.rmtree(profile, ignore_errors=True)
                raise RuntimeError(f"{executable} did not start (exit {proc.poll()})")
            time.sleep(0.05)
        return cls(proc, profile, int(port_file.read_text().splitlines()[0]))

    def _targets(self) -> list[dict]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=10) as resp:
            return json.loads(resp.read())

    def page(self) -> Tab:
        page = next(t for t in self._targets() if t["type"] == "page")
        return Tab(page["webSocketDebuggerUrl"])

    def browser_target(self) -> Tab:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/version", timeout=10) as resp:
            return Tab(json.loads(resp.read())["webSocketDebuggerUrl"])

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)
