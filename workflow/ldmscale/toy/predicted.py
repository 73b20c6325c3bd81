"""A toy size nobody trained (`predict: true`): the pipeline of its width with the UNet at initialisation, so that
it is counted (params, FLOPs, latency) like any member. It never generates; the scaling law predicts its scores."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .. import files, integrity


def unet_config(width: int, kind: str, vae_dir: Path) -> dict:
    """Return the UNet config toy member `width` of `kind` would be trained with (its latent size from the VAE's)."""
    from . import nets, upscale

    latent_size = nets.latent_size(json.loads((Path(vae_dir) / "config.json").read_text()))
    return (upscale.unet_config if kind == "super_resolution" else nets.unet_config)(width, latent_size)


def assemble(out: str | Path, width: int, kind: str, vae_dir: Path, text_dir: Path, seed: int) -> None:
    """Save to `out`, atomically, the toy pipeline of `kind` with an untrained UNet of `width` (initialised from
    `seed`) and the shared VAE and text encoder."""
    import torch
    from diffusers import UNet2DConditionModel

    from . import nets, upscale

    unet_dir = Path(out).with_name(f".{Path(out).name}.unet")
    torch.manual_seed(seed)
    with files.atomic_path(unet_dir) as tmp:
        UNet2DConditionModel.from_config(unet_config(width, kind, vae_dir)).save_pretrained(tmp)
        integrity.record_checksums(tmp)
    (upscale.assemble if kind == "super_resolution" else nets.assemble)(out, unet_dir, vae_dir, text_dir)
    shutil.rmtree(unet_dir)
