"""Real super-resolution pipelines (the x4 upscaler's and LDM-SR's architectures, in small): upscaling with paired
seeds, and the UNet costed at its real input, the low-resolution latent with the image's channels beside it."""

import numpy as np
import pytest
import torch
from PIL import Image

from ldmscale import cost, generate, models, samplers, sr
from ldmscale.cost.flops import _counted

CROP, SCALE = 32, 4


@pytest.fixture(scope="module")
def sr_doc(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hr")
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(folder / f"hr{i}.png")
    doc = sr.crops(folder, 4, CROP, seed=0)
    return {"kind": "super_resolution", **doc, "scale": SCALE, "degradation": "bicubic", "noise_level": 20}


def _call(steps=2):
    return {"prompt": [""] * 2, "num_inference_steps": steps, "guidance_scale": 1.0, "output_type": "np"}


@pytest.mark.parametrize("fixture", ["tiny_upscaler_dir", "tiny_ldm_sr_dir"])
def test_an_sr_pipeline_upscales_its_inputs_deterministically(request, fixture, sr_doc):
    pipe = models.load_pipeline(request.getfixturevalue(fixture))
    pipe.scheduler = samplers.scheduler("ddim", pipe.scheduler.config)
    inputs = sr.inputs(sr_doc, [0, 1])
    assert inputs[0].shape == (CROP // SCALE, CROP // SCALE, 3)

    def run(seeds):
        noise = [torch.Generator().manual_seed(s) for s in (7, 8)]
        return generate.upscale(pipe, inputs, seeds, 20, {**_call(), "generator": noise})

    first, again, other = run([1, 2]), run([1, 2]), run([1, 3])
    assert first.shape == (2, CROP, CROP, 3) and np.array_equal(first, again)
    assert np.array_equal(other[0], first[0]) != np.array_equal(other[1], first[1])  # image 1's seed changed only


def test_a_text_to_image_pipeline_is_not_an_upscaler(tiny_pipeline_dir, sr_doc):
    with pytest.raises(ValueError, match="StableDiffusionPipeline is not a super-resolution pipeline"):
        generate.upscale(models.load_pipeline(tiny_pipeline_dir), sr.inputs(sr_doc, [0]), [1], 20, _call())


@pytest.mark.parametrize("fixture", ["tiny_upscaler_dir", "tiny_ldm_sr_dir"])
def test_the_unet_is_costed_at_the_low_resolution_latent_with_the_image_channels(request, fixture):
    model_dir = request.getfixturevalue(fixture)
    flops = cost.count_flops(model_dir, CROP)
    assert flops["latent_size"] == CROP // SCALE
    # the same count by hand, on the real modules with the inputs the pipelines give them
    pipe = models.load_pipeline(model_dir)
    x = torch.zeros(1, pipe.unet.config.in_channels, CROP // SCALE, CROP // SCALE)
    kwargs = {}
    if fixture == "tiny_upscaler_dir":
        text = torch.zeros(1, flops["tokens"], pipe.unet.config.cross_attention_dim)
        kwargs = {"encoder_hidden_states": text, "class_labels": torch.tensor([20])}
        assert x.shape[1] == pipe.vae.config.latent_channels + 3
    else:
        assert x.shape[1] == 2 * pipe.vqvae.config.latent_channels
    with torch.no_grad():
        by_hand = _counted(lambda: pipe.unet(x, torch.tensor([1]), **kwargs))
    assert flops["unet"]["flops_b1"] == by_hand
    assert flops["unet"]["params"] == sum(p.numel() for p in pipe.unet.parameters())
    assert (flops["text_encoder"]["flops_b1"] > 0) == (fixture == "tiny_upscaler_dir")
    # 4× the pixels, 4× the UNet's convolutions (attention grows faster): at least 4×
    assert cost.count_flops(model_dir, 2 * CROP)["unet"]["flops_b1"] >= 4 * by_hand


@pytest.mark.parametrize("fixture", ["tiny_upscaler_dir", "tiny_ldm_sr_dir"])
def test_an_sr_pipeline_is_timed_end_to_end_without_guidance(request, fixture):
    pipe = models.load_pipeline(request.getfixturevalue(fixture))
    latency = cost.profile_latency(pipe, batch=2, resolution=CROP, warmup=1, repeats=2)
    configs = [{"sampler": "ddim", "steps": 2, "guidance": 1.0}, {"sampler": "heun", "steps": 2, "guidance": 3.0}]
    checks = cost.end_to_end(pipe, latency, configs, warmup=1, repeats=2)
    # the config's default checks include guidance 3: an SR pipeline runs them unguided, as its tasks do
    assert [(c["sampler"], c["guidance"], c["nfe"], c["cfg"]) for c in checks] == [
        ("ddim", 1.0, 2, False),
        ("heun", 1.0, 3, False),
    ]
    assert all(c["measured_ms_per_image"] > 0 for c in checks)
