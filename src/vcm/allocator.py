"""How the C heap serves the large, short-lived buffers of a tensor pipeline.

glibc's malloc takes blocks above its mmap threshold straight from the kernel and gives them
back on free, so a feature map can be fresh pages that the kernel must fault in and zero. In
this project's processes that happened once a oneDNN convolution had run (an elementwise
product then took 3.3 ms instead of 0.2 ms); for the learned codec at 768x576 on 2 cores it
was about a third of the decoding time. keep_freed_memory() serves blocks up to
32 MiB from the heap and keeps up to 256 MiB of freed heap for reuse: memory stays bounded by
the largest working set, it is only not returned to the system between frames.
"""

import ctypes
import ctypes.util
from functools import cache

M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD_BYTES = 256 * 1024 * 1024


@cache
def keep_freed_memory() -> bool:
    """Ask glibc's malloc (once per process) to keep large blocks on the heap; False where the
    C library is not glibc (nothing is changed there)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    mallopt = getattr(ctypes.CDLL(name), "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
