import pytest
import torch
import torch.nn.functional as F

from ldmscale import cost, devices


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


# A one-stage UNet small enough to count by hand: 8 channels on a 4×4 latent (16 positions),
# one cross-attention down block and its up block (two resnets, skip concatenation), no mid block.
TINY_UNET = {
    "sample_size": 4, "in_channels": 4, "out_channels": 4, "block_out_channels": [8], "layers_per_block": 1,
    "down_block_types": ["CrossAttnDownBlock2D"], "up_block_types": ["CrossAttnUpBlock2D"], "mid_block_type": None,
    "cross_attention_dim": 16, "attention_head_dim": 2, "norm_num_groups": 4,
}  # fmt: skip


def _conv(c_in, c_out, kernel, positions=16):
    return 2 * positions * c_out * c_in * kernel * kernel


def _linear(d_in, d_out, rows):
    return 2 * rows * d_in * d_out


def _transformer(c=8, n=16, text_tokens=5, text_dim=16):
    """proj_in, self-attention, cross-attention, GEGLU feed-forward, proj_out (1×1 convs at this config)."""
    self_attention = 4 * _linear(c, c, n) + 2 * (2 * n * n * c)  # q, k, v, out; QKᵀ and AV over all heads
    cross_attention = 2 * _linear(c, c, n) + 2 * _linear(text_dim, c, text_tokens) + 2 * (2 * n * text_tokens * c)
    feed_forward = _linear(c, 2 * 4 * c, n) + _linear(4 * c, c, n)  # GEGLU projects to value and gate
    return _conv(c, c, 1) + self_attention + cross_attention + feed_forward + _conv(c, c, 1)


def _resnet(c_in, c_out, time_dim=32):
    shortcut = _conv(c_in, c_out, 1) if c_in != c_out else 0
    return _conv(c_in, c_out, 3) + _linear(time_dim, c_out, 1) + _conv(c_out, c_out, 3) + shortcut


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_attention_flops_are_counted_on_every_device(device):
    # PyTorch's CPU SDPA kernel is missing from torch's FLOP registry: cost.flop_counter adds it.
    q = torch.zeros(1, 2, 16, 8, device=device)
    assert cost._counted(lambda: F.scaled_dot_product_attention(q, q, q)) == 2 * 2 * 2 * 16 * 16 * 8


def test_tiny_unet_flops_match_a_hand_count():
    from diffusers import UNet2DConditionModel

    expected = (
        _conv(4, 8, 3)  # conv_in
        + _linear(8, 32, 1) + _linear(32, 32, 1)  # time embedding MLP (sinusoids of width c, to 4c)
        + _resnet(8, 8) + _transformer()  # down block
        + 2 * (_resnet(16, 8) + _transformer())  # up block: each resnet takes 8 channels + an 8-channel skip
        + _conv(8, 4, 3)  # conv_out
    )  # fmt: skip
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(TINY_UNET)
        for batch in (1, 2):
            counted = cost._counted(lambda batch=batch: unet(**cost.unet_inputs(unet.config, batch, 4, 5)))
            assert counted == batch * expected


def test_unet_flops_scale_with_batch_and_include_attention(tiny_pipeline_dir):
    flops = cost.count_flops(tiny_pipeline_dir)
    assert flops["resolution"] == 32 and flops["latent_size"] == 8
    assert flops["unet"]["flops_b2"] == 2 * flops["unet"]["flops_b1"]
    assert flops["unet"]["params"] == sum(
        p.numel()
        for p in __import__("diffusers").UNet2DConditionModel.from_pretrained(tiny_pipeline_dir / "unet").parameters()
    )
    assert flops["vae_decoder"]["flops_b1"] > 0 and flops["text_encoder"]["flops_b1"] > 0


def test_flops_are_counted_at_the_configured_resolution(tiny_pipeline_dir):
    small, large = cost.count_flops(tiny_pipeline_dir), cost.count_flops(tiny_pipeline_dir, 64)
    assert large["resolution"] == 64 and large["latent_size"] == 16
    # Convolutions scale with the pixel count (×4), attention faster; the text encoder not at all.
    for part in ("unet", "vae_decoder"):
        assert large[part]["flops_b1"] >= 4 * small[part]["flops_b1"]
    assert large["text_encoder"] == small["text_encoder"]


FLOPS = {
    "unet": {"flops_b1": 100.0, "flops_b2": 200.0},
    "text_encoder": {"flops_b1": 7.0},
    "vae_decoder": {"flops_b1": 50.0},
}


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


