"""PSNR, SSIM and LPIPS of each output against its own ground truth: known answers, and LPIPS against torchmetrics."""

import math

import numpy as np
import pytest
import torch
from safetensors.torch import save_file, save_model

from ldmscale import paired


def _images(n=4, side=32, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, side, side, 3), dtype=np.uint8)


def test_identical_images_give_infinite_psnr_and_an_ssim_of_one():
    x = _images()
    assert np.all(np.isinf(paired.psnr(x, x)))
    np.testing.assert_allclose(paired.ssim(x, x), 1.0, atol=1e-12)


def test_gaussian_noise_of_known_sigma_gives_the_closed_form_psnr():
    # Mid-grey images (no clipping at 12.8 σ): rounding adds 1/12 to the noise variance, so the closed form is
    # 10 log10(255² / (σ² + 1/12)); 3 · 64² pixels per image leave a sampling error of about 0.1 dB (2 · 4.34 / √n).
    sigma, n = 10.0, 4
    truth = np.full((n, 64, 64, 3), 128, np.uint8)
    noise = np.random.default_rng(1).normal(0, sigma, truth.shape)
    noisy = np.clip(np.round(truth + noise), 0, 255).astype(np.uint8)
    expected = 10 * math.log10(255**2 / (sigma**2 + 1 / 12))
    np.testing.assert_allclose(paired.psnr(noisy, truth), expected, atol=0.25)
    # and it falls as σ grows, per image
    louder = np.clip(np.round(truth + 2 * noise), 0, 255).astype(np.uint8)
    assert np.all(paired.psnr(louder, truth) < paired.psnr(noisy, truth) - 5)
    assert np.all(paired.ssim(louder, truth) < paired.ssim(noisy, truth))


def test_per_image_values_do_not_depend_on_the_batch():
    x, y = _images(seed=2), _images(seed=3)
    whole = paired.psnr(x, y), paired.ssim(x, y)
    parts = [np.concatenate([f(x[i : i + 1], y[i : i + 1]) for i in range(len(x))]) for f in (paired.psnr, paired.ssim)]
    np.testing.assert_allclose(whole[0], parts[0], rtol=1e-12)
    np.testing.assert_allclose(whole[1], parts[1], rtol=1e-12)


def test_shapes_must_match():
    with pytest.raises(ValueError, match="differ in shape"):
        paired.psnr(_images(side=32), _images(side=16))


def test_our_lpips_path_agrees_with_torchmetrics_on_the_same_random_weights(tmp_path, monkeypatch):
    from torchmetrics.functional.image import lpips as tm_lpips
    from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

    # torchmetrics' metric with a random backbone (its ImageNet weights would be a download) and its own linear layers
    real_features = tm_lpips._get_tv_model_features
    monkeypatch.setattr(tm_lpips, "_get_tv_model_features", lambda net, pretrained=False: real_features(net, False))
    torch.manual_seed(0)
    metric = LearnedPerceptualImagePatchSimilarity(net_type="alex", reduction="none", normalize=True)
    weights = tmp_path / "lpips.safetensors"
    save_model(metric.net, str(weights))
    x, y = _images(seed=4, side=64), _images(seed=5, side=64)
    expected = metric(paired._float(x).float(), paired._float(y).float()).numpy()
    ours = paired.lpips(paired.load_lpips(weights), x, y, batch=3)
    np.testing.assert_allclose(ours, expected, rtol=1e-5)
    assert np.all(ours > 0) and np.all(paired.lpips(paired.load_lpips(weights), x, x) < 1e-6)


def test_lpips_weights_are_checked_and_converted_from_torchvision_layout(tmp_path):
    import torchvision

    bad = tmp_path / "bad.safetensors"
    save_file({"w": torch.zeros(1)}, str(bad))
    with pytest.raises(ValueError, match="not LPIPS-alex weights"):
        paired.load_lpips(bad)
    # a torchvision AlexNet .pth (random here) becomes the backbone, layer for layer
    torch.manual_seed(1)
    alexnet = torchvision.models.alexnet(weights=None)
    pth = tmp_path / "alexnet.pth"
    torch.save(alexnet.state_dict(), pth)
    out = tmp_path / "lpips-alex.safetensors"
    paired.convert_lpips(pth, out)
    module = paired.load_lpips(out)
    state = module.net.state_dict()
    assert len(state) == 10 and torch.equal(state["slice1.0.weight"], alexnet.features[0].weight)
    assert torch.equal(state["slice5.10.bias"], alexnet.features[10].bias)
