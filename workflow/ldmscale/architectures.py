"""Architecture-only models for cost rows: the paper's width-scaled SD1.5 family, SD1.5 itself and BK-SDM.

Such a model is its components' configs and nothing else: FLOPs and parameters are counted on the
meta device, and latency is timed on random weights built at the moment of use. It never generates.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import files

MARKER = "architecture.json"

# Stable Diffusion v1.5's UNet (diffusers' names), 64×64×4 latents; "attention_head_dim" is the number of heads.
SD15_UNET = {
    "_class_name": "UNet2DConditionModel",
    "sample_size": 64,
    "in_channels": 4,
    "out_channels": 4,
    "block_out_channels": [320, 640, 1280, 1280],
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "mid_block_type": "UNetMidBlock2DCrossAttn",
    "layers_per_block": 2,
    "attention_head_dim": 8,
    "cross_attention_dim": 768,
    "norm_num_groups": 32,
}
SD15_BASE_CHANNELS = 320

# Mei et al. 2024's family: SD1.5's UNet with base channels c, stage widths [c, 2c, 4c, 4c]; c = 320 is SD1.5.
FAMILY_WIDTHS = (64, 96, 128, 160, 192, 224, 256, 288, 320, 512, 768)

# Presets: overrides of SD1.5's UNet config. BK-SDM (Kim et al. 2023), as in Nota-NetsPresso/BK-SDM's
# src/unet_config/bk_{base,small,tiny}/config.json (checked field by field): base drops one ResNet+attention pair
# per stage, small also drops the mid block, tiny also the innermost stage.
PRESETS = {
    "sd1.5": {},
    **{f"sd-c{c}": {"block_out_channels": [c, 2 * c, 4 * c, 4 * c]} for c in FAMILY_WIDTHS},
    "bk-sdm-base": {"layers_per_block": 1},
    "bk-sdm-small": {"layers_per_block": 1, "mid_block_type": None},
    "bk-sdm-tiny": {
        "layers_per_block": 1,
        "mid_block_type": None,
        "block_out_channels": [320, 640, 1280],
        "down_block_types": ["CrossAttnDownBlock2D"] * 3,
        "up_block_types": ["CrossAttnUpBlock2D"] * 3,
    },
}

# DiT (Peebles & Xie, ICCV 2023; facebookresearch/DiT models.py): depth, hidden size and heads of DiT-S/B/L/XL, each at
# patch size 2, 4 or 8 (`dit-xl-2` is DiT-XL/2). Class-conditional on ImageNet's 1,000 classes (and the null class) at
# 256 px: 32×32×4 latents of SD's KL-f8 autoencoder, learned variance (8 output channels), adaLN-Zero.
DIT_SIZES = {"s": (12, 384, 6), "b": (12, 768, 12), "l": (24, 1024, 16), "xl": (28, 1152, 16)}
DIT_PRESETS = {f"dit-{size}-{patch}": (size, patch) for size in DIT_SIZES for patch in (2, 4, 8)}
DIT_RESOLUTION = 256


def transformer_config(preset: str) -> dict:
    """Return the DiTTransformer2DModel config of a DiT preset (`dit-xl-2`: DiT-XL/2)."""
    depth, hidden, heads = DIT_SIZES[DIT_PRESETS[preset][0]]
    return {
        "_class_name": "DiTTransformer2DModel", "num_attention_heads": heads, "attention_head_dim": hidden // heads,
        "in_channels": 4, "out_channels": 8, "num_layers": depth, "sample_size": DIT_RESOLUTION // 8,
        "patch_size": DIT_PRESETS[preset][1], "num_embeds_ada_norm": 1000, "norm_type": "ada_norm_zero",
        "norm_elementwise_affine": False, "activation_fn": "gelu-approximate",
    }  # fmt: skip


# Published UNet parameter counts. Mei et al. 2024 (base channels → params; 2B and 5B are rounded to one
# significant figure there) and the BK-SDM model cards (exact counts).
PAPER_FAMILY_PARAMS = {
    64: 39e6, 96: 83e6, 128: 145e6, 160: 223e6, 192: 318e6, 224: 430e6,
    256: 558e6, 288: 704e6, 320: 866e6, 512: 2e9, 768: 5e9,
}  # fmt: skip
BK_SDM_PARAMS = {"bk-sdm-base": 579_384_964, "bk-sdm-small": 482_346_884, "bk-sdm-tiny": 323_384_964}

# SD1.x's autoencoder and CLIP ViT-L/14 text encoder, shared by every preset: they complete the per-image cost.
SD15_VAE = {
    "_class_name": "AutoencoderKL",
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "sample_size": 512,
    "scaling_factor": 0.18215,  # SD1.x's published latent scale
}
SD15_TEXT = {
    "vocab_size": 49408,
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "max_position_embeddings": 77,
    "hidden_act": "quick_gelu",
    "projection_dim": 768,
}
SD15_SCHEDULER = {
    "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "clip_sample": False, "set_alpha_to_one": False, "steps_offset": 1,
}  # fmt: skip


def unet_config(preset: str = "sd1.5", base_channels: int | None = None, unet: dict | None = None) -> dict:
    """Return the UNet2DConditionModel config of `preset`, its stage widths scaled to `base_channels`, then `unet`'s
    fields (any UNet2DConditionModel argument) over it."""
    if preset not in PRESETS:
        raise ValueError(f"unknown architecture preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    config = {**SD15_UNET, **PRESETS[preset]}
    if base_channels is not None:
        config["block_out_channels"] = [ch * base_channels // SD15_BASE_CHANNELS for ch in config["block_out_channels"]]
    return config | (unet or {})


def unknown_unet_fields(unet: dict) -> list[str]:
    """Return the fields of `unet` that are not UNet2DConditionModel arguments."""
    import inspect

    from diffusers import UNet2DConditionModel

    known = inspect.signature(UNet2DConditionModel.__init__).parameters
    return sorted(k for k in unet if k not in known)


def write(out: str | Path, preset: str, base_channels: int | None, unet: dict | None = None) -> None:
    """Write the components' configs (no weights) of an architecture-only model to `out`, atomically. A DiT preset
    has a `transformer` where the others have a `unet`, and no text encoder (its condition is a class label)."""
    from transformers import CLIPTextConfig

    if preset in DIT_PRESETS:
        parts = {"transformer": transformer_config(preset), "vae": {**SD15_VAE, "sample_size": DIT_RESOLUTION}}
    else:
        parts = {"unet": unet_config(preset, base_channels, unet), "vae": SD15_VAE}
    with files.atomic_path(out) as tmp:
        for name, config in parts.items():
            (tmp / name).mkdir(parents=True)
            (tmp / name / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        if "unet" in parts:
            CLIPTextConfig(**SD15_TEXT).save_pretrained(tmp / "text_encoder")
        marker = {
            "preset": preset, "base_channels": base_channels, "unet": unet or {},
            "weights": "random, built when used; cost only",
        }  # fmt: skip
        (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n")


def is_architecture(path: str | Path) -> bool:
    """Return whether `path` holds an architecture-only model (configs, no weights)."""
    return (Path(path) / MARKER).is_file()


def build_random(path: str | Path, device: str, dtype: str):
    """Return a StableDiffusionPipeline with random weights from the configs at `path`, for timing only."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    path = Path(path)
    torch.manual_seed(0)
    with torch.device(device):
        unet = UNet2DConditionModel.from_config(json.loads((path / "unet" / "config.json").read_text()))
        vae = AutoencoderKL.from_config(json.loads((path / "vae" / "config.json").read_text()))
        text = CLIPTextModel(CLIPTextConfig.from_pretrained(path / "text_encoder"))
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=text, tokenizer=None, unet=unet, scheduler=DDIMScheduler(**SD15_SCHEDULER),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )  # fmt: skip
    return pipe.to(dtype=getattr(torch, dtype))
