"""MS-SSIM and the perceptual feature distance."""

import numpy as np
import pytest
import torch
from PIL import Image

from vcm.media.face_clips import load_photo
from vcm.media.quality import ms_ssim
from vcm.models.efficientnet_lite import load_efficientnet_lite0
from vcm.preedit.losses import feature_distance

SUIT = 834  # ImageNet class "suit"


def test_ms_ssim_is_one_for_equal_images_and_falls_with_noise() -> None:
    image = torch.rand(2, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(ms_ssim(image, image), torch.ones(2), atol=1e-5)
    noisy = [ms_ssim(image, (image + s * torch.randn_like(image)).clamp(0, 1)).mean()
             for s in (0.02, 0.1, 0.3)]
    assert 1 > noisy[0] > noisy[1] > noisy[2] > 0
    with pytest.raises(ValueError, match="at least 11x11"):
        ms_ssim(image[..., :8, :8], image[..., :8, :8])


def _photo(name: str, size: int) -> torch.Tensor:
    photo = np.asarray(Image.fromarray(load_photo(name)).resize((size, size)))
    return torch.from_numpy(photo.copy()).permute(2, 0, 1)[None].float() / 255


def test_efficientnet_lite0_weights_classify_a_real_photo() -> None:
    network = load_efficientnet_lite0()
    with torch.no_grad():
        probabilities = network.logits(_photo("obama", 224)).softmax(dim=1)[0]
    assert int(probabilities.argmax()) == SUIT and probabilities[SUIT] > 0.3


def test_feature_distance_grows_with_blur() -> None:
    network = load_efficientnet_lite0()
    image = _photo("astronaut", 128)
    blurred = [torch.nn.functional.avg_pool2d(image, k, stride=1, padding=k // 2) for k in (3, 7)]
    with torch.no_grad():
        distances = [feature_distance(network.features, b, image).item() for b in blurred]
        assert feature_distance(network.features, image, image).item() == pytest.approx(0, abs=1e-6)
    assert 0 < distances[0] < distances[1]
