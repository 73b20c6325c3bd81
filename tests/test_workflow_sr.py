"""The super-resolution chain end to end: tiny x4-upscaler and LDM-SR pipelines, built from parts and saved locally,
and a toy SR member trained by the workflow upscale degraded crops; PSNR, SSIM, LPIPS and FID reach the summary and
the frontier."""

import shutil

import numpy as np
import polars as pl
import pytest
from helpers import ROOT, planned_jobs, snakemake, tiny_config
from PIL import Image

from ldmscale import files, sr
from ldmscale.images import load_images
from ldmscale.toy import DATA_VERSION

pytestmark = pytest.mark.workflow
TOY = f"results/test/toy/v{DATA_VERSION}"  # where the workflow keeps the toy family's parts it trains
# Every rerun trigger but code: the copied parts have no record of the code that made them, which the code trigger
# would read as changed code, and train them again
NOT_CODE = ("--rerun-triggers", "mtime", "params", "input", "software-env")
GRID = "results/test/frontier/grids/div/ddim_g1.png"
TARGETS = ("results/test/summary.parquet", "results/test/frontier/best_per_budget.csv", GRID)
METRICS = ("psnr", "ssim", "lpips", "fid")


@pytest.fixture(scope="module")
def lpips_weights(tmp_path_factory):
    """LPIPS-alex weights made by ldmscale's converter from a random AlexNet (torchvision's ImageNet weights are a
    download) and torchmetrics' linear layers."""
    import torch
    import torchvision

    from ldmscale import paired

    root = tmp_path_factory.mktemp("lpips")
    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), root / "alexnet.pth")
    paired.convert_lpips(root / "alexnet.pth", root / "lpips-alex.safetensors")
    return root / "lpips-alex.safetensors"


def sr_config(upscaler, ldm_sr, images, inception, lpips) -> dict:
    return {
        "models": [
            {"name": "x4", "local": {"path": str(upscaler)}},
            {"name": "ldm", "local": {"path": str(ldm_sr)}},
            {"name": "toy-sr", "toy": {"width": 8, "kind": "super_resolution"}},  # trained here, tiny recipe
        ],
        "train_toy": True,
        "toy": {k: v for k, v in tiny_config()["toy"].items() if k in ("seed", "text_encoder", "autoencoder", "unet")},
        "samplers": ["ddim"],
        "steps": [2],
        "guidance": [1.0],
        "tasks": {
            "div": {
                "kind": "super_resolution",
                "super_resolution": {"images": str(images), "crop": 32, "degradation": "realesrgan", "seed": 1},
                "num_images": 6, "shard_size": 6, "batch_size": 3, "metrics": list(METRICS), "bootstrap": 20,
            }
        },  # fmt: skip
        "metrics": {"batch_size": 4, "inception": {"feature_extractor_weights_path": str(inception)}, "lpips": {"weights": str(lpips)}},
        "cost": {"batch_sizes": [2], "latency_batch": 2, "repeats": 2, "warmup": 1, "end_to_end": []},
    }  # fmt: skip


@pytest.fixture(scope="module")
def sr_run(tmp_path_factory, tiny_upscaler_dir, tiny_ldm_sr_dir, inception_weights, lpips_weights):
    root = tmp_path_factory.mktemp("sr_run")
    # the shipped toy text encoder and autoencoder, where the workflow trains them: only the SR member trains here
    # (not the tiny run's parts, so that this module runs beside the tiny run's group rather than after it)
    for part in ("text", "vae"):
        shutil.copytree(ROOT / "resources" / "toy" / f"v{DATA_VERSION}" / part, root / "work" / TOY / part)
    (root / "hr").mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(root / "hr" / f"{i:04d}.png")
    config = sr_config(tiny_upscaler_dir, tiny_ldm_sr_dir, root / "hr", inception_weights, lpips_weights)
    snakemake(root / "work", config, *TARGETS, *NOT_CODE)
    return root / "work", config


