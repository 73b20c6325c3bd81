"""Architecture-only models: the paper's family and BK-SDM match their published sizes, and they only cost."""

from __future__ import annotations

import math

import polars as pl
import pytest
import torch
from diffusers import UNet2DConditionModel
from helpers import planned_jobs, snakemake, tiny_config

from ldmscale import architectures


def unet_params(preset: str, base_channels: int | None = None, unet: dict | None = None) -> int:
    with torch.device("meta"):  # no memory, no weights: a 5B UNet counts in a second
        unet = UNet2DConditionModel.from_config(architectures.unet_config(preset, base_channels, unet))
    return sum(p.numel() for p in unet.parameters())


def one_significant_figure(value: float) -> float:
    scale = 10 ** math.floor(math.log10(value))
    return round(value / scale) * scale


@pytest.mark.parametrize("width", sorted(architectures.PAPER_FAMILY_PARAMS))
def test_paper_family_matches_the_published_sizes(width):
    published, ours = architectures.PAPER_FAMILY_PARAMS[width], unet_params(f"sd-c{width}")
    if published >= 1e9:  # the paper gives "2B" and "5B": ours must round to them
        assert one_significant_figure(ours) == published, ours
    else:
        assert ours == pytest.approx(published, rel=0.05), ours


@pytest.mark.parametrize("preset", sorted(architectures.BK_SDM_PARAMS))
def test_bk_sdm_matches_its_model_cards_exactly(preset):
    assert unet_params(preset) == architectures.BK_SDM_PARAMS[preset]


def test_sd15_is_the_c320_member_and_widths_scale_every_stage():
    assert unet_params("sd1.5") == pytest.approx(859.5e6, rel=0.01)  # SD1.5's UNet, 859,520,964 parameters
    assert (
        architectures.unet_config("sd1.5")
        == architectures.unet_config("sd-c320")
        == architectures.unet_config("sd1.5", 320)
    )
    assert architectures.unet_config("sd-c64") == architectures.unet_config("sd1.5", 64)
    assert architectures.unet_config("sd-c64")["block_out_channels"] == [64, 128, 256, 256]
    assert architectures.unet_config("bk-sdm-tiny", 64)["block_out_channels"] == [64, 128, 256]
    with pytest.raises(ValueError, match="unknown architecture preset 'sdxl'; valid presets: sd1.5, sd-c64, sd-c96"):
        architectures.unet_config("sdxl")


def test_unet_overrides_change_the_preset():
    # one ResNet+attention pair per stage, set by hand, is BK-SDM-base; and the preset's field is the one replaced
    assert unet_params("sd1.5", unet={"layers_per_block": 1}) == architectures.BK_SDM_PARAMS["bk-sdm-base"]
    assert architectures.unet_config("sd-c64", unet={"cross_attention_dim": 1024})["cross_attention_dim"] == 1024
    assert architectures.unknown_unet_fields({"layers_per_block": 1, "depth": 3, "widths": [1]}) == ["depth", "widths"]


def test_architecture_models_plan_cost_jobs_and_no_generation(tmp_path):
    config = tiny_config()
    config["models"] = config["models"] + [{"name": "arch", "architecture": {"preset": "bk-sdm-tiny"}}]
    jobs = planned_jobs(snakemake(tmp_path, config, "--dry-run"))
    assert jobs["generate"] == 2 * 2 * 2 and jobs["score"] == 2 * 2 * 2  # the two toy models only
    assert jobs["prepare_model"] == 3 and jobs["count_flops"] == 3 and jobs["cost_table"] == 1


def test_architecture_model_has_configs_only_and_loads_with_random_weights(tmp_path):
    from ldmscale import cost, models

    architectures.write(tmp_path / "arch", "bk-sdm-small", None)
    assert not list((tmp_path / "arch").rglob("*.safetensors"))
    flops = cost.count_flops(tmp_path / "arch")
    assert flops["unet"]["params"] == architectures.BK_SDM_PARAMS["bk-sdm-small"] and flops["resolution"] == 512
    assert flops["text_encoder"]["params"] == 123_060_480  # CLIP ViT-L/14's text tower
    pipe = models.load_pipeline(tmp_path / "arch", "meta", "bfloat16")  # the meta device: shapes without memory
    assert pipe.unet.dtype == torch.bfloat16 and pipe.unet.config.mid_block_type is None


@pytest.mark.workflow
def test_architecture_only_sweep_makes_the_cost_table(tmp_path):
    config = {
        "models": [
            {"name": "c64", "architecture": {"preset": "sd-c64"}},
            {"name": "sd15", "architecture": {"preset": "sd1.5"}},
        ],
        "cost": {"latency": False},
    }
    proc = snakemake(tmp_path, config)
    assert "generate" not in proc.stdout + proc.stderr
    table = pl.read_csv(tmp_path / "results" / "test" / "cost" / "table.csv")
    assert table["model"].to_list() == ["c64", "sd15"] and table["unet_params"].to_list() == [37_522_628, 859_520_964]
    assert table["unet_relative_cost"][1] == 1.0  # normalised by the largest UNet by default
    assert (
        "| c64 | architecture sd-c64 | 512 | 37.5 M |"
        in (tmp_path / "results" / "test" / "cost" / "table.md").read_text()
    )


