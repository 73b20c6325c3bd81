"""Shared fixtures: the package on sys.path, a tiny untrained toy pipeline saved the way the workflow saves one, and
one finished run of the tiny workflow for every test that only inspects a run.

`make test` runs the suite on two pytest-xdist workers (pyproject.toml: `-n 2 --dist loadgroup`), a module at a time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
if os.environ.get("PYTEST_XDIST_WORKER"):
    # The workers share the cores: torch in each takes one thread, and a waiting thread sleeps rather than spins.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


PARTS = ("text", "vae", "scorer", "unet")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items) -> None:
    """Group the tests for xdist's workers: a module's tests on one worker (its module fixtures are built once), and
    every module that uses the tiny run on one worker too (it runs once per worker). The longest groups come first,
    longest first (HEAVIEST, then the other workflow groups), so that none of them starts last; the collected order
    holds otherwise. xdist keeps this order only with --no-loadscope-reorder (pyproject.toml): by default it runs the
    groups with the most tests first, which put the super-resolution run, 3 tests and 3 minutes, at the end.
    """
    tiny = {item.module for item in items if "tiny_run" in item.fixturenames}
    slow = {item.module for item in items if item.get_closest_marker("workflow")} | tiny
    for item in items:
        item.add_marker(pytest.mark.xdist_group("tiny_run" if item.module in tiny else item.module.__name__))

    def rank(item) -> int:
        name = item.module.__name__
        return -1 if item.module in tiny else HEAVIEST.index(name) if name in HEAVIEST else len(HEAVIEST) + (
            item.module not in slow)  # fmt: skip

    items.sort(key=rank)


# The groups with the longest fixtures after the tiny run's, longest first (setup times in CI on 2026-12-06: 205, 155,
# 143, 69 and 57 s): each a workflow run or a sweep of the shipped family.
HEAVIEST = ["test_workflow_sr", "test_workflow_real", "test_distilled", "test_experiment", "test_faults"]


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session) -> None:
    """Stop a worker whose xdist no longer groups (it marks a grouped test's id with `@group`): the suite would still
    pass, but would build every module fixture once per worker."""
    if os.environ.get("PYTEST_XDIST_WORKER") and session.config.getoption("loadgroup", False):
        ungrouped = [item.nodeid for item in session.items if "@" not in item.nodeid]
        if ungrouped:
            raise pytest.UsageError(f"xdist --dist loadgroup left {ungrouped[0]} ungrouped (pytest-xdist#1386)")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """Return a directory where the tiny workflow (tests/data/tiny.yaml) has run to the end, once per session.

    Tests may inspect it, dry-run changed configs on it and write beside its outputs (a report); a test that would
    change or delete an output works on a copy (shutil.copytree), so that every test sees the same finished run.
    """
    from helpers import snakemake, tiny_config

    workdir = tmp_path_factory.mktemp("tiny_run")
    snakemake(workdir, tiny_config())
    return workdir


def _save_untrained_parts(directory: Path, width: int = 8) -> dict[str, Path]:
    import torch
    from diffusers import UNet2DConditionModel

    from ldmscale import integrity
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
        integrity.record_checksums(directory / part)
    return {part: directory / part for part in PARTS}


@pytest.fixture(scope="session")
def tiny_parts(tmp_path_factory) -> dict[str, Path]:
    """Return the directories of untrained toy parts (text, vae, scorer, and a UNet of width 8), with checksums."""
    return _save_untrained_parts(tmp_path_factory.mktemp("tiny_parts"))


@pytest.fixture(scope="session")
def tiny_pipeline_dir(tmp_path_factory, tiny_parts) -> Path:
    """Return a saved StableDiffusionPipeline of untrained toy parts (UNet width 8), assembled by ldmscale."""
    from ldmscale.toy import nets

    out = tmp_path_factory.mktemp("tiny_pipeline") / "pipeline"
    nets.assemble(out, tiny_parts["unet"], tiny_parts["vae"], tiny_parts["text"])
    return out


LCM_EMBEDDING = 16  # time_cond_proj_dim of the tiny LCM-distilled UNet: the guidance-scale embedding's width


@pytest.fixture(scope="session")
def tiny_lcm_pipeline_dir(tmp_path_factory, tiny_parts) -> Path:
    """Return a saved pipeline like tiny_pipeline_dir's whose UNet, as an LCM-distilled one, embeds the guidance scale."""
    import torch
    from diffusers import UNet2DConditionModel

    from ldmscale import integrity
    from ldmscale.toy import nets

    root = tmp_path_factory.mktemp("tiny_lcm")
    torch.manual_seed(1)
    config = {**nets.unet_config(8, 8), "time_cond_proj_dim": LCM_EMBEDDING}
    UNet2DConditionModel.from_config(config).save_pretrained(root / "unet")
    integrity.record_checksums(root / "unet")
    nets.assemble(root / "pipeline", root / "unet", tiny_parts["vae"], tiny_parts["text"])
    return root / "pipeline"


SDXL = {"text_2_hidden": 32, "projection": 24, "time_embed": 4}  # the tiny SDXL's second encoder and added embeddings


@pytest.fixture(scope="session")
def tiny_sdxl_pipeline_dir(tmp_path_factory, tiny_parts) -> Path:
    """Return a saved StableDiffusionXLPipeline of toy-sized parts, SDXL's architecture in small.

    Two text encoders (the second with a projection: the pooled embedding), a UNet whose cross-attention takes both
    encoders' states side by side and whose added embedding takes the pooled text and six time ids.
    """
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, PreTrainedTokenizerFast

    from ldmscale import integrity
    from ldmscale.toy import nets

    torch.manual_seed(3)
    tok = PreTrainedTokenizerFast.from_pretrained(tiny_parts["text"] / "tokenizer")
    text = CLIPTextModel.from_pretrained(tiny_parts["text"] / "text_encoder", use_safetensors=True)
    hidden = SDXL["text_2_hidden"]
    text_2 = CLIPTextModelWithProjection(
        CLIPTextConfig(
            vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=nets.MAX_TOKENS, pad_token_id=tok.pad_token_id,
            bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, projection_dim=SDXL["projection"],
        )
    )  # fmt: skip
    unet = UNet2DConditionModel.from_config(
        {
            **nets.unet_config(8, 8),
            "cross_attention_dim": nets.TEXT_HIDDEN + hidden,
            "addition_embed_type": "text_time",
            "addition_time_embed_dim": SDXL["time_embed"],
            "projection_class_embeddings_input_dim": SDXL["projection"] + 6 * SDXL["time_embed"],
        }
    )
    pipe = StableDiffusionXLPipeline(
        vae=AutoencoderKL.from_pretrained(tiny_parts["vae"], use_safetensors=True),
        text_encoder=text, text_encoder_2=text_2, tokenizer=tok, tokenizer_2=tok, unet=unet,
        scheduler=DDIMScheduler.from_config(nets.noise_schedule()),
    )  # fmt: skip
    out = tmp_path_factory.mktemp("tiny_sdxl") / "pipeline"
    pipe.save_pretrained(out, safe_serialization=True)
    integrity.record_checksums(out)
    return out


LORA = {"rank": 2, "alpha": 4}  # the tiny LoRA's rank and lora_alpha: its update is (alpha / rank) · up @ down


@pytest.fixture(scope="session")
def tiny_lora(tmp_path_factory, tiny_parts) -> Path:
    """Return a LoRA of the tiny UNet's attention projections, saved as diffusers' LoRA training examples save one.

    Both factors are random (peft zeroes the up factor at init, which would make fusing a no-op).
    """
    import torch
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(2)
    unet = UNet2DConditionModel.from_pretrained(tiny_parts["unet"], use_safetensors=True)
    unet.add_adapter(
        LoraConfig(r=LORA["rank"], lora_alpha=LORA["alpha"], target_modules=["to_q", "to_k", "to_v", "to_out.0"])
    )
    with torch.no_grad():
        for name, param in unet.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    out = tmp_path_factory.mktemp("tiny_lora")
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    metadata = unet.peft_config["default"].to_dict()  # lora_alpha travels in the file's metadata
    StableDiffusionPipeline.save_lora_weights(
        out, unet_lora_layers=layers, safe_serialization=True, unet_lora_adapter_metadata=metadata
    )
    return out / "pytorch_lora_weights.safetensors"


@pytest.fixture(scope="session")
def tiny_lcm_pipeline(tiny_lcm_pipeline_dir):
    from ldmscale import models

    return models.load_pipeline(tiny_lcm_pipeline_dir, "cpu", "float32")


@pytest.fixture(scope="session")
def tiny_pipeline(tiny_pipeline_dir):
    """Return the tiny pipeline loaded on CPU, as the generate rule loads it."""
    import torch

    from ldmscale import models

    torch.set_num_threads(1)
    return models.load_pipeline(tiny_pipeline_dir, "cpu", "float32")


TINY_CLIP = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="session")
def inception_weights(tmp_path_factory) -> Path:
    """Return a safetensors file of torch-fidelity's Inception architecture with random (seeded) weights."""
    import io
    from unittest import mock

    import torch
    from safetensors.torch import save_file
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    torch.manual_seed(0)
    empty = io.BytesIO()
    torch.save({}, empty)
    empty.seek(0)
    with mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict"):  # keep the random initialisation
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], empty)
    for module in net.modules():  # He init keeps activations O(1) through 90 layers (torch's default fades to 1e-8)
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    path = tmp_path_factory.mktemp("inception") / "inception-random.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return path


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory) -> dict[str, str]:
    """Return metrics.clip settings of a tiny open_clip model (config JSON + random safetensors weights)."""
    import json

    import open_clip
    import torch
    from safetensors.torch import save_model

    directory = tmp_path_factory.mktemp("clip")
    (directory / "tiny-clip.json").write_text(json.dumps(TINY_CLIP))
    open_clip.add_model_config(directory / "tiny-clip.json")
    torch.manual_seed(0)
    save_model(open_clip.create_model("tiny-clip"), str(directory / "tiny-clip.safetensors"))
    return {
        "model": "tiny-clip",
        "pretrained": str(directory / "tiny-clip.safetensors"),
        "model_config": str(directory / "tiny-clip.json"),
    }


