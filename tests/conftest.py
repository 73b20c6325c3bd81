"""Shared fixtures: the package on sys.path, a tiny untrained toy pipeline saved the way the workflow saves one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))


PARTS = ("text", "vae", "scorer", "unet")


def _save_untrained_parts(directory: Path, width: int = 8) -> dict[str, Path]:
    import torch
    from diffusers import UNet2DConditionModel

    from ldmscale import models
    from ldmscale.toy import nets

    torch.manual_seed(0)
    tok = nets.tokenizer()
    tok.save_pretrained(directory / "text" / "tokenizer")
    nets.text_encoder(tok).save_pretrained(directory / "text" / "text_encoder")
    vae = nets.autoencoder(32)
    vae.save_pretrained(directory / "vae")
    UNet2DConditionModel.from_config(nets.unet_config(width, 8)).save_pretrained(directory / "unet")
    nets.save_scorer(nets.Scorer(32), directory / "scorer", {})
    for part in PARTS:
        models.record_checksums(directory / part)
    return {part: directory / part for part in PARTS}


@pytest.fixture(scope="session")
def tiny_parts(tmp_path_factory) -> dict[str, Path]:
    """Return the directories of untrained toy parts (text, vae, scorer, and a UNet of width 8), with checksums."""
    return _save_untrained_parts(tmp_path_factory.mktemp("tiny_parts"))


@pytest.fixture(scope="session")
def tiny_pipeline_dir(tmp_path_factory, tiny_parts) -> Path:
    """Return a saved StableDiffusionPipeline of untrained toy parts (UNet width 8), assembled by ldmscale."""
    from ldmscale import models

    out = tmp_path_factory.mktemp("tiny_pipeline") / "pipeline"
    models.assemble_toy(out, tiny_parts["unet"], tiny_parts["vae"], tiny_parts["text"])
    return out


@pytest.fixture(scope="session")
def tiny_pipeline(tiny_pipeline_dir):
    """Return the tiny pipeline loaded on CPU, as the generate rule loads it."""
    import torch

    from ldmscale import models

    torch.set_num_threads(1)
    return models.load_pipeline(tiny_pipeline_dir, "cpu", "float32")