def test_sd15_unet_macs_without_attention_products_match_bk_sdm_paper():
    from torch.utils.flop_counter import FlopCounterMode

    from ldmscale import cost

    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(architectures.unet_config("sd1.5"))
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            unet(**cost.unet_inputs(unet.config, 1, 64, 77))
    flops = counter.get_flop_counts()["Global"]
    attention_products = sum(v for op, v in flops.items() if "bmm" in str(op))
    # BK-SDM (Kim et al. 2023), Table 1: SD1.4's UNet, 339.0 G MACs per call at 512×512, attention's bmm not counted
    assert (counter.get_total_flops() - attention_products) / 2 == pytest.approx(339.0e9, rel=0.005)


# DiT (Peebles & Xie, "Scalable Diffusion Models with Transformers", ICCV 2023), Table 4: Gflops of each model, class-
# conditional at 256×256. DiT counts a multiply-add once (its Gflops are MACs: 12·d²·depth·tokens + attention gives
# XL/2's 118.6), so they compare with half of ldmscale's FLOPs (2 × MACs). Parameters: 33M, 130M, 458M and 675M for
# DiT-S, B, L and XL, as the paper gives them (the patch size changes them by under 1%).
DIT_TABLE4_GFLOPS = {
    "dit-s-8": 0.36, "dit-s-4": 1.41, "dit-s-2": 6.06, "dit-b-8": 1.42, "dit-b-4": 5.56, "dit-b-2": 23.01,
    "dit-l-8": 5.01, "dit-l-4": 19.70, "dit-l-2": 80.71, "dit-xl-8": 7.39, "dit-xl-4": 29.05, "dit-xl-2": 118.64,
}  # fmt: skip
DIT_PARAMS = {"s": 33e6, "b": 130e6, "l": 458e6, "xl": 675e6}


def test_dit_presets_reproduce_dits_table_4():
    """Each preset's MACs within 2% of DiT's Table 4 (measured: at most 0.7% off, the per-block copies of the
    embedders that diffusers runs) and its parameters within 5% of the paper's (measured: within 0.7%)."""
    from diffusers import DiTTransformer2DModel

    from ldmscale import cost

    assert set(DIT_TABLE4_GFLOPS) == set(architectures.DIT_PRESETS)
    for preset, gflops in DIT_TABLE4_GFLOPS.items():
        config = architectures.transformer_config(preset)
        with torch.device("meta"), torch.no_grad():
            dit = DiTTransformer2DModel.from_config(config)
            macs = cost._counted(lambda dit=dit, c=config: dit(**cost.denoiser_inputs(c, 1, 32, 0))) / 2
        assert macs / 1e9 == pytest.approx(gflops, rel=0.02), preset
        assert cost.denoiser_params(dit) == pytest.approx(DIT_PARAMS[architectures.DIT_PRESETS[preset][0]], rel=0.05)


def test_a_dit_preset_is_costed_as_a_class_conditional_denoiser_and_refused_where_latency_is_profiled(tmp_path):
    from ldmscale import cost
    from ldmscale.config.checks import check_architecture

    architectures.write(tmp_path / "dit", "dit-s-8", None)
    assert sorted(p.name for p in (tmp_path / "dit").iterdir()) == ["architecture.json", "transformer", "vae"]
    flops = cost.count_flops(tmp_path / "dit")
    assert (flops["resolution"], flops["latent_size"], flops["tokens"]) == (256, 32, 0)
    assert flops["unet"]["flops_b1"] / 2e9 == pytest.approx(DIT_TABLE4_GFLOPS["dit-s-8"], rel=0.02)
    assert flops["unet"]["flops_b2"] == 2 * flops["unet"]["flops_b1"]
    assert flops["text_encoder"] == {"params": 0, "flops_b1": 0, "calls_with_cfg": 2}
    assert flops["vae_decoder"]["flops_b1"] > 0
    spec = {"preset": "dit-xl-2", "unet": {}, "base_channels": None}
    check_architecture(spec, "models[0] ('xl')", latency=False)
    with pytest.raises(
        ValueError, match=r"models\[0\] \('xl'\): .*'dit-xl-2' is a DiT, costed in FLOPs only: set cost.latency"
    ):
        check_architecture(spec, "models[0] ('xl')", latency=True)
    with pytest.raises(ValueError, match="takes no unet or base_channels"):
        check_architecture({**spec, "base_channels": 64}, "models[0] ('xl')", latency=False)
