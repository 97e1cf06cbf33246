"""How many threads torch computes with: every core, unless OMP_NUM_THREADS says otherwise
(parallel test workers, or a machine shared with other work)."""

import os

import torch


def use_cores() -> None:
    """Set torch's intra-op threads to OMP_NUM_THREADS when set, else to every core."""
    wanted = os.environ.get("OMP_NUM_THREADS", "")
    torch.set_num_threads(int(wanted) if wanted.isdigit() and int(wanted) > 0 else os.cpu_count() or 1)
