"""Test support: a real `vcm serve` process on loopback, tokens, and real coded segments."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from vcm.codec import encode

VCM = [sys.executable, "-m", "vcm.cli"]
START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def create_token(data: Path, name: str, role: str = "camera", *extra: str,
                 env: dict[str, str] | None = None) -> str:
    result = subprocess.run([*VCM, "token", "create", name, "--role", role, "--data", str(data), *extra],
                            capture_output=True, text=True, timeout=120, check=True,
                            env={**os.environ, **(env or {})})
    return result.stdout.strip()


class Service:
    """`vcm serve --data DATA` on a free port of 127.0.0.1, in its own process group."""

    def __init__(self, data: Path, *extra: str, port: int | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.data, self.extra, self.env = data, extra, {**os.environ, **(env or {})}
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data.parent / f"serve-{self.port}.log"

    def start(self) -> "Service":
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*VCM, "serve", "--data", str(self.data), "--port", str(self.port), *self.extra],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=self.env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"vcm serve exited with {self.process.returncode}: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"vcm serve did not answer within {START_TIMEOUT_S} s: {self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> "Service":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def moving_frames(count: int, width: int = 128, height: int = 96, seed: int = 0) -> np.ndarray:
    """(count, H, W, 3) uint8: a textured square moving over a gradient."""
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, width, dtype=np.float32)[None, :, None].repeat(height, 0).repeat(3, 2)
    texture = rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)
    frames = np.empty((count, height, width, 3), np.uint8)
    for index in range(count):
        frame = base.astype(np.uint8)
        x, y = (4 + 3 * index) % (width - 24), (8 + 2 * index) % (height - 24)
        frame[y : y + 24, x : x + 24] = texture
        frames[index] = frame
    return frames


def segment_bytes(count: int = 8, width: int = 128, height: int = 96, seed: int = 0, qp: int = 35,
                  codec: str = "hevc") -> bytes:
    """A real coded MP4 segment of `count` moving frames."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "segment.mp4"
        encode(moving_frames(count, width, height, seed), qp, path, codec=codec, gop=count, fps=10)
        return path.read_bytes()
