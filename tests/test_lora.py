"""LoRA-distilled models: a diffusers-format LoRA fused into its base, safetensors only."""

import shutil

import pytest
import torch
from conftest import LORA
from safetensors.torch import load_file

from ldmscale import cost, files, integrity, lora

LAYER = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q"


def unet_weights(pipeline_dir):
    return load_file(pipeline_dir / "unet" / "diffusion_pytorch_model.safetensors")


def test_fused_weights_are_the_base_plus_the_scaled_low_rank_update(tiny_pipeline_dir, tiny_lora, tmp_path):
    base = tmp_path / "base"
    shutil.copytree(tiny_pipeline_dir, base)
    lora.prepare(base, tiny_lora, tmp_path / "fused", 0.5, {"test": True})
    assert not base.exists()  # the scratch copy of the base is gone
    before, after, factors = unet_weights(tiny_pipeline_dir), unet_weights(tmp_path / "fused"), load_file(tiny_lora)
    down, up = (factors[f"unet.{LAYER}.lora.{part}.weight"] for part in ("down", "up"))
    expected = before[f"{LAYER}.weight"] + 0.5 * LORA["alpha"] / LORA["rank"] * up @ down
    torch.testing.assert_close(after[f"{LAYER}.weight"], expected, rtol=1e-5, atol=1e-6)
    assert set(after) == set(before)  # no LoRA layers left: a plain UNet
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert len(changed) == len(factors) // 2  # one weight per LoRA-adapted layer, nothing else
    record = files.read_json(tmp_path / "fused" / lora.RECORD)
    assert record["scale"] == 0.5 and record["sha256"] == integrity.sha256(tiny_lora)


def test_fused_model_costs_what_its_base_costs(tiny_pipeline_dir, tiny_lora, tmp_path):
    shutil.copytree(tiny_pipeline_dir, tmp_path / "base")
    lora.prepare(tmp_path / "base", tiny_lora, tmp_path / "fused", 1.0, {})
    assert cost.count_flops(tmp_path / "fused")["unet"] == cost.count_flops(tiny_pipeline_dir)["unet"]


def test_a_pickle_lora_is_refused(tiny_pipeline_dir, tmp_path):
    (tmp_path / "lora.bin").write_bytes(b"not loaded")
    with pytest.raises(ValueError, match=r"lora.bin: LoRA weights are loaded from .safetensors only"):
        lora.fuse(tiny_pipeline_dir, tmp_path / "lora.bin", tmp_path / "out")
    assert not (tmp_path / "out").exists()