SR_AUTOENCODER_BLOCKS = {"down_block_types": ("DownEncoderBlock2D",) * 3, "up_block_types": ("UpDecoderBlock2D",) * 3}


@pytest.fixture(scope="session")
def tiny_upscaler_dir(tmp_path_factory, tiny_parts) -> Path:
    """Return a saved StableDiffusionUpscalePipeline in small, the x4 upscaler's architecture: a ×4 VAE, a UNet that
    takes the noise latent and the low-resolution image side by side (4 + 3 channels) and the noise level as a class
    label, the toy text encoder, and a DDPM schedule that noises the input."""
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        DDPMScheduler,
        StableDiffusionUpscalePipeline,
        UNet2DConditionModel,
    )  # fmt: skip
    from transformers import CLIPTextModel, PreTrainedTokenizerFast

    from ldmscale import integrity
    from ldmscale.toy import nets

    torch.manual_seed(5)
    vae = AutoencoderKL(
        block_out_channels=(8, 8, 8), **SR_AUTOENCODER_BLOCKS, latent_channels=4, norm_num_groups=4, sample_size=32,
    )  # fmt: skip
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=7, out_channels=4, block_out_channels=(8, 16), layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=nets.TEXT_HIDDEN, attention_head_dim=4, norm_num_groups=4, num_class_embeds=1000,
    )  # fmt: skip
    pipe = StableDiffusionUpscalePipeline(
        vae=vae, unet=unet,
        text_encoder=CLIPTextModel.from_pretrained(tiny_parts["text"] / "text_encoder", use_safetensors=True),
        tokenizer=PreTrainedTokenizerFast.from_pretrained(tiny_parts["text"] / "tokenizer"),
        low_res_scheduler=DDPMScheduler(beta_schedule="scaled_linear", beta_start=0.0001, beta_end=0.02),
        scheduler=DDIMScheduler(prediction_type="v_prediction", beta_schedule="scaled_linear"), max_noise_level=350,
    )  # fmt: skip
    out = tmp_path_factory.mktemp("tiny_upscaler") / "pipeline"
    pipe.save_pretrained(out, safe_serialization=True)
    integrity.record_checksums(out)
    return out