def test_psnr_ssim_lpips_and_fid_reach_the_summary_and_the_frontier(sr_run):
    work, config = sr_run
    summary = pl.read_parquet(work / "results" / "test" / "summary.parquet")
    assert sorted(summary["model"].unique()) == ["bicubic", "ldm", "toy-sr", "x4"] and summary.height == 4
    assert summary["guidance"].unique().to_list() == [1.0] and not summary["cfg"].any()
    for metric in METRICS:
        assert summary[metric].is_not_null().all(), metric
        result = files.read_json(
            work / "results" / "test" / "scores" / "div" / "x4" / "ddim" / "s2_g1" / f"{metric}.json"
        )
        assert result["n"] == 6 and result["ci_low"] <= result["value"] <= result["ci_high"], result
    # every output is paired with its own ground truth: PSNR recomputed here from the files
    doc = files.read_json(work / "results" / "test" / "tasks" / "div" / "prompts.json")
    images, records = load_images([work / "results" / "test" / "samples" / "div" / "ldm" / "ddim" / "s2_g1" / "shard0"])
    truths = np.stack([sr.ground_truth(doc, r["index"]) for r in records])
    mse = ((images.astype(float) - truths) ** 2).mean((1, 2, 3))
    psnr = files.read_json(work / "results" / "test" / "scores" / "div" / "ldm" / "ddim" / "s2_g1" / "psnr.json")
    np.testing.assert_allclose(psnr["per_image"], 10 * np.log10(255**2 / mse), rtol=1e-6)
    assert (work / "results" / "test" / "frontier" / "best_per_budget.csv").is_file()
    # the bicubic baseline (on by default): the inputs upscaled by PIL, scored like a model, at zero cost
    lows = sr.inputs(doc, range(6))
    direct = np.stack([np.asarray(Image.fromarray(x).resize((32, 32), Image.Resampling.BICUBIC)) for x in lows])
    truths = np.stack([sr.ground_truth(doc, i) for i in range(6)])
    mse = ((direct.astype(float) - truths) ** 2).mean((1, 2, 3))
    bicubic = files.read_json(work / "results/test/scores/div/bicubic/baseline/s0_g1/psnr.json")
    np.testing.assert_allclose(bicubic["per_image"], 10 * np.log10(255**2 / mse), rtol=1e-6)
    row = summary.filter(pl.col("model") == "bicubic").row(0, named=True)
    assert row["baseline"] and row["normalised_cost"] == 0 and row["psnr"] == pytest.approx(bicubic["value"])
    assert "## Against the baselines" in (work / "results/test/frontier/README.md").read_text()
    record = files.read_json(work / "results" / "test" / "models" / "toy-sr" / "train.json")
    assert record["task"] == "super_resolution" and record["train_flops"] > 0


def test_the_sample_grid_shows_each_input_and_its_ground_truth_above_the_models_rows(sr_run):
    from PIL import ImageFont

    from ldmscale import grids

    work, config = sr_run
    doc = files.read_json(work / "results" / "test" / "tasks" / "div" / "prompts.json")
    canvas = np.asarray(Image.open(work / GRID).convert("RGB"))
    font = ImageFont.load_default(size=grids.LABEL_PX)
    rows = ["input", "ground truth", "bicubic", *(m["name"] for m in config["models"])]
    left = max(int(font.getlength(r)) for r in rows) + 2 * grids.MARGIN
    cell, header = 96, grids.LABEL_PX + 2 * grids.MARGIN  # the default cell side: a 32-pixel crop drawn 3× (nearest)
    for n in range(4):
        top, x = header + (cell + grids.MARGIN), left + n * cell  # second row, first column, image n
        truth = sr.ground_truth(doc, n).repeat(3, axis=0).repeat(3, axis=1)
        np.testing.assert_array_equal(canvas[top : top + cell, x : x + cell], truth)
        bicubic = sr.baseline(doc, [n], "bicubic")[0].repeat(3, axis=0).repeat(3, axis=1)  # the third row
        below = top + cell + grids.MARGIN
        np.testing.assert_array_equal(canvas[below : below + cell, x : x + cell], bicubic)


def test_a_guidance_scale_is_refused_for_a_task_without_text(sr_run, tmp_path):
    work, config = sr_run
    proc = snakemake(tmp_path, {**config, "guidance": [1.0, 4.0]}, "--dry-run", check=False)
    assert proc.returncode != 0 and "a super_resolution task has no text" in proc.stdout + proc.stderr
    # changing the degradation reruns the task and everything after it, not the models' costs
    changed = {**config, "tasks": {"div": {**config["tasks"]["div"]}}}
    changed["tasks"]["div"]["super_resolution"] = {
        **changed["tasks"]["div"]["super_resolution"],
        "degradation": "bicubic",
    }
    jobs = planned_jobs(snakemake(work, changed, "--dry-run", *TARGETS, *NOT_CODE))
    assert "prepare_task" in jobs and "count_flops" not in jobs and "profile_latency" not in jobs
