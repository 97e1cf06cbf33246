import numpy as np
import pytest

from vcm.codec import grid_shape
from vcm.codec.roundtrip import RoundTrip
from vcm.errors import InputError
from vcm.media import luma_of
from vcm.media.quality import luma_psnr


@pytest.mark.parametrize("codec", ["hevc", "h264"])
def test_intra_and_predicted_checks(frames: np.ndarray, codec: str) -> None:
    height, width = frames.shape[1:3]
    roundtrip = RoundTrip(width, height, codec)
    coarse = np.full(grid_shape(width, height), 51)
    intra = roundtrip.run(frames[1], coarse)
    fine_reference = roundtrip.run(frames[0], np.full(grid_shape(width, height), 20))
    predicted = roundtrip.run(frames[1], coarse, reference=fine_reference)
    original = luma_of(frames[1])
    # a P-frame at QP 51 inherits the fine reference; an I-frame at QP 51 has nothing to inherit
    assert luma_psnr(original, luma_of(predicted)) > luma_psnr(original, luma_of(intra)) + 3
    assert roundtrip.checks == 3 and predicted.shape == frames[1].shape


def test_wrong_map_shape(frames: np.ndarray) -> None:
    with pytest.raises(InputError, match="does not match"):
        RoundTrip(768, 576).run(frames[0], np.full((3, 3), 30))


def test_a_closed_roundtrip_says_so(frames: np.ndarray) -> None:
    with RoundTrip(64, 48) as roundtrip:
        decoded = roundtrip.run(np.ascontiguousarray(frames[0, :48, :64]), np.full((3, 4), 30))
    assert decoded.shape == (48, 64, 3)
    with pytest.raises(RuntimeError, match="RoundTrip is closed"):
        roundtrip.run(np.ascontiguousarray(frames[0, :48, :64]), np.full((3, 4), 30))
