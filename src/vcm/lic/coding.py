"""Code pictures and videos to .vcml files and back with a trained model (the Python API).

    model = LearnedCodec.load()                       # the shipped base + adapters
    model.encode_file("clip.mp4", "clip.vcml", quality=5)
    for picture in model.decode_file("clip.vcml", task="detect"): ...   # (H, W, 3) uint8

Frames are coded one at a time (intra only), so memory does not grow with the video's length.
"""

import hashlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import torch

from vcm.allocator import keep_freed_memory
from vcm.atomic import atomic_output
from vcm.errors import InputError
from vcm.lic.bitstream import Header, read_header, read_records, write_record
from vcm.lic.distortions import MACHINE_TASKS, TASKS
from vcm.lic.model import pad_to_stride
from vcm.lic.postfilter import PostFilter
from vcm.lic.train import Trainable

SHIPPED_MODEL = Path(__file__).parent / "models" / "lic.pt"
FINGERPRINT_BYTES = 8
DEFAULT_QUALITY = 5  # of 7 (lambda 0.0067): about 0.3 bits per pixel on the sample


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, H, W) float in [0, 1]."""
    return torch.from_numpy(np.require(rgb, requirements=["C", "W"])).permute(2, 0, 1)[None].float() / 255.0


def to_picture(x: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) float in [0, 1] -> (H, W, 3) uint8."""
    return (x[0].clamp(0, 1).permute(1, 2, 0) * 255.0).round().byte().numpy()


class LearnedCodec:
    """A trained base codec with its shared encoder adapter and per-task decoder adapters."""

    def __init__(self, model: Trainable, postfilters: dict[str, PostFilter] | None = None) -> None:
        self.model = model.eval()
        self.postfilters = postfilters or {}
        digest = hashlib.sha256()
        for name, tensor in sorted(model.codec.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().contiguous().numpy().tobytes())
        self.fingerprint = digest.digest()[:FINGERPRINT_BYTES]
        for module in (model.codec, model.encoder_adapter, model.decoder_adapters):
            module.to(memory_format=torch.channels_last)  # oneDNN runs these convolutions ~1.7x faster
        keep_freed_memory()  # feature maps reuse heap memory instead of fresh pages (vcm.allocator)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "LearnedCodec":
        target = Path(path) if path is not None else SHIPPED_MODEL
        if not target.is_file():
            raise InputError(f"model {target} does not exist")
        try:
            state = torch.load(target, map_location="cpu", weights_only=True)
            filters = {task: PostFilter.from_weights(weights)
                       for task, weights in state.get("postfilters", {}).items()}
            return cls(Trainable.from_state(state["model"]), filters)
        except (KeyError, RuntimeError, TypeError, ValueError, EOFError) as error:
            raise InputError(f"{target} is not a vcm learned-codec model ({type(error).__name__})") from None

    @property
    def qualities(self) -> int:
        return self.model.codec.shape.qualities

    def check_quality(self, quality: int) -> None:
        if not 1 <= quality <= self.qualities:
            raise InputError(f"--quality must be 1..{self.qualities} (1 = lowest rate), got {quality}")

    def postfilter(self, rgb: np.ndarray, task: str) -> np.ndarray:
        """A standard codec's decoded (H, W, 3) uint8 picture -> the picture for `task` (its
        post-filter; people get the picture as it is)."""
        if task == "human":
            return rgb
        if task not in self.postfilters:
            raise InputError(f"this model has no post-filter for {task!r}; "
                             f"it has {', '.join(self.postfilters) or 'none'}")
        with torch.no_grad():
            return to_picture(self.postfilters[task](to_tensor(rgb)))

    def encode_picture(self, rgb: np.ndarray, quality: int, machine: bool = True) -> tuple[bytes, bytes]:
        """(H, W, 3) uint8 -> (z string, y string) at quality 1..N."""
        self.check_quality(quality)
        adapter = self.model.encoder_adapter if machine else None
        x = pad_to_stride(to_tensor(rgb)).contiguous(memory_format=torch.channels_last)
        return self.model.codec.compress(x, quality - 1, adapter)

    def decode_picture(self, z_string: bytes, y_string: bytes, width: int, height: int, quality: int,
                       task: str = "human") -> np.ndarray:
        """Strings of a width x height picture -> (H, W, 3) uint8 for `task` (its adapter's picture)."""
        TASKS.entry(task)
        adapter = self.model.decoder_adapters[task] if task in MACHINE_TASKS else None
        padded = (height + (-height % 64), width + (-width % 64))
        try:
            x = self.model.codec.decompress(z_string, y_string, padded, quality - 1, adapter)
        except (ValueError, RuntimeError, AssertionError) as error:  # constriction asserts on invalid data
            raise InputError(f"corrupt learned-codec frame ({error})") from None
        return to_picture(x[..., :height, :width])

    def encode_file(self, frames: Iterable[np.ndarray], out: str | Path, quality: int, *, fps: float = 25.0,
                    machine: bool = True, on_frame: Callable[[int, int], None] | None = None) -> int:
        """Code (H, W, 3) uint8 frames into the .vcml file `out` (written only when complete);
        on_frame(index, bytes) after each. Returns the frame count."""
        self.check_quality(quality)
        count = 0
        with atomic_output(out) as temporary, open(temporary, "wb") as stream:
            header: Header | None = None
            for rgb in frames:
                if header is None:
                    height, width = rgb.shape[:2]
                    header = Header(quality, machine, width, height, fps, self.fingerprint)
                    stream.write(header.pack())
                elif rgb.shape[:2] != (header.height, header.width):
                    raise InputError(f"frame {count} is {rgb.shape[1]}x{rgb.shape[0]}, not "
                                     f"{header.width}x{header.height}")
                written = write_record(stream, *self.encode_picture(rgb, quality, machine))
                if on_frame is not None:
                    on_frame(count, written)
                count += 1
            if header is None:
                raise InputError("no frames to encode")
        return count

    def open_file(self, path: str | Path) -> Header:
        """The header of a .vcml file made by this model; InputError otherwise."""
        with open(_existing(path), "rb") as stream:
            header = read_header(stream, str(path))
        self._check(header, path)
        return header

    def decode_file(self, path: str | Path, task: str = "human") -> Iterator[np.ndarray]:
        """The pictures of a .vcml file for `task`, one at a time."""
        with open(_existing(path), "rb") as stream:
            header = read_header(stream, str(path))
            self._check(header, path)
            for z_string, y_string in read_records(stream, str(path)):
                yield self.decode_picture(z_string, y_string, header.width, header.height,
                                          header.quality, task)

    def _check(self, header: Header, path: str | Path) -> None:
        if header.fingerprint != self.fingerprint:
            raise InputError(f"{path} was coded by another model (fingerprint {header.fingerprint.hex()}, "
                             f"this one {self.fingerprint.hex()}); decode it with --model of that model")
        self.check_quality(header.quality)


def _existing(path: str | Path) -> Path:
    target = Path(path)
    if not target.is_file():
        raise InputError(f"{target} does not exist or is not a file")
    return target
