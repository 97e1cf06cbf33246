"""dlib's frontal face detector (HOG features + a linear SVM, built into dlib-bin, no
weight file): a face detector of another family than MTCNN and BlazeFace (both CNNs),
so leaks the privacy mode's CNN detectors miss are still counted.

Scores are the SVM margin (dlib's default threshold 0 keeps every positive margin); the
frame is upsampled once (dlib's usual setting), which finds faces down to about 40 px.
It gives no landmarks (the identity model finds its own inside the box).
"""

import numpy as np

from vcm.errors import AssetError
from vcm.models.faces import Face

UPSAMPLE = 1  # times the frame is doubled before the scan
MIN_MARGIN = 0.0  # dlib's default decision threshold


class DlibHogFaces:
    """dlib.get_frontal_face_detector as a FaceDetector."""

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError as error:
            raise AssetError(f"dlib is not importable ({error}); install it with "
                             "`pip install dlib-bin` (make installs it into .venv)") from None
        self._detector = dlib.get_frontal_face_detector()

    def detect_faces(self, frame: np.ndarray) -> list[Face]:
        """(H, W, 3) uint8 RGB -> the faces in it, best first (boxes clipped to the frame)."""
        height, width = frame.shape[:2]
        rects, margins, _ = self._detector.run(np.ascontiguousarray(frame), UPSAMPLE, MIN_MARGIN)
        faces = [Face((float(max(r.left(), 0)), float(max(r.top(), 0)),
                       float(min(r.right() + 1, width)), float(min(r.bottom() + 1, height))), float(margin))
                 for r, margin in zip(rects, margins, strict=True)]
        return sorted(faces, key=lambda face: -face.score)