def test_profile_latency_on_cpu(tiny_pipeline_dir):
    from ldmscale import models

    pipe = models.load_pipeline(tiny_pipeline_dir, "cpu", "float32")
    result = cost.profile_latency(pipe, batch=2, resolution=32, warmup=1, repeats=3, channels_last=True)
    components = {"unet", "unet_cfg", "text_encoder", "vae_decoder"}
    assert set(result["median_ms"]) == components
    assert all(v > 0 for v in result["median_ms"].values())
    assert all(result["min_ms"][k] <= result["median_ms"][k] <= result["max_ms"][k] for k in components)
    assert result["device"].startswith("CPU") and result["device_info"]["type"] == "cpu"
    assert result["channels_last"] and len(result["times_ms"]["unet"]) == 3
    # FLOPs per call at the profiled batch agree with the meta-device count at batch 1.
    flops = cost.count_flops(tiny_pipeline_dir)
    assert result["flops_per_call"]["unet"] == 2 * flops["unet"]["flops_b1"]
    assert result["flops_per_call"]["unet_cfg"] == 4 * flops["unet"]["flops_b1"]
    assert result["flops_per_call"]["vae_decoder"] == 2 * flops["vae_decoder"]["flops_b1"]
    unet_tflops = result["flops_per_call"]["unet"] / result["median_ms"]["unet"] / 1e9
    assert result["achieved_tflops"]["unet"] == pytest.approx(unet_tflops)
    # On CPU neither MFU nor peak memory is claimed.
    assert result["peak_tflops"] is None and set(result["mfu"].values()) == {None}
    assert set(result["peak_memory_bytes"].values()) == {None} and "not measured on CPU" in result["peak_memory_note"]


def test_end_to_end_timing_beside_the_derived_one(tiny_pipeline):
    latency = cost.profile_latency(tiny_pipeline, batch=2, resolution=32, warmup=1, repeats=2)
    configs = [{"sampler": "ddim", "steps": 2, "guidance": 1.0}, {"sampler": "heun", "steps": 2, "guidance": 3.0}]
    checks = cost.end_to_end(tiny_pipeline, latency, configs, warmup=1, repeats=2)
    assert [(c["sampler"], c["nfe"], c["cfg"]) for c in checks] == [("ddim", 2, False), ("heun", 3, True)]
    for c in checks:
        assert c["derived_ms_per_image"] == pytest.approx(cost.sampling_latency_ms(latency, c["nfe"], c["cfg"]))
        assert c["measured_over_derived"] == pytest.approx(c["measured_ms_per_image"] / c["derived_ms_per_image"])
        assert c["measured_ms_per_image"] > 0
    assert type(tiny_pipeline.scheduler).__name__ == "DDIMScheduler"  # the pipeline's own scheduler is back


@pytest.mark.parametrize(
    ("name", "dtype", "peak"),
    [
        ("NVIDIA H100 80GB HBM3", torch.bfloat16, 989.4),
        ("NVIDIA H100 PCIe", torch.float16, 756.0),
        ("NVIDIA H100 NVL", torch.bfloat16, 835.0),
        ("NVIDIA H200", torch.bfloat16, 989.4),
        ("NVIDIA A100-SXM4-80GB", torch.bfloat16, 312.0),
        ("NVIDIA L40S", torch.float16, 362.05),
        ("NVIDIA L4", torch.bfloat16, 121.0),
        ("NVIDIA H100 80GB HBM3", torch.float32, None),  # fp32: TF32 convolutions, CUDA-core matmuls
        ("NVIDIA GH200 480GB", torch.bfloat16, None),  # not in the table: no guess
        ("Tesla T4", torch.float16, None),
    ],
)
def test_peak_tflops_by_device_name_and_dtype(name, dtype, peak):
    assert devices.peak_tflops(name, dtype) == peak


def test_an_lcm_distilled_unet_is_counted_with_its_guidance_embedding(tiny_pipeline_dir, tiny_lcm_pipeline_dir):
    from conftest import LCM_EMBEDDING

    plain, lcm = cost.count_flops(tiny_pipeline_dir)["unet"], cost.count_flops(tiny_lcm_pipeline_dir)["unet"]
    # The one extra layer, cond_proj (Linear(time_cond_proj_dim → the timestep embedding's input, no bias)).
    width = 8  # the tiny UNet's first block: the sinusoidal timestep embedding's width
    assert lcm["params"] - plain["params"] == LCM_EMBEDDING * width
    assert lcm["flops_b1"] - plain["flops_b1"] == 2 * LCM_EMBEDDING * width
    assert lcm["flops_b2"] - plain["flops_b2"] == 2 * 2 * LCM_EMBEDDING * width
