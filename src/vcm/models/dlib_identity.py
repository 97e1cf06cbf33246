"""Face identity with dlib's 128-d ResNet face recognition model (dlib-bin).

A face is aligned by dlib's 5-point landmark model, found inside the face box on
the first frame given, and the same alignment is used on every frame: the
attacker gets the best-case alignment, so a decoded face is judged on what its
pixels carry, not on whether landmarks can still be found in it.
"""

from collections.abc import Sequence

import numpy as np

from vcm.errors import AssetError
from vcm.models.face_weights import fetch_dlib_face
from vcm.models.faces import Face

MATCH_DISTANCE = 0.6  # dlib's published threshold: same person when L2 < 0.6


class DlibIdentity:
    """dlib ResNet face embeddings (128-d, L2 distance, same person below 0.6)."""

    match_distance = MATCH_DISTANCE

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError as error:
            raise AssetError(f"dlib is not importable ({error}); install it with "
                             "`pip install dlib-bin` (make installs it into .venv)") from None
        paths = fetch_dlib_face()
        self._dlib = dlib
        self._landmarks = dlib.shape_predictor(str(paths["shape_predictor_5_face_landmarks.dat"]))
        network = paths["dlib_face_recognition_resnet_model_v1.dat"]
        self._network = dlib.face_recognition_model_v1(str(network))

    def embed(self, frames: Sequence[np.ndarray], face: Face) -> list[np.ndarray]:
        """Embed `face` in each (H, W, 3) uint8 RGB frame with the first frame's landmarks
        -> one (128,) float64 vector per frame."""
        if not frames:
            return []
        first = np.ascontiguousarray(frames[0])
        x1, y1, x2, y2 = (round(v) for v in face.box)
        shape = self._landmarks(first, self._dlib.rectangle(x1, y1, x2, y2))
        embeddings = []
        for frame in frames:
            if frame.shape != first.shape:
                raise ValueError(f"frames differ in shape: {frame.shape} vs {first.shape}")
            descriptor = self._network.compute_face_descriptor(np.ascontiguousarray(frame), shape)
            embeddings.append(np.asarray(descriptor, dtype=np.float64))
        return embeddings
