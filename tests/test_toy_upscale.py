"""The toy super-resolution family: the autoencoder re-scaled for the x4 upscaler's pipeline decodes exactly as the
toy one, and a member trains, assembles into a StableDiffusionUpscalePipeline and upscales a toy SR task."""

import numpy as np
import pytest
import torch

from ldmscale import generate, models, sr, tasks
from ldmscale.toy import upscale


def test_the_rescaled_autoencoder_decodes_the_pipelines_latents_as_the_toy_one(tiny_parts):
    from diffusers import AutoencoderKL

    toy = AutoencoderKL.from_pretrained(tiny_parts["vae"])
    toy.register_to_config(scaling_factor=0.7)  # any factor of its own
    rescaled = upscale.upscaler_autoencoder(AutoencoderKL.from_pretrained(tiny_parts["vae"], scaling_factor=0.7))
    x = torch.randn(2, 4, 8, 8)  # unit-variance latents, as the UNet samples them
    with torch.no_grad():
        expected = toy.decode(x / toy.config.scaling_factor).sample
        got = rescaled.decode(x / upscale.UPSCALER_SCALING_FACTOR).sample
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
        image = torch.rand(1, 3, 32, 32) * 2 - 1
        torch.testing.assert_close(
            rescaled.encode(image).latent_dist.mean * upscale.UPSCALER_SCALING_FACTOR,
            toy.encode(image).latent_dist.mean * toy.config.scaling_factor, rtol=1e-4, atol=1e-5,
        )  # fmt: skip
    assert rescaled.config.scaling_factor == 0.08333


def test_a_toy_sr_member_trains_assembles_and_upscales(tmp_path, tiny_parts):
    recipe = {"seed": 0, "steps": 6, "batch": 4, "lr": 1e-3, "ema_decay": 0.9, "train_images": 16}
    record = upscale.train_sr_unet(tmp_path / "unet", 8, tiny_parts["vae"], tiny_parts["text"], recipe)
    assert record["task"] == "super_resolution" and np.isfinite(record["loss_last"])
    assert record["train_flops"] == 6 * record["train_step_flops"] > 0
    upscale.assemble(tmp_path / "pipeline", tmp_path / "unet", tiny_parts["vae"], tiny_parts["text"])
    pipe = models.load_pipeline(tmp_path / "pipeline")
    assert type(pipe).__name__ == "StableDiffusionUpscalePipeline" and pipe.vae.config.scaling_factor == 0.08333
    doc = tasks.super_resolution(
        {"images": None, "crop": 32, "seed": 1, "scale": 4, "degradation": "bicubic", "prompt": "", "noise_level": 20},
        2,
    )
    call = {"prompt": ["", ""], "num_inference_steps": 2, "guidance_scale": 1.0, "output_type": "np"}
    out = generate.upscale(pipe, sr.inputs(doc, [0, 1]), [3, 4], 20, call)
    assert out.shape == (2, 32, 32, 3) and np.isfinite(out).all()
    with pytest.raises(ValueError):
        upscale.assemble(tmp_path / "other", tmp_path / "missing", tiny_parts["vae"], tiny_parts["text"])