@pytest.fixture(scope="session")
def tiny_ldm_sr_dir(tmp_path_factory) -> Path:
    """Return a saved LDMSuperResolutionPipeline in small: a ×4 VQ autoencoder and a UNet2DModel (no text) that takes
    the noise latent and the low-resolution image side by side (3 + 3 channels), as CompVis' 4× model."""
    import torch
    from diffusers import DDIMScheduler, LDMSuperResolutionPipeline, UNet2DModel, VQModel

    from ldmscale import integrity

    torch.manual_seed(6)
    vqvae = VQModel(
        block_out_channels=(8, 8, 8), **SR_AUTOENCODER_BLOCKS, latent_channels=3, num_vq_embeddings=32, norm_num_groups=4, sample_size=32,
    )  # fmt: skip
    unet = UNet2DModel(
        sample_size=8, in_channels=6, out_channels=3, block_out_channels=(8, 16), layers_per_block=1,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=4, norm_num_groups=4,
    )  # fmt: skip
    pipe = LDMSuperResolutionPipeline(vqvae=vqvae, unet=unet, scheduler=DDIMScheduler())
    out = tmp_path_factory.mktemp("tiny_ldm_sr") / "pipeline"
    pipe.save_pretrained(out, safe_serialization=True)
    integrity.record_checksums(out)
    return out
