"""Architectures of the toy family: diffusers/transformers classes at toy sizes, plus the scorer CNN."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from .. import files, integrity
from . import data

MAX_TOKENS = data.max_words() + 2  # [BOS] + the longest caption + [EOS]
TEXT_HIDDEN = 64
LATENT_CHANNELS = 4


def tokenizer():
    """Return a word-level PreTrainedTokenizerFast over the caption vocabulary."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
    vocab = {word: i for i, word in enumerate(specials + data.vocabulary())}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[BOS] $A [EOS]", special_tokens=[("[BOS]", vocab["[BOS]"]), ("[EOS]", vocab["[EOS]"])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        bos_token="[BOS]",
        eos_token="[EOS]",
        model_max_length=MAX_TOKENS,
    )


def text_encoder(tok):
    """Return an untrained CLIPTextModel sized for the toy captions."""
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(
        vocab_size=len(tok),
        hidden_size=TEXT_HIDDEN,
        intermediate_size=2 * TEXT_HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=MAX_TOKENS,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        projection_dim=TEXT_HIDDEN,
    )
    return CLIPTextModel(config)


def autoencoder(image_size: int):
    """Return an untrained AutoencoderKL that maps image_size² RGB to (image_size/4)² × 4 latents."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3,
        block_out_channels=(16, 32, 32),
        layers_per_block=1,
        latent_channels=LATENT_CHANNELS,
        norm_num_groups=8,
        sample_size=image_size,
        mid_block_add_attention=False,
    )


def latent_size(vae_config) -> int:
    """Return the side of the latents the toy autoencoder with config `vae_config` makes of its images."""
    return vae_config["sample_size"] // 2 ** (len(vae_config["block_out_channels"]) - 1)


def unet_config(width: int, latent_size: int) -> dict:
    """Return the UNet2DConditionModel config of the toy family member of base width `width`.

    Members differ only in width, as in the paper: stage widths [c, 2c, 4c] (the paper's
    [c, 2c, 4c, 4c] has one more stage, for which 8×8 toy latents have no room), cross-attention
    in every stage but the deepest, as in SD1.5, and a fixed number of heads (SD1.5 keeps 8).
    """
    return {
        "sample_size": latent_size,
        "in_channels": LATENT_CHANNELS,
        "out_channels": LATENT_CHANNELS,
        "block_out_channels": [width, 2 * width, 4 * width],
        "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
        "layers_per_block": 1,
        "cross_attention_dim": TEXT_HIDDEN,
        "attention_head_dim": 4,  # diffusers reads this as the number of heads (SD1.5's config says 8)
        "norm_num_groups": 8,
    }


def noise_schedule() -> dict:
    """Return the training noise schedule, shared by every member (Stable Diffusion's betas).

    'trailing' spacing makes few-step samplers start from pure noise (t = 999), which the
    SD default 'leading' does not.
    """
    return {
        "num_train_timesteps": 1000,
        "beta_start": 0.00085,
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "prediction_type": "epsilon",
        "timestep_spacing": "trailing",
        "clip_sample": False,
        "set_alpha_to_one": False,
        "steps_offset": 1,  # unused with trailing spacing; 1 silences the SD pipeline warning
    }


class Scorer(nn.Module):
    """CNN that reads every attribute of a toy image; its penultimate layer is the feature space for FD."""

    def __init__(self, image_size: int = 32, features: int = 128):
        super().__init__()
        self.image_size = image_size
        self.num_features = features
        self.trunk = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4),
            nn.Flatten(), nn.Linear(64 * 16, features), nn.ReLU(),
        )  # fmt: skip
        self.heads = nn.ModuleList(nn.Linear(features, len(v)) for v in data.ATTRIBUTES.values())

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Return (n, num_features) features of uint8 images (n, 3, H, W)."""
        return self.trunk(images.float() / 127.5 - 1)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Return one logit tensor per attribute."""
        f = self.features(images)
        return [head(f) for head in self.heads]


def save_scorer(scorer: Scorer, directory: Path, extra: dict) -> None:
    """Write the scorer as safetensors weights plus a JSON config into `directory`."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in scorer.state_dict().items()}, directory / "model.safetensors")
    config = {"image_size": scorer.image_size, "features": scorer.num_features, "attributes": data.ATTRIBUTES}
    (directory / "config.json").write_text(json.dumps({**config, **extra}, indent=2) + "\n")


def load_scorer(directory: str | Path) -> Scorer:
    """Return the scorer saved in `directory` (its checksums verified), in float32 eval mode."""
    from safetensors.torch import load_file

    directory = Path(directory)
    integrity.verify_checksums(directory)
    config = json.loads((directory / "config.json").read_text())
    if {k: tuple(v) for k, v in config["attributes"].items()} != data.ATTRIBUTES:
        raise ValueError(f"{directory}: scorer was trained on other attributes than this data version")
    scorer = Scorer(config["image_size"], config["features"])
    scorer.load_state_dict(load_file(directory / "model.safetensors"))
    return scorer.eval()


def assemble(out: str | Path, unet_dir: Path, vae_dir: Path, text_dir: Path) -> None:
    """Save a StableDiffusionPipeline made of the toy parts to `out`, atomically, in float32.

    The parts' checksums are verified first: shipped checkpoints must be the ones recorded.
    """
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, PreTrainedTokenizerFast

    for part in (unet_dir, vae_dir, text_dir):
        integrity.verify_checksums(part)
    f32 = {"use_safetensors": True, "dtype": torch.float32}
    pipe = StableDiffusionPipeline(
        vae=AutoencoderKL.from_pretrained(vae_dir, **f32),
        text_encoder=CLIPTextModel.from_pretrained(text_dir / "text_encoder", **f32),
        tokenizer=PreTrainedTokenizerFast.from_pretrained(text_dir / "tokenizer"),
        unet=UNet2DConditionModel.from_pretrained(unet_dir, **f32),
        scheduler=DDIMScheduler.from_config(noise_schedule()),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    with files.atomic_path(out) as tmp:
        pipe.save_pretrained(tmp, safe_serialization=True)
        integrity.validate_pipeline_dir(tmp)
        integrity.record_checksums(tmp)
