"""A real `vcm serve` on 127.0.0.1 holding two segments uploaded by the real camera agent, and a
headless Chromium driven by Selenium.

Fixtures (module-scoped):

- ``served``: a :class:`Served` (``url``, ``reader``/``camera`` tokens, ``data`` folder, ``log``).
  Tokens come from `vcm token create`, the segments from `vcm edge --frames 64` (2 segments of 32
  frames of the sample clip, machine layer only). The server (tests/live_service.py) runs in its
  own process group, stopped (SIGTERM, then SIGKILL) when the module ends or setup fails half-way.
- ``browser``: a headless Chromium WebDriver (muted autoplay allowed), quit at the end.
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.live_service import VCM, Service, create_token

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CAMERA = "cam1"
FRAMES = 64  # two GOP-long segments of 32 frames
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@dataclass
class Served:
    url: str
    reader: str
    camera: str
    data: Path
    log: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sample_path: Path) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("served")
    data = root / "data"
    camera, reader = create_token(data, CAMERA), create_token(data, "viewer", "reader")
    with Service(data) as service:
        # Segment 0 with its restoration layer; the agent then resumes for segment 1 without one.
        for frames, flags in ((FRAMES // 2, []), (FRAMES, ["--no-restoration"])):
            edge = subprocess.run([*VCM, "edge", str(sample_path), "--server", service.url,
                                   "--camera", CAMERA, "--token", camera, "--spool", str(root / "spool"),
                                   "--frames", str(frames), *flags],
                                  capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
            assert edge.returncode == 0, f"vcm edge failed:\n{edge.stdout}{edge.stderr}"
        yield Served(url=service.url, reader=reader, camera=camera, data=data, log=service.log)


@pytest.fixture(scope="module")
def browser() -> Iterator["WebDriver"]:
    from selenium import webdriver

    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not found: apt-get install chromium chromium-driver "
                    "(or `make servers-check` as root)", pytrace=False)
    os.environ["SE_AVOID_STATS"] = "true"  # Selenium Manager must not phone home (no network here)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
                     "--autoplay-policy=no-user-gesture-required", "--disable-extensions",
                     "--no-first-run", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(30)
        driver.set_script_timeout(30)
        yield driver
    finally:
        driver.quit()
