"""FLOPs of each component call, counted on the meta device, and the FLOP-based cost formulas (DESIGN.md §4)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.utils.flop_counter as flop_counter_module
from torch.utils.flop_counter import FlopCounterMode

from .. import denoisers


def flop_counter() -> FlopCounterMode:
    """Return a FlopCounterMode that also counts attention run by PyTorch's CPU SDPA kernels.

    torch's registry covers SDPA's CUDA kernels and the math path (which the meta device
    takes) but not the fused CPU kernel, whose attention would otherwise count as 0 FLOPs.
    """
    aten = torch.ops.aten
    cpu_kernels = {
        "_scaled_dot_product_flash_attention_for_cpu": flop_counter_module.sdpa_flop,
        "_scaled_dot_product_flash_attention_for_cpu_backward": flop_counter_module.sdpa_backward_flop,
    }
    mapping = {getattr(aten, op): formula.__wrapped__ for op, formula in cpu_kernels.items() if hasattr(aten, op)}
    return FlopCounterMode(display=False, custom_mapping=mapping)


def _counted(fn) -> int:
    with flop_counter() as counter:
        fn()
    return counter.get_total_flops()


def _component_config(model_dir: Path, name: str) -> dict:
    return json.loads((model_dir / name / "config.json").read_text())


SDXL_TIME_IDS = 6  # SDXL's micro-conditioning: original size, crop offset, target size (2 numbers each)


def unet_inputs(config: dict, batch: int, latent_size: int, tokens: int, device="meta") -> dict:
    """Return the keyword arguments of one UNet call at `batch`, as the pipelines make it.

    An LCM-distilled UNet (`time_cond_proj_dim`) also takes the guidance-scale embedding, and an
    SDXL-style UNet (`addition_embed_type: text_time`) the pooled text embedding and time ids. A super-resolution
    UNet's `in_channels` already hold the low-resolution image beside the latent.
    """
    inputs = {
        "sample": torch.zeros(batch, config["in_channels"], latent_size, latent_size, device=device),
        "timestep": torch.zeros(batch, dtype=torch.long, device=device),
    }
    if config.get("cross_attention_dim"):  # UNet2DConditionModel (UNet2DModel, as LDM-SR's, takes no text)
        inputs["encoder_hidden_states"] = torch.zeros(batch, tokens, config["cross_attention_dim"], device=device)
    if config.get("num_class_embeds"):  # the x4 upscaler's noise level, a class label
        inputs["class_labels"] = torch.zeros(batch, dtype=torch.long, device=device)
    if config.get("time_cond_proj_dim"):
        inputs["timestep_cond"] = torch.zeros(batch, config["time_cond_proj_dim"], device=device)
    if config.get("addition_embed_type") == "text_time":
        pooled = config["projection_class_embeddings_input_dim"] - SDXL_TIME_IDS * config["addition_time_embed_dim"]
        inputs["added_cond_kwargs"] = {
            "text_embeds": torch.zeros(batch, pooled, device=device),
            "time_ids": torch.zeros(batch, SDXL_TIME_IDS, device=device),
        }
    return inputs


TEXT_ENCODERS = ("text_encoder", "text_encoder_2", "text_encoder_3")  # SD1.x/2.x the first; SDXL two; SD3 all three
# The text length each family's pipeline encodes per encoder where its config does not fix it (T5 has no maximum):
# the pipelines' default max_sequence_length. Other encoders use their max_position_embeddings.
T5_TOKENS = {
    "PixArtAlphaPipeline": 120,
    "PixArtSigmaPipeline": 300,
    "StableDiffusion3Pipeline": 256,
    "FluxPipeline": 512,
}


def _text_model(path: Path):
    """Return the text encoder saved at `path` built from its config: the class it names (CLIPTextModelWithProjection
    for SDXL's second encoder, so that its projection counts), else transformers' AutoModel for the config."""
    import transformers

    config = transformers.AutoConfig.from_pretrained(path)
    named = getattr(transformers, (config.architectures or [""])[0], None)
    return named(config) if named is not None else transformers.AutoModel.from_config(config)


def geometry(model_dir: str | Path, resolution: int | None = None) -> dict:
    """Return the pipeline's image resolution, latent size and text lengths: `tokens`, what the denoiser attends to
    (SD3: its CLIP and T5 tokens side by side), and `text_tokens`, each text encoder's; from its configs alone."""
    model_dir = Path(model_dir)
    unet = _component_config(model_dir, denoiser_name(model_dir))
    vae = _component_config(model_dir, autoencoder_name(model_dir))
    pipeline = _pipeline_config(model_dir).get("_class_name")
    text_tokens = {name: text_length(_component_config(model_dir, name), pipeline)
                   for name in TEXT_ENCODERS if (model_dir / name).is_dir()}  # fmt: skip
    tokens = denoiser_tokens(text_tokens, pipeline)
    family = denoisers.TRANSFORMER_PIPELINES.get(pipeline, denoisers.UNET)
    factor = 2 ** (len(vae["block_out_channels"]) - 1)
    resolution = resolution or unet.get("sample_size", family.default_sample_size) * factor
    step = factor * (2 if family.packed else 1)  # packed latents: 2 × 2 patches of latents
    if resolution % step:
        raise ValueError(f"{model_dir}: resolution {resolution} is not a multiple of {step} (the VAE factor {factor}"
                         f"{', twice: its latents are packed in 2 × 2 patches' if family.packed else ''})")  # fmt: skip
    return {"resolution": resolution, "latent_size": resolution // factor, "tokens": tokens, "text_tokens": text_tokens}


def text_length(config: dict, pipeline: str | None) -> int:
    """Return the tokens a text encoder (its config) encodes per prompt in pipeline class `pipeline`."""
    if "max_position_embeddings" in config:
        return config["max_position_embeddings"]
    return T5_TOKENS[pipeline]


def denoiser_tokens(text_tokens: dict[str, int], pipeline: str | None) -> int:
    """Return the text length the denoiser attends to: SD3's CLIP tokens (both encoders' side by side in width) and
    its T5 tokens one after the other; Flux's T5 tokens (its CLIP gives a pooled embedding only); otherwise the first
    encoder's (0 without text)."""
    if pipeline == "StableDiffusion3Pipeline":
        return max(text_tokens["text_encoder"], text_tokens["text_encoder_2"]) + text_tokens["text_encoder_3"]
    if pipeline == "FluxPipeline":
        return text_tokens["text_encoder_2"]
    return text_tokens.get("text_encoder", 0)


def denoiser_name(model_dir: Path) -> str:
    """Return the pipeline's denoiser component: `unet`, or `transformer` (a DiT)."""
    return (
        "transformer"
        if (Path(model_dir) / "transformer").is_dir() and not (Path(model_dir) / "unet").is_dir()
        else "unet"
    )


def denoiser_inputs(config: dict, batch: int, latent_size: int, tokens: int, device="meta") -> dict:
    """Return the keyword arguments of one denoiser call, as its pipeline makes it: a UNet's (`unet_inputs`); a DiT's
    (the noisy latent, the timestep and the class label); PixArt's (and the T5 states; at 1024 px the resolution and
    aspect ratio); SD3's MMDiT's (and the joint CLIP and T5 states and the pooled CLIP embeddings); Flux's (its latent
    packed in 2 × 2 patches, the T5 states, the pooled CLIP embedding, the image and text position ids, and the
    guidance embedding's scale where it has one)."""
    cls = config.get("_class_name")
    if cls == "FluxTransformer2DModel":
        side = latent_size // 2
        return {
            "hidden_states": torch.zeros(batch, side * side, config["in_channels"], device=device),
            "encoder_hidden_states": torch.zeros(batch, tokens, config["joint_attention_dim"], device=device),
            "pooled_projections": torch.zeros(batch, config["pooled_projection_dim"], device=device),
            "timestep": torch.zeros(batch, device=device),
            "img_ids": torch.zeros(side * side, 3, device=device),
            "txt_ids": torch.zeros(tokens, 3, device=device),
            "guidance": torch.zeros(batch, device=device) if config.get("guidance_embeds") else None,
        }
    if cls not in ("DiTTransformer2DModel", "PixArtTransformer2DModel", "SD3Transformer2DModel"):
        return unet_inputs(config, batch, latent_size, tokens, device)
    inputs = {
        "hidden_states": torch.zeros(batch, config["in_channels"], latent_size, latent_size, device=device),
        "timestep": torch.zeros(batch, dtype=torch.long, device=device),
    }
    if cls == "DiTTransformer2DModel":
        inputs["class_labels"] = torch.zeros(batch, dtype=torch.long, device=device)
    elif cls == "PixArtTransformer2DModel":
        inputs["encoder_hidden_states"] = torch.zeros(batch, tokens, config["caption_channels"], device=device)
        extra = config.get("use_additional_conditions")
        extra = config["sample_size"] == 128 if extra is None else extra  # as PixArtTransformer2DModel decides
        inputs["added_cond_kwargs"] = {"resolution": torch.zeros(batch, 2, device=device) if extra else None,
                                       "aspect_ratio": torch.zeros(batch, 1, device=device) if extra else None}  # fmt: skip
    else:
        inputs["encoder_hidden_states"] = torch.zeros(batch, tokens, config["joint_attention_dim"], device=device)
        inputs["pooled_projections"] = torch.zeros(batch, config["pooled_projection_dim"], device=device)
    return inputs


def denoiser_params(model) -> int:
    """Return the denoiser's parameter count. diffusers' DiT gives every block its own copy of the timestep and class
    embedders (`norm1.emb`), which DiT itself shares (a converted checkpoint repeats the same weights): they count once,
    as in DiT's own figures (DiT-XL/2: 675M, where diffusers' module holds 750M)."""
    total = sum(p.numel() for p in model.parameters())
    if type(model).__name__ == "DiTTransformer2DModel":
        total -= sum(p.numel() for block in model.transformer_blocks[1:] for p in block.norm1.emb.parameters())
    return total


def autoencoder_name(model_dir: Path) -> str:
    """Return the pipeline's autoencoder component: `vae`, or `vqvae` (LDMSuperResolutionPipeline's VQModel)."""
    return "vqvae" if (Path(model_dir) / "vqvae").is_dir() and not (Path(model_dir) / "vae").is_dir() else "vae"


def count_flops(model_dir: str | Path, resolution: int | None = None) -> dict:
    """Return params and FLOPs per call of the denoiser (batch 1 and 2), VAE decoder and text encoder(s).

    Models are built from their configs on the meta device: no weights are read and no
    memory is used, so a 5B UNet counts in seconds. FLOPs are 2 × MACs, attention included.
    The denoiser, a UNet or a DiT transformer, is under "unet" (the cost table's unet_* columns are the denoiser's).
    """
    model_dir = Path(model_dir)
    geo = geometry(model_dir, resolution)
    with torch.device("meta"):
        unet, vae = (_component(model_dir, name) for name in (denoiser_name(model_dir), autoencoder_name(model_dir)))
        texts = {name: _text_model(model_dir / name) for name in geo["text_tokens"]}
        tokens = {name: torch.zeros(1, n, dtype=torch.long) for name, n in geo["text_tokens"].items()}
        latent = torch.zeros(1, vae.config.latent_channels, geo["latent_size"], geo["latent_size"])
        with torch.no_grad():
            result = {
                "unet": {
                    "params": denoiser_params(unet),
                    "flops_b1": _counted(
                        lambda: unet(**denoiser_inputs(unet.config, 1, geo["latent_size"], geo["tokens"]))
                    ),
                    "flops_b2": _counted(
                        lambda: unet(**denoiser_inputs(unet.config, 2, geo["latent_size"], geo["tokens"]))
                    ),
                },
                "vae_decoder": {
                    "params": sum(
                        p.numel() for n, p in vae.named_parameters() if not n.startswith(("encoder", "quant_conv"))
                    ),
                    "flops_b1": _counted(lambda: vae.decode(latent)),
                },
                "text_encoder": {  # SDXL's two encoders, SD3's three: each runs once per prompt
                    "params": sum(p.numel() for text in texts.values() for p in text.parameters()),
                    "flops_b1": _counted(lambda: [text(tokens[name]) for name, text in texts.items()]),
                    "calls_with_cfg": text_calls_with_cfg(_pipeline_config(model_dir)),
                },
            }
    return {**geo, **result}


COMPONENT_CLASSES = ("UNet2DConditionModel", "UNet2DModel", "DiTTransformer2DModel", "PixArtTransformer2DModel",
                     "SD3Transformer2DModel", "FluxTransformer2DModel", "AutoencoderKL", "VQModel")  # fmt: skip


def _component(model_dir: Path, name: str):
    """Return component `name` built from its config alone, as the class its config names (one of COMPONENT_CLASSES)."""
    import diffusers

    config = _component_config(model_dir, name)
    default = "UNet2DConditionModel" if name == "unet" else "AutoencoderKL"
    cls = config.get("_class_name", default)
    if cls not in COMPONENT_CLASSES:
        raise ValueError(f"{model_dir / name}: {cls} is not costed; supported: {', '.join(COMPONENT_CLASSES)}")
    return getattr(diffusers, cls).from_config(config)


def _pipeline_config(model_dir: Path) -> dict:
    """Return the pipeline's model_index.json ({} for an architecture-only model, which has none)."""
    index = model_dir / "model_index.json"
    return json.loads(index.read_text()) if index.is_file() else {}


def text_calls_with_cfg(pipeline_config: dict) -> int:
    """Return how often the text encoders run per prompt with guidance: 2 (prompt, empty prompt), or 1 where the
    pipeline uses zeros for the empty prompt instead (SDXL's force_zeros_for_empty_prompt)."""
    return 1 if pipeline_config.get("force_zeros_for_empty_prompt") else 2
