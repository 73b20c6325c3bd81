"""SDXL-architecture pipelines (two text encoders, pooled embeddings, added time ids) through cost and generation."""

import pytest
from conftest import SDXL

from ldmscale import cost, generate, models
from ldmscale.images import load_images

PROMPTS = {i: f"a red square left of a circle {i}" for i in range(4)}


@pytest.fixture(scope="module")
def sdxl(tiny_sdxl_pipeline_dir):
    return models.load_pipeline(tiny_sdxl_pipeline_dir, "cpu", "float32")


def test_both_text_encoders_and_the_added_embedding_are_counted(tiny_sdxl_pipeline_dir, sdxl):
    counted = cost.count_flops(tiny_sdxl_pipeline_dir)
    params = sum(p.numel() for enc in (sdxl.text_encoder, sdxl.text_encoder_2) for p in enc.parameters())
    assert counted["text_encoder"]["params"] == params  # the second encoder's projection included
    one = cost.flop_counter()
    with one:
        sdxl.text_encoder(sdxl.tokenizer(["a"], padding="max_length", return_tensors="pt").input_ids)
    assert counted["text_encoder"]["flops_b1"] > one.get_total_flops() > 0
    assert counted["unet"]["params"] == sum(p.numel() for p in sdxl.unet.parameters())
    # The added embedding: pooled text + 6 time ids of SDXL["time_embed"] Fourier features each, into linear_1.
    assert sdxl.unet.add_embedding.linear_1.in_features == SDXL["projection"] + 6 * SDXL["time_embed"]
    # SDXL encodes no empty prompt for guidance: it uses zeros (force_zeros_for_empty_prompt).
    assert counted["text_encoder"]["calls_with_cfg"] == 1
    with_cfg = cost.sampling_flops(counted, 2, cfg=True)
    assert (
        with_cfg
        == counted["text_encoder"]["flops_b1"] + 2 * counted["unet"]["flops_b2"] + counted["vae_decoder"]["flops_b1"]
    )


def test_generation_counts_the_doubled_batch_and_cost_profiles_on_cpu(sdxl, tmp_path):
    manifest = generate.generate_shard(sdxl, tmp_path / "s", PROMPTS, range(4), 11, "ddim", 2, 3.0, 4, 32)
    assert manifest["nfe"] == {"calls": 2, "batch_multiplier": 2}
    images, _ = load_images([tmp_path / "s"])
    assert images.shape == (4, 32, 32, 3) and images.std() > 0
    latency = cost.profile_latency(sdxl, batch=2, resolution=32, warmup=1, repeats=2)
    assert latency["text_encoder_calls_with_cfg"] == 1 and latency["median_ms"]["text_encoder"] > 0
