"""The toy super-resolution family: UNets at the toy widths that upscale 4× toy images, as diffusers'
StableDiffusionUpscalePipeline (the x4 upscaler) does it.

The low-resolution input is noised to a noise level, concatenated with the noise latent and the level given as a
class label. The toy autoencoder downsamples 4×, as much as the SR scale, so the 8×8 input of a 32×32 image already
sits at the latent's size. The family is the x4 upscaler's design in small, and it runs through the same
pipeline class as the real one.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .. import files, integrity
from . import data, nets, train

MAX_NOISE_LEVEL = 350  # the x4 upscaler's max_noise_level
# The x4 upscaler's low_res_scheduler: what noises the input to its noise level, in training as in sampling.
LOW_RES_SCHEDULE = {
    "num_train_timesteps": 1000,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.0001,
    "beta_end": 0.02,
}
# StableDiffusionUpscalePipeline sets its VAE's scaling factor to this whatever the checkpoint says (diffusers'
# deprecation path for the x4 upscaler), so the toy autoencoder is re-scaled to it (`upscaler_autoencoder`).
UPSCALER_SCALING_FACTOR = 0.08333
IMAGE_CHANNELS = 3


def unet_config(width: int, latent_size: int) -> dict:
    """Return the UNet config of toy SR member `width`: the toy member's, taking the input's 3 channels beside the
    latent's and the noise level as a class label."""
    return {
        **nets.unet_config(width, latent_size),
        "in_channels": nets.LATENT_CHANNELS + IMAGE_CHANNELS,
        "num_class_embeds": MAX_NOISE_LEVEL + 1,
    }


def upscaler_autoencoder(vae):
    """Return the toy autoencoder re-parametrised for StableDiffusionUpscalePipeline's fixed scaling factor.

    The pipeline decodes latents x as decode(x / 0.08333), where the toy decoder expects x / s (s its own
    scaling factor). Scaling post_quant_conv's weights by c = 0.08333 / s makes the two equal exactly; the encoder's
    mean is divided by c (and its log-variance shifted by −2 ln c) so that encoding stays the inverse.
    """
    c = UPSCALER_SCALING_FACTOR / vae.config.scaling_factor
    channels = vae.config.latent_channels
    with torch.no_grad():
        vae.post_quant_conv.weight.mul_(c)
        vae.quant_conv.weight[:channels].div_(c)
        vae.quant_conv.bias[:channels].div_(c)
        vae.quant_conv.bias[channels:].sub_(2 * math.log(c))
    vae.register_to_config(scaling_factor=UPSCALER_SCALING_FACTOR)
    return vae


def low_resolution(images: np.ndarray, scale: int) -> torch.Tensor:
    """Return uint8 NHWC images downscaled by `scale` (PIL bicubic, as the `bicubic` degradation) as NCHW in [-1, 1]."""
    side = images.shape[1] // scale
    small = np.stack([np.asarray(Image.fromarray(x).resize((side, side), Image.Resampling.BICUBIC)) for x in images])
    return torch.from_numpy(small).permute(0, 3, 1, 2).float() / 127.5 - 1


def train_sr_unet(out: Path, width: int, vae_dir: Path, text_dir: Path, recipe: dict) -> dict:
    """Train toy SR member `width` with the shared recipe (toy.unet's); save its UNet to `out`; return its record.

    Each step: training images' latents (sampled from q(z|x), unit-variance scaled), their 4× bicubic inputs noised
    to a uniform noise level in [0, 350] with the x4 upscaler's low-resolution schedule, and ε-prediction on the
    toy noise schedule. The text is the empty prompt's, as an SR task has no text.
    """
    from diffusers import DDPMScheduler, UNet2DConditionModel

    seed = recipe["seed"]
    torch.manual_seed(seed)
    vae, text_encoder, tok = train.load_parts(vae_dir, text_dir)
    image_size, latent_size = vae.config.sample_size, nets.latent_size(vae.config)
    config = unet_config(width, latent_size)
    unet = UNet2DConditionModel.from_config(config)
    scheduler = DDPMScheduler.from_config(nets.noise_schedule())
    low_res_scheduler = DDPMScheduler(**LOW_RES_SCHEDULE)

    start = time.perf_counter()
    means, stds, table, _ = train.encode_training_set(vae, text_encoder, tok, seed, recipe["train_images"], image_size)
    inputs = low_resolution(data.dataset(seed, 0, recipe["train_images"], image_size)[0], image_size // latent_size)
    items = torch.arange(len(means))  # latent_batch's "caption rows": the items drawn, to take their inputs
    empty = table[-1:]  # encode_training_set's last row: the empty prompt
    gen = torch.Generator().manual_seed(seed)

    def loss_fn():
        latents, idx = train.latent_batch(means, stds, items, vae.config.scaling_factor, recipe["batch"], gen)
        level = torch.randint(0, MAX_NOISE_LEVEL + 1, (len(idx),), generator=gen)
        low = low_res_scheduler.add_noise(inputs[idx], torch.randn(inputs[idx].shape, generator=gen), level)
        noise = torch.randn(latents.shape, generator=gen)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (len(idx),), generator=gen)
        x = torch.cat([scheduler.add_noise(latents, noise, t), low], 1)
        pred = unet(x, t, empty.expand(len(idx), -1, -1), class_labels=level).sample
        return F.mse_loss(pred, noise)

    record = train.fit_unet(unet, config, recipe, out, f"sr unet c={width}", loss_fn, start)
    return {"width": width, "task": "super_resolution", **record}


def assemble(out: str | Path, unet_dir: Path, vae_dir: Path, text_dir: Path) -> None:
    """Save a StableDiffusionUpscalePipeline of the toy parts and an SR UNet to `out`, atomically, in float32."""
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        DDPMScheduler,
        StableDiffusionUpscalePipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel, PreTrainedTokenizerFast

    for part in (unet_dir, vae_dir, text_dir):
        integrity.verify_checksums(part)
    f32 = {"use_safetensors": True, "dtype": torch.float32}
    pipe = StableDiffusionUpscalePipeline(
        vae=upscaler_autoencoder(AutoencoderKL.from_pretrained(vae_dir, **f32)),
        text_encoder=CLIPTextModel.from_pretrained(text_dir / "text_encoder", **f32),
        tokenizer=PreTrainedTokenizerFast.from_pretrained(text_dir / "tokenizer"),
        unet=UNet2DConditionModel.from_pretrained(unet_dir, **f32),
        low_res_scheduler=DDPMScheduler(**LOW_RES_SCHEDULE),
        scheduler=DDIMScheduler.from_config(nets.noise_schedule()),
        max_noise_level=MAX_NOISE_LEVEL,
    )
    with files.atomic_path(out) as tmp:
        pipe.save_pretrained(tmp, safe_serialization=True)
        integrity.validate_pipeline_dir(tmp)
        integrity.record_checksums(tmp)
