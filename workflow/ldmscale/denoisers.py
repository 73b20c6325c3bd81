"""The pipelines ldmscale can sweep, by their denoiser: what it is called in the pipeline, how it is conditioned, and
what its pipeline call needs (which samplers fit it: `samplers.check_fits`). Imports nothing heavy: the config check
reads it.

Every pipeline with a `unet` component is a UNet pipeline (Stable Diffusion 1.x/2.x, SDXL, the upscalers, LCM), as
before. The diffusion transformers are named one by one, because each is called, conditioned and costed its own way:

- `DiTPipeline` (Peebles & Xie 2023): class-conditional; a prompt is an ImageNet class (its name in the pipeline's
  `id2label`, or its number); no text encoder. Its latents are drawn by the pipeline from one generator per image,
  seeded as ldmscale seeds its own initial latents, so they are the same.
- `PixArtAlphaPipeline`, `PixArtSigmaPipeline` (Chen et al. 2023, 2024): a T5 text encoder (120 and 300 tokens);
  called at the exact resolution (`use_resolution_binning: false`) and with the prompt as written
  (`clean_caption: false`, which would otherwise depend on whether bs4 and ftfy are installed).
- `StableDiffusion3Pipeline` (Esser et al. 2024): an MMDiT, two CLIP encoders and T5, flow matching.
- `FluxPipeline` (Black Forest Labs 2024): an MMDiT with single-stream blocks, CLIP (pooled) and T5 (512 tokens),
  flow matching with a resolution-dependent shift. Its latents are packed into 2 × 2 patches (64 channels for its 16)
  with position ids; guidance is distilled into an embedding (`guidance_embeds`), so a guided call is one call at the
  batch, not two. It has no `sample_size`: its pipeline's default is 128 latents a side (1,024 px).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Family:
    """How ldmscale handles one pipeline class: its denoiser component, its conditioning ("text" or "class"), and the
    extra options of its pipeline call."""

    denoiser: str
    conditioning: str = "text"
    call_options: dict[str, Any] = field(default_factory=dict)
    packed: bool = False  # latents packed into 2 × 2 patches of 4 × the VAE's channels (Flux)
    default_sample_size: int | None = None  # latents a side where the denoiser's config has no sample_size


UNET = Family("unet")
PIXART = Family("transformer", call_options={"use_resolution_binning": False, "clean_caption": False})
TRANSFORMER_PIPELINES: dict[str, Family] = {
    "DiTPipeline": Family("transformer", "class"),
    "PixArtAlphaPipeline": PIXART,
    "PixArtSigmaPipeline": PIXART,
    "StableDiffusion3Pipeline": Family("transformer"),
    "FluxPipeline": Family("transformer", packed=True, default_sample_size=128),
}


def family(pipeline_index: dict) -> Family:
    """Return the family of the pipeline whose model_index.json is `pipeline_index`; ValueError naming the pipeline
    and its denoiser where ldmscale cannot handle it."""
    name = pipeline_index.get("_class_name", "this pipeline")
    if "unet" in pipeline_index:
        return UNET
    if name in TRANSFORMER_PIPELINES:
        return TRANSFORMER_PIPELINES[name]
    others = [f"{c!r} ({pipeline_index[c][1]})" for c in ("transformer", "prior", "decoder") if c in pipeline_index]
    found = f"its denoiser is {others[0]}" if others else "it has no 'unet' or 'transformer' component"
    raise ValueError(
        f"{name}: {found}; ldmscale sweeps pipelines with a UNet ('unet') and the diffusion transformers "
        f"{', '.join(TRANSFORMER_PIPELINES)} (docs/transformer-families.md)"
    )


def of(pipe):
    """Return a loaded pipeline's denoiser module: its `unet`, or its `transformer`."""
    unet = getattr(pipe, "unet", None)
    return unet if unet is not None else pipe.transformer


def family_of(pipe) -> Family:
    """Return a loaded pipeline's family."""
    return UNET if getattr(pipe, "unet", None) is not None else TRANSFORMER_PIPELINES[type(pipe).__name__]
