"""The registry of face identity models: the attackers a privacy claim is measured against.

Each entry embeds a face and carries its own published match threshold. The privacy mode
never uses any of them, so a leak they measure is an independent judgement.
"""

from collections.abc import Callable
from functools import cache

from vcm.models.faces import FaceIdentity
from vcm.registry import Registry, lazy

FACE_IDENTITIES: Registry[Callable[[], FaceIdentity]] = Registry("face identity model")
FACE_IDENTITIES.register("dlib-resnet", lazy("vcm.models.dlib_identity:DlibIdentity"))
FACE_IDENTITIES.register("faceres", lazy("vcm.models.faceres:FaceRes"))
ATTACKERS = ("dlib-resnet", "faceres")  # every leak figure is measured with both


@cache
def load_face_identity(name: str = "dlib-resnet") -> FaceIdentity:
    """The named face identity model, built once per process (InputError listing the choices
    for an unknown name)."""
    return FACE_IDENTITIES.entry(name)()


def load_attackers() -> dict[str, FaceIdentity]:
    """Every attacker of ATTACKERS by name."""
    return {name: load_face_identity(name) for name in ATTACKERS}
