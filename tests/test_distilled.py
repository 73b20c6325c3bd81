"""Distilled models through the workflow: an LCM-distilled UNet and a LoRA fused into its base, on their own sweeps;
and an SDXL-architecture pipeline beside them."""

import copy

import polars as pl
import pytest
import torch
from helpers import planned_jobs, snakemake
from safetensors.torch import load_file

from ldmscale import cost, files, integrity, lora

pytestmark = pytest.mark.workflow
TARGETS = (
    "results/test/summary.parquet",
    "results/test/frontier/best_per_budget.csv",
)  # charts: tests/test_workflow.py


def distilled_config(lcm_dir, base_dir, lora_file, sdxl_dir, scale=1.0) -> dict:
    return {
        "models": [
            {
                "name": "tiny-sdxl",
                "local": {"path": str(sdxl_dir)},
                "samplers": ["ddim"],
                "steps": [1],
                "guidance": [2.0],
            },
            # The teacher relation is what is tested here, not the (random) weights.
            {
                "name": "tiny-lcm",
                "local": {"path": str(lcm_dir)},
                "steps": [1, 2],
                "guidance": [2.0],
                "distilled_from": "tiny-sdxl",
            },
            {
                "name": "tiny-lora",
                "base": {"local": {"path": str(base_dir)}},
                "lora": {"local": {"path": str(lora_file)}, "scale": scale},
                "steps": [1],
            },
        ],  # fmt: skip
        "samplers": ["lcm"],
        "steps": [2],
        "guidance": [1.0],
        "tasks": {
            "shapes": {"num_images": 4, "shard_size": 4, "batch_size": 4, "metrics": ["attr_acc"], "bootstrap": 20}
        },
        "cost": {"batch_sizes": [2], "latency_batch": 2, "repeats": 2, "warmup": 1},
    }


@pytest.fixture(scope="module")
def distilled_run(tmp_path_factory, tiny_lcm_pipeline_dir, tiny_pipeline_dir, tiny_lora, tiny_sdxl_pipeline_dir):
    work = tmp_path_factory.mktemp("distilled_run")
    config = distilled_config(tiny_lcm_pipeline_dir, tiny_pipeline_dir, tiny_lora, tiny_sdxl_pipeline_dir)
    snakemake(work, config, *TARGETS)
    return work, config


def test_distilled_and_sdxl_models_reach_the_summary_and_the_frontier(
    distilled_run, tiny_pipeline_dir, tiny_sdxl_pipeline_dir
):
    work, _ = distilled_run
    summary = pl.read_parquet(work / "results" / "test" / "summary.parquet")
    rows = {(r["model"], r["steps"], r["guidance"]): r for r in summary.iter_rows(named=True)}
    assert set(rows) == {("tiny-lcm", 1, 2.0), ("tiny-lcm", 2, 2.0), ("tiny-lora", 1, 1.0), ("tiny-sdxl", 1, 2.0)}
    # The LCM UNet embeds the guidance scale: one UNet call per step, no doubled batch, at guidance 2; SDXL doubles it.
    assert [(rows[k]["nfe"], rows[k]["cfg"]) for k in sorted(rows)] == [(1, False), (2, False), (1, False), (1, True)]
    sdxl = cost.count_flops(tiny_sdxl_pipeline_dir)
    assert rows[("tiny-sdxl", 1, 2.0)]["gflops_per_image"] == pytest.approx(cost.sampling_flops(sdxl, 1, True) / 1e9)
    assert all(0 <= r["attr_acc"] <= 1 for r in rows.values())
    # The fused LoRA model costs its base: same params and FLOPs.
    base = cost.count_flops(tiny_pipeline_dir)["unet"]
    assert rows[("tiny-lora", 1, 1.0)]["unet_params"] == base["params"]
    assert rows[("tiny-lora", 1, 1.0)]["unet_gflops"] == pytest.approx(base["flops_b1"] / 1e9)
    assert (work / "results" / "test" / "frontier" / "best_per_budget.csv").is_file()
    assert {r["model"]: r["distilled_from"] for r in rows.values()} == {
        "tiny-lcm": "tiny-sdxl", "tiny-lora": None, "tiny-sdxl": None
    }  # fmt: skip
    table = pl.read_csv(work / "results" / "test" / "frontier" / "distillation.csv")
    normalised = table.filter(pl.col("cost_axis") == "normalised_cost")
    assert sorted(normalised["steps"].to_list()) == [1, 2] and set(table["distilled_from"]) == {"tiny-sdxl"}
    assert set(normalised["teacher_catch_up_cost"].drop_nulls()) <= {rows[("tiny-sdxl", 1, 2.0)]["normalised_cost"]}
    assert "## Distilled models" in (work / "results" / "test" / "frontier" / "README.md").read_text()


def test_the_lora_model_is_its_base_with_the_lora_fused_and_recorded(distilled_run, tiny_pipeline_dir, tiny_lora):
    work, _ = distilled_run
    prepared = work / "resources" / "models" / "tiny-lora"
    record = files.read_json(prepared / lora.RECORD)
    assert record["sha256"] == integrity.sha256(tiny_lora) and record["scale"] == 1.0
    before, after = (
        load_file(d / "unet" / "diffusion_pytorch_model.safetensors") for d in (tiny_pipeline_dir, prepared)
    )
    assert set(before) == set(after) and any(not torch.equal(before[k], after[k]) for k in before)
    integrity.verify_checksums(prepared)
    assert not list(prepared.parent.glob(".*"))  # no scratch base or temporary left


def test_changing_the_lora_scale_reruns_only_the_lora_models_chain(distilled_run):
    work, config = distilled_run
    changed = copy.deepcopy(config)
    next(m for m in changed["models"] if m["name"] == "tiny-lora")["lora"]["scale"] = 0.5
    proc = snakemake(work, changed, "--dry-run", *TARGETS)
    assert planned_jobs(proc) == {"prepare_model": 1, "count_flops": 1, "profile_latency": 1, "generate": 1,
                                  "image_features": 1, "score": 1, "aggregate": 1, "scaling": 1, "frontier": 1}  # fmt: skip
    assert (
        "model=tiny-lora" in proc.stdout
        and "model=tiny-lcm" not in proc.stdout
        and "model=tiny-sdxl" not in proc.stdout
    )


def test_adding_a_sampler_to_the_distilled_model_reruns_only_its_jobs(distilled_run):
    work, config = distilled_run
    changed = copy.deepcopy(config)
    next(m for m in changed["models"] if m["name"] == "tiny-lcm")["samplers"] = ["lcm", "tcd"]
    proc = snakemake(work, changed, "--dry-run", *TARGETS)
    assert planned_jobs(proc) == {"generate": 2, "image_features": 2, "score": 2, "aggregate": 1, "scaling": 1,
                                  "frontier": 1}  # fmt: skip
    assert "model=tiny-lcm" in proc.stdout and "model=tiny-lora" not in proc.stdout and "sampler=tcd" in proc.stdout
