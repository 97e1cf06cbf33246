"""Many cameras from one configuration file, in one supervised process (`vcm edge --config`).

    server = "http://vcm.example:8000"
    spool = "/var/lib/vcm-edge"          # one folder per camera below it (default ./spool)
    [defaults]                           # any camera setting, for every camera
    classes = "surveillance"
    [cameras.gate]
    source = "rtsp://10.0.0.5/stream1"
    token_file = "/etc/vcm/gate.token"   # or token_env = "VCM_TOKEN_GATE"
    [cameras.dock]
    source = "rtsp://10.0.0.6/stream1"
    token_env = "VCM_TOKEN_DOCK"
    classes = "truck,person"
    privacy = "faces"                    # conceal faces at the source (default "off")

Camera settings: source (required), token_file or token_env (required), method, codec, gop,
restoration, restore_like_qp, classes, min_score, detector, verify_every, frames, privacy. Each camera
runs the agent in its own thread. A live source that drops or cannot be reached is reconnected with
exponential backoff (RECONNECT_START_S doubling to RECONNECT_MAX_S, back to the start once a
segment was coded); a file source runs once. A refused token stops that camera for good (the
others go on) and makes the process exit 1 at the end.
"""

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcm.api.client import Client
from vcm.api.contract import check_name
from vcm.codec.qpmap import QP_MAX
from vcm.edge.agent import EdgeConfig, run_agent
from vcm.edge.spool import Spool
from vcm.edge.uploader import TokenRefused
from vcm.errors import InputError, VcmError
from vcm.media.source import FrameSource, NoFrames, is_live
from vcm.models.detectors import DEFAULT_DETECTOR, check_detector_name
from vcm.planners import PlanSettings, listed_planners
from vcm.privacy.mode import PRIVACY_MODES
from vcm.restoration.target import QualityTarget
from vcm.tasks import DEFAULT_CLASSES, DETECT_MIN_SCORE, class_names
from vcm.tasks.targets import TargetSpec
from vcm.tomlfile import read_toml

RECONNECT_START_S = 1.0
RECONNECT_MAX_S = 60.0
SETTINGS = {"source", "token_file", "token_env", "method", "codec", "gop", "restoration", "restore_like_qp",
            "classes", "min_score", "detector", "verify_every", "frames", "privacy"}


@dataclass(frozen=True)
class CameraSetup:
    """One camera of the configuration, every setting checked."""

    name: str
    source: str
    token: str
    edge: EdgeConfig
    detector: str
    frames: int | None = None


@dataclass(frozen=True)
class FleetConfig:
    """The service, the spool root and the cameras."""

    server: str
    spool: Path
    cameras: list[CameraSetup] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> "FleetConfig":
        """The configuration in TOML file `path`; InputError naming what is wrong."""
        raw = read_toml(path, "camera configuration")
        unknown = set(raw) - {"server", "spool", "defaults", "cameras"}
        if unknown:
            raise InputError(f"{path}: unknown setting {sorted(unknown)[0]!r} "
                             "(server, spool, defaults, cameras)")
        if not isinstance(raw.get("server"), str) or not raw["server"].startswith(("http://", "https://")):
            raise InputError(f"{path}: server must be an http:// or https:// URL")
        cameras = raw.get("cameras")
        if not isinstance(cameras, Mapping) or not cameras:
            raise InputError(f"{path}: no [cameras.NAME] table")
        defaults = raw.get("defaults", {})
        setups = [_camera(name, {**defaults, **settings}, path.parent, f"{path}: cameras.{name}")
                  for name, settings in cameras.items()]
        return cls(raw["server"], Path(raw.get("spool", "spool")), setups)


def _camera(name: str, settings: Mapping[str, Any], base: Path, where: str) -> CameraSetup:
    check_name(name)
    unknown = set(settings) - SETTINGS
    if unknown:
        raise InputError(f"{where}: unknown setting {sorted(unknown)[0]!r}")
    source = settings.get("source")
    if not isinstance(source, str) or not source:
        raise InputError(f"{where}: source is required (a file, a pipe or an rtsp/http/udp/tcp URL)")
    method = settings.get("method", "fast")
    if method not in listed_planners():
        raise InputError(f"{where}: method must be one of {', '.join(listed_planners())}")
    codec = settings.get("codec", "hevc")
    if codec not in ("hevc", "h264"):
        raise InputError(f"{where}: codec must be hevc or h264")
    gop, verify_every = _whole(settings, "gop", 32, 1, where), _whole(settings, "verify_every", 0, 0, where)
    frames = _whole(settings, "frames", None, 1, where)
    min_score = settings.get("min_score", DETECT_MIN_SCORE)
    if isinstance(min_score, bool) or not isinstance(min_score, int | float) or not 0 < min_score <= 1:
        raise InputError(f"{where}: min_score must be in (0, 1]")
    classes = settings.get("classes", DEFAULT_CLASSES)
    if not isinstance(classes, str):
        raise InputError(f"{where}: classes must be a named set or comma-separated COCO names")
    names = class_names(classes, f"{where}: classes")
    restoration = settings.get("restoration", True)
    if not isinstance(restoration, bool):
        raise InputError(f"{where}: restoration must be true or false")
    like_qp = _whole(settings, "restore_like_qp", QualityTarget().reference_qp, 0, where)
    if like_qp > QP_MAX:
        raise InputError(f"{where}: restore_like_qp must be at most {QP_MAX}")
    detector = settings.get("detector", DEFAULT_DETECTOR)
    try:
        check_detector_name(str(detector))
    except InputError as error:
        raise InputError(f"{where}: detector: {error}") from None
    privacy = settings.get("privacy", "off")
    if privacy not in PRIVACY_MODES:
        raise InputError(f"{where}: privacy must be one of {', '.join(PRIVACY_MODES)}")
    targets = TargetSpec(min_score=float(min_score), classes=names)
    edge = EdgeConfig(camera=name, planner=method, restoration=restoration, verify_every=verify_every,
                      settings=PlanSettings(codec=codec, gop=gop, targets=targets),
                      restore_target=QualityTarget(reference_qp=like_qp), privacy=PRIVACY_MODES[privacy])
    return CameraSetup(name, source, _token(settings, base, where), edge, str(detector), frames)


