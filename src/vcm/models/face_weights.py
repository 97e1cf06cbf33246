"""Face model files from PyPI archives, fetched into the cache and verified by SHA-256.

MTCNN: pnet.pt, rnet.pt and onet.pt (PyTorch state dicts) inside the
facenet-pytorch==2.6.0 wheel. dlib's 5-point landmark model and its 128-d face
recognition ResNet inside the face-recognition-models==0.3.0 source archive.
"""

from pathlib import Path

from vcm.assets import PackageFiles

_MTCNN = "facenet_pytorch/data/"
MTCNN_PACKAGE = PackageFiles(
    requirement="facenet-pytorch==2.6.0",
    archive_sha256="ecb82b27beb226d106f2219efe8f829b01b87a8595badd01545679bdb9f19cca",
    members={
        "pnet.pt": (_MTCNN + "pnet.pt", "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f"),
        "rnet.pt": (_MTCNN + "rnet.pt", "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86"),
        "onet.pt": (_MTCNN + "onet.pt", "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d"),
    },
    folder="models/mtcnn",
    pip_options=("--only-binary", ":all:"),
    fetch_command="vcm fetch faces",
)

_DLIB = "face_recognition_models-0.3.0/face_recognition_models/models/"
DLIB_PACKAGE = PackageFiles(
    requirement="face-recognition-models==0.3.0",
    archive_sha256="b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf",
    members={
        "shape_predictor_5_face_landmarks.dat": (
            _DLIB + "shape_predictor_5_face_landmarks.dat",
            "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"),
        "dlib_face_recognition_resnet_model_v1.dat": (
            _DLIB + "dlib_face_recognition_resnet_model_v1.dat",
            "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"),
    },
    folder="models/dlib-face",
    fetch_command="vcm fetch faces",
)


def fetch_mtcnn() -> dict[str, Path]:
    """Verified paths of pnet.pt, rnet.pt and onet.pt."""
    return MTCNN_PACKAGE.paths()


def fetch_dlib_face() -> dict[str, Path]:
    """Verified paths of the 5-point landmark model and the face recognition ResNet."""
    return DLIB_PACKAGE.paths()
