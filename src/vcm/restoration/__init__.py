"""The restoration layer: what the cold tier keeps beside a segment's machine stream so that
a restore rebuilds human-viewing quality from both.

`encode_layer` makes a segment's layer (one self-describing bytes object), `read_layer`
checks one and returns its header, `restore_frames` combines the decoded machine frames
with it. The ways of building a layer are registered by name in `METHODS` (registry.py);
importing this package registers the built-in ones (methods.py).
"""

from vcm.restoration.layer import (
    DEFAULT_METHOD,
    DEFAULT_QUALITY,
    MAGIC,
    LayerInfo,
    encode_layer,
    read_layer,
    restore_frames,
)
from vcm.restoration.methods import ComplementConfig, LayerConfig
from vcm.restoration.registry import METHODS, MethodEntry, method_entry

__all__ = ["DEFAULT_METHOD", "DEFAULT_QUALITY", "MAGIC", "METHODS", "ComplementConfig", "LayerConfig",
           "LayerInfo", "MethodEntry", "encode_layer", "method_entry", "read_layer", "restore_frames"]
