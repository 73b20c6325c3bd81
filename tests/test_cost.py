import pytest
import torch
import torch.nn.functional as F

from ldmscale import cost


def test_linear_conv_and_attention_flops_match_hand_counts():
    with torch.device("meta"):
        linear = torch.nn.Linear(10, 20)
        x = torch.zeros(3, 10)
        assert cost._counted(lambda: linear(x)) == 2 * 3 * 10 * 20

        conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        image = torch.zeros(1, 3, 8, 8)
        assert cost._counted(lambda: conv(image)) == 2 * (8 * 8) * 8 * (3 * 3 * 3)

        heads, tokens, dim = 2, 16, 8
        q = torch.zeros(1, heads, tokens, dim)
        # QK^T and AV: two matmuls of tokens × tokens × dim per head, 2 FLOPs per MAC.
        assert cost._counted(lambda: F.scaled_dot_product_attention(q, q, q)) == 2 * 2 * heads * tokens * tokens * dim


def test_unet_flops_scale_with_batch_and_include_attention(tiny_pipeline_dir):
    flops = cost.count_flops(tiny_pipeline_dir)
    assert flops["resolution"] == 32 and flops["latent_size"] == 8
    assert flops["unet"]["flops_b2"] == 2 * flops["unet"]["flops_b1"]
    assert flops["unet"]["params"] == sum(
        p.numel() for p in __import__("diffusers").UNet2DConditionModel.from_pretrained(tiny_pipeline_dir / "unet").parameters()
    )
    assert flops["vae_decoder"]["flops_b1"] > 0 and flops["text_encoder"]["flops_b1"] > 0


FLOPS = {"unet": {"flops_b1": 100.0, "flops_b2": 200.0}, "text_encoder": {"flops_b1": 7.0}, "vae_decoder": {"flops_b1": 50.0}}


def test_sampling_flops_by_hand():
    assert cost.sampling_flops(FLOPS, nfe=10, cfg=False) == 7 + 10 * 100 + 50
    assert cost.sampling_flops(FLOPS, nfe=10, cfg=True) == 2 * 7 + 10 * 200 + 50


def test_normalised_cost_is_one_for_the_reference_at_one_step():
    assert cost.normalised_cost(866.0, 866.0, 1) == 1
    assert cost.normalised_cost(100.0, 400.0, 8) == pytest.approx(2.0)


def test_sampling_latency_per_image_by_hand():
    latency = {"batch": 4, "median_ms": {"unet": 10.0, "unet_cfg": 18.0, "text_encoder": 1.0, "vae_decoder": 6.0}}
    assert cost.sampling_latency_ms(latency, nfe=5, cfg=False) == pytest.approx((1 + 5 * 10 + 6) / 4)
    assert cost.sampling_latency_ms(latency, nfe=5, cfg=True) == pytest.approx((2 + 5 * 18 + 6) / 4)


def test_profile_latency_on_cpu(tiny_pipeline):
    result = cost.profile_latency(tiny_pipeline, batch=2, resolution=32, warmup=1, repeats=3)
    assert set(result["median_ms"]) == {"unet", "unet_cfg", "text_encoder", "vae_decoder"}
    assert all(v > 0 for v in result["median_ms"].values())
    assert result["device"].startswith("CPU")
    assert len(result["times_ms"]["unet"]) == 3
