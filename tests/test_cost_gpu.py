"""Latency profiling on a CUDA GPU: what a GPU session runs (`pytest tests/test_cost_gpu.py`); skipped without CUDA."""

import shutil

import pytest
import torch
from helpers import snakemake, tiny_config

from ldmscale import cost, files, models

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]
COMPONENTS = {"unet", "unet_cfg", "text_encoder", "vae_decoder"}


def check_latency_json(result: dict, batch: int, dtype: str) -> None:
    """Assert that a profile_latency result has every field a GPU run must fill."""
    assert result["batch"] == batch and result["dtype"] == dtype
    info = result["device_info"]
    assert info["type"] == "cuda" and info["name"] == result["device"] == torch.cuda.get_device_name()
    assert info["cuda_runtime"] == torch.version.cuda and info["memory_bytes"] > 0
    if shutil.which("nvidia-smi"):
        assert info["driver"] and info["driver"][0].isdigit()
    for k in COMPONENTS:
        assert 0 < result["min_ms"][k] <= result["median_ms"][k] <= result["max_ms"][k]
        assert result["iqr_ms"][k] >= 0
        assert len(result["times_ms"][k]) == result["repeats"]
        assert result["flops_per_call"][k] > 0 and result["achieved_tflops"][k] > 0
        assert result["peak_memory_bytes"][k] > 0
    assert result["peak_memory_note"] is None
    if result["peak_tflops"] is None:  # a GPU missing from devices.PEAK_TFLOPS_16BIT, or float32: no MFU
        assert set(result["mfu"].values()) == {None}
    else:
        assert all(0 < result["mfu"][k] < 1 for k in COMPONENTS)
        assert result["mfu"]["unet"] == pytest.approx(result["achieved_tflops"]["unet"] / result["peak_tflops"])


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_profile_latency_on_cuda(tiny_pipeline_dir, dtype):
    pipe = models.load_pipeline(tiny_pipeline_dir, "cuda", dtype)
    result = cost.profile_latency(pipe, batch=2, resolution=32, warmup=2, repeats=5)
    check_latency_json(result, 2, dtype)
    # CUDA SDPA kernels count the same FLOPs as the meta-device math path.
    assert result["flops_per_call"]["unet"] == 2 * cost.count_flops(tiny_pipeline_dir)["unet"]["flops_b1"]
    checks = cost.end_to_end(pipe, result, [{"sampler": "heun", "steps": 2, "guidance": 3.0}], warmup=1, repeats=2)
    assert (checks[0]["nfe"], checks[0]["cfg"]) == (3, True) and checks[0]["measured_over_derived"] > 0


def test_channels_last_and_compile_on_cuda(tiny_pipeline_dir):
    pipe = models.load_pipeline(tiny_pipeline_dir, "cuda", "bfloat16")
    result = cost.profile_latency(pipe, batch=2, resolution=32, warmup=2, repeats=3, channels_last=True, compile=True)
    assert result["channels_last"] and result["compile"]
    check_latency_json(result, 2, "bfloat16")


@pytest.mark.workflow
def test_profile_latency_rule_on_cuda(tmp_path):
    config = tiny_config(runtime={"device": "cuda", "dtype": "float32"})
    config["cost"] = {**config["cost"], "dtype": "bfloat16", "repeats": 5}
    snakemake(tmp_path, config, "results/test/cost/tiny-a/latency_b2.json")
    result = files.read_json(tmp_path / "results/test/cost/tiny-a/latency_b2.json")
    check_latency_json(result, 2, "bfloat16")
    assert [(c["sampler"], c["nfe"]) for c in result["end_to_end"]] == [("ddim", 2), ("heun", 3)]
