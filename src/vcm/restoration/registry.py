"""The restoration-method registry: one table of named ways to build a restoration layer.

A method class registers itself with `@register_method(...)`; encode_layer, restore_frames,
read_layer and the benchmark read this table, as the planners do theirs
(vcm.planners.registry).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from vcm.registry import Registry

# How a restore picks each 16x16 block of a frame:
ALL = "all"  # every block from the layer (the layer is a picture on its own)
BEST = "best"  # from whichever source is closer to the original, as the encoder measured and
#                signalled in the layer's block mask (by QP when it had no decoded machine frames)
SELECTIONS = (ALL, BEST)

# How a restore forms the layer's candidate picture for a block:
SELECT = "select"  # the decoded layer picture itself
ADD = "add"  # decoded machine picture + decoded layer picture - 128 (a pixel residual)
COMBINES = (SELECT, ADD)


@dataclass(frozen=True)
class Segment:
    """What a layer is made from. originals: (n, H, W, 3) uint8 RGB; machine_qp: (n, rows,
    cols) block QPs of the segment's machine stream; machine_decoded: its decoded frames
    (n, H, W, 3) uint8 RGB, or None when the caller has none."""

    originals: np.ndarray
    machine_qp: np.ndarray
    machine_decoded: np.ndarray | None
    fps: float


class LayerMethod(Protocol):
    """A built method: its config (a dataclass, recorded in the layer's header) and the
    pictures and block QPs its layer stream codes, frame by frame."""

    config: Any

    def layer_inputs(self, segment: Segment, quality: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(layer encoder input (H, W, 3) uint8 RGB, (rows, cols) block QPs) per frame, in order."""
        ...


@dataclass(frozen=True)
class MethodEntry:
    """A registered restoration method. build(config) makes one; config_type is its config
    dataclass; combine: SELECT or ADD; selection: ALL or BEST; needs_decoded: encoding
    needs the decoded machine frames; default_quality: the layer QP used when none is given
    (chosen on the validation part of the sample, docs/benchmarks.md)."""

    name: str
    summary: str
    build: Callable[[Any], LayerMethod]
    config_type: type
    combine: str
    selection: str
    needs_decoded: bool
    default_quality: int

    def make(self, config: Any = None) -> LayerMethod:
        if config is not None and not isinstance(config, self.config_type):
            raise TypeError(f"method {self.name!r} takes a {self.config_type.__name__}, "
                            f"got {type(config).__name__}")
        return self.build(config if config is not None else self.config_type())


METHODS: Registry[MethodEntry] = Registry("restoration method")


def register_method(name: str, *, summary: str, config_type: type, combine: str, selection: str,
                    default_quality: int, needs_decoded: bool = False) -> Callable[[type], type]:
    """Class decorator: register a method class whose __init__ takes its config."""

    def register(cls: type) -> type:
        if combine not in COMBINES or selection not in SELECTIONS:
            raise ValueError(f"restoration method {name!r}: bad combine/selection {combine}/{selection}")
        METHODS.register(name, MethodEntry(name, summary, cls, config_type, combine, selection, needs_decoded,
                                           default_quality))
        return cls

    return register


def method_entry(name: str) -> MethodEntry:
    """The registered method called `name`; InputError naming the choices otherwise."""
    return METHODS.entry(name)
