"""`ldmscale plan`: a sweep's configurations, images and jobs from its config, and its cost from the cost records,
against hand counts (DDIM makes one UNet call a step, Heun 2·steps − 1; guidance doubles the batch)."""

import pytest
from helpers import tiny_config

from ldmscale import config as cfg
from ldmscale import files, plan

# One model's cost record (FLOPs per call, batch 1 and 2) and its latency (ms per batch of 2).
FLOPS = {"unet": {"flops_b1": 1e9, "flops_b2": 2e9, "params": 1}, "text_encoder": {"flops_b1": 1e8},
         "vae_decoder": {"flops_b1": 5e8}}  # fmt: skip
LATENCY = {"median_ms": {"unet": 10.0, "unet_cfg": 18.0, "text_encoder": 1.0, "vae_decoder": 4.0}, "batch": 2,
           "device": "NVIDIA H100"}  # fmt: skip


def sweep() -> dict:
    config = tiny_config(samplers=["ddim", "heun"], steps=[4], guidance=[1.0, 3.0])
    config["tasks"]["shapes"].update(num_images=10, shard_size=4, batch_size=2)
    cfg.validate(config)
    cfg.check(config)
    return config


def test_the_plan_counts_configurations_images_and_jobs_and_costs_them_by_hand(tmp_path, capsys):
    config = sweep()
    files.write_json(tmp_path / "cost/tiny-a/flops.json", FLOPS)
    files.write_json(tmp_path / "cost/tiny-a/latency_b2.json", LATENCY)
    rows = {r["model"]: r for r in plan.rows(config, tmp_path, tmp_path / "models")}
    a, b = rows["tiny-a"], rows["tiny-b"]
    assert (a["configurations"], a["images"]) == (4, 40)  # 2 samplers × 2 guidance scales, 10 images each
    assert (a["generate"], a["image_features"], a["score"]) == (4 * 3, 4, 4 * 2)  # 3 shards of ≤ 4; 1 extractor
    calls = {"ddim": 4, "heun": 2 * 4 - 1}
    gflops = sum(10 * (0.1 + n * 1.0 + 0.5) + 10 * (2 * 0.1 + n * 2.0 + 0.5) for n in calls.values())
    hours = sum(10 * (1 + n * 10 + 4) / 2 + 10 * (2 * 1 + n * 18 + 4) / 2 for n in calls.values()) / 3.6e6
    assert a["gflops"] == pytest.approx(gflops) and a["hours"] == pytest.approx(hours)
    assert b["gflops"] is None and b["hours"] is None  # no records: not guessed
    text = plan.text(list(rows.values()), "results/x", gpus=2)
    assert "| all | 8 | 80 | 24 / 8 / 16 | – | – |" in text and "GPU-hours" in text
    assert "tiny-b: no flops.json or latency yet" in text and "latency measured on NVIDIA H100" in text
