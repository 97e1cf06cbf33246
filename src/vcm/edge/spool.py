"""The agent's spool: segments wait here on local disk until the service acknowledges them.

Layout under SPOOL/CAMERA: `state.json` (the source being read, frames of it consumed,
the next segment number, the time of its first frame) and one folder per segment,
`0000000042/` holding `segment.json` (number, start time, frames, parts already
acknowledged) and its parts (`machine`, `restoration`, `detections`). A segment folder
is written as `.NAME.part` and renamed when complete, so the uploader never sees half a
segment; a crash leaves at most a `.part` folder, removed on the next start. The spool is
readable by its owner only.
"""

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vcm.api.contract import PARTS
from vcm.atomic import fsync_folder, private_folder, write_durably
from vcm.errors import OutputError


@dataclass
class SpoolState:
    """Where the agent is in its source. epoch: seconds since the epoch of the source's
    first frame (files: fixed at the first run, so a resumed run gives the same times)."""

    source: str = ""
    frames: int = 0
    next_seq: int = 0
    epoch: float = 0.0


@dataclass
class SpooledSegment:
    """A complete segment in the spool; sent: parts the service has acknowledged."""

    folder: Path
    seq: int
    start: float
    frames: int
    first_frame: int
    fps: float
    sent: list[str] = field(default_factory=list)

    def meta(self) -> dict[str, object]:
        return {"seq": self.seq, "start": self.start, "frames": self.frames, "first_frame": self.first_frame,
                "fps": self.fps, "sent": self.sent}

    def part(self, name: str) -> Path:
        return self.folder / name

    def parts(self) -> list[str]:
        return [name for name in PARTS if self.part(name).is_file()]


def _write_durably(path: Path, data: bytes) -> None:
    write_durably(path, data, f"the spool file {path}")


class Spool:
    """The spool folder of one camera."""

    def __init__(self, root: Path, camera: str) -> None:
        self.folder = root / camera
        try:
            private_folder(root)
            private_folder(self.folder)
        except OSError as error:
            raise OutputError(f"cannot create the spool {self.folder}: {error.strerror}") from None
        if not os.access(self.folder, os.W_OK):
            raise OutputError(f"the spool {self.folder} is not writable")
        self.rejected = self.folder / "rejected"
        for stale in self.folder.glob(".*.part*"):
            shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)

    @property
    def _state_path(self) -> Path:
        return self.folder / "state.json"

    def state(self) -> SpoolState:
        """The saved state, made consistent with the segments present (a crash between
        writing a segment and saving the state loses nothing)."""
        state = SpoolState()
        if self._state_path.is_file():
            state = SpoolState(**json.loads(self._state_path.read_text()))
        for segment in self.pending():
            state.next_seq = max(state.next_seq, segment.seq + 1)
            state.frames = max(state.frames, segment.first_frame + segment.frames)
        return state

    def save_state(self, state: SpoolState) -> None:
        _write_durably(self._state_path, json.dumps(asdict(state)).encode())

    def add(self, seq: int, start: float, first_frame: int, frames: int, fps: float,
            parts: Mapping[str, bytes]) -> None:
        """Write a complete segment (durable when this returns)."""
        name = f"{seq:010d}"
        partial = self.folder / f".{name}.part"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        for part, data in parts.items():
            _write_durably(partial / part, data)
        meta = SpooledSegment(self.folder / name, seq, start, frames, first_frame, fps).meta()
        _write_durably(partial / "segment.json", json.dumps(meta).encode())
        partial.rename(self.folder / name)
        fsync_folder(self.folder)

    def pending(self) -> list[SpooledSegment]:
        """Complete segments not yet acknowledged, by number."""
        found = []
        for folder in sorted(self.folder.iterdir()):
            if folder.is_dir() and folder.name.isdigit() and (folder / "segment.json").is_file():
                meta = json.loads((folder / "segment.json").read_text())
                found.append(SpooledSegment(folder=folder, **meta))
        return found

    def mark_sent(self, segment: SpooledSegment, part: str) -> None:
        segment.sent.append(part)
        _write_durably(segment.folder / "segment.json", json.dumps(segment.meta()).encode())

    def remove(self, segment: SpooledSegment) -> None:
        shutil.rmtree(segment.folder)

    def reject(self, segment: SpooledSegment, reason: str) -> Path:
        """Move a segment the service refused out of the queue, with the refusal in `reason.txt`
        (kept for a person to look at; `requeue_rejected` tries it again)."""
        self.rejected.mkdir(exist_ok=True)
        target = self.rejected / segment.folder.name
        shutil.rmtree(target, ignore_errors=True)
        _write_durably(segment.folder / "reason.txt", (reason + "\n").encode())
        segment.folder.rename(target)
        return target

    def requeue_rejected(self) -> int:
        """Put every refused segment back in the queue (a refusal may have been the service's
        configuration, since fixed); returns how many."""
        if not self.rejected.is_dir():
            return 0
        count = 0
        for folder in sorted(self.rejected.iterdir()):
            if folder.is_dir() and folder.name.isdigit() and not (self.folder / folder.name).exists():
                (folder / "reason.txt").unlink(missing_ok=True)
                folder.rename(self.folder / folder.name)
                count += 1
        fsync_folder(self.folder)
        return count