def _whole(settings: Mapping[str, Any], key: str, default: int | None, minimum: int, where: str) -> Any:
    value = settings.get(key, default)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < minimum):
        raise InputError(f"{where}: {key} must be a whole number >= {minimum}")
    return value


def _token(settings: Mapping[str, Any], base: Path, where: str) -> str:
    """The camera's token from token_file (relative to the configuration) or token_env."""
    if "token_file" in settings:
        path = base / str(settings["token_file"])
        try:
            token = path.read_text().strip()
        except OSError as error:
            raise InputError(f"{where}: cannot read token_file {path}: {error.strerror}") from None
    elif "token_env" in settings:
        token = os.environ.get(str(settings["token_env"]), "").strip()
        if not token:
            raise InputError(f"{where}: the environment variable {settings['token_env']} is not set")
    else:
        raise InputError(f"{where}: give token_file or token_env (tokens are not written in the file)")
    return token


class Fleet:
    """Runs every camera of a configuration until its source ends (files) or `stop` (live)."""

    def __init__(self, config: FleetConfig, load_detector: Callable[[str], Any], *,
                 log: Callable[[str, str], None]) -> None:
        self.config, self.load_detector, self.log = config, load_detector, log
        self.outcomes: dict[str, str] = {}  # camera -> "done", "stopped" or the reason it failed
        self._stopping = threading.Event()
        self._sources: list[FrameSource] = []
        self._lock = threading.Lock()

    def stop(self) -> None:
        """End every camera: stop reading sources, no more reconnects."""
        self._stopping.set()
        with self._lock:
            for source in self._sources:
                source.stop()

    def run(self) -> dict[str, str]:
        """Run every camera in its own thread; returns their outcomes."""
        threads = [threading.Thread(target=self._supervise, args=(camera,), name=f"camera-{camera.name}")
                   for camera in self.config.cameras]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
        return self.outcomes

    def _supervise(self, camera: CameraSetup) -> None:
        def say(line: str) -> None:
            self.log(camera.name, line)

        detector = self.load_detector(camera.detector)
        spool = Spool(self.config.spool, camera.name)
        delay = RECONNECT_START_S
        with Client(self.config.server, camera.token) as client:
            while not self._stopping.is_set():
                try:
                    summary = run_agent(camera.source, lambda start: self._open(camera, start), client, spool,
                                        camera.edge, detector, log=say)
                except TokenRefused as refused:
                    say(f"stopped for good: {refused}")
                    self.outcomes[camera.name] = str(refused)
                    return
                except VcmError as error:
                    if not is_live(camera.source):
                        say(f"stopped: {error}")
                        self.outcomes[camera.name] = str(error)
                        return
                    say(f"source unavailable ({error}); reconnecting in {delay:g} s")
                else:
                    if not is_live(camera.source) or self._stopping.is_set():
                        self.outcomes[camera.name] = "done" if not self._stopping.is_set() else "stopped"
                        return
                    if summary.segments_coded:
                        delay = RECONNECT_START_S
                    say(f"source ended; reconnecting in {delay:g} s")
                if self._stopping.wait(delay):
                    break
                delay = min(2 * delay, RECONNECT_MAX_S)
        self.outcomes[camera.name] = "stopped"

    def _open(self, camera: CameraSetup, start: int) -> FrameSource:
        limit = None if camera.frames is None else camera.frames - start
        if limit is not None and limit < 1:
            raise NoFrames(f"{camera.source} holds no frames beyond the {camera.frames} asked for")
        source = FrameSource(camera.source, start=start, max_frames=limit)
        with self._lock:
            self._sources = [s for s in self._sources if not s.stopped] + [source]
        if self._stopping.is_set():
            source.stop()
        return source

