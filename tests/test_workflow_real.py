"""Snakemake end to end on real-data settings: a local pipeline, a prompt file, an image folder, FID/KID/CLIP/CMMD."""

import json

import numpy as np
import polars as pl
import pytest
import yaml
from helpers import ROOT, planned_jobs, snakemake
from PIL import Image

from ldmscale import features, files, integrity

pytestmark = pytest.mark.workflow
METRICS = ("fid", "kid", "clip_score", "cmmd")
CONFIG_DIR = "results/test/scores/real/tiny-local/ddim/s2_g2"
# The chain up to the frontier tables; the charts and grids are the same code for any metric (tests/test_workflow.py).
TARGETS = ("results/test/summary.parquet", "results/test/frontier/best_per_budget.csv")


@pytest.fixture(scope="module")
def real_run(tmp_path_factory, tiny_pipeline_dir, inception_weights, tiny_clip):
    """A directory where the real-data chain has run to the end, and its config."""
    root = tmp_path_factory.mktemp("real_run")
    pl.DataFrame(
        {"caption": [f"a {c} square left of a circle" for c in ("red", "green", "blue", "white")] * 3}
    ).write_csv(root / "prompts.csv")
    (root / "images").mkdir()
    rng = np.random.default_rng(0)
    for i in range(10):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(root / "images" / f"real{i}.png")
    text = (ROOT / "tests" / "data" / "real.yaml").read_text()
    for key, value in {
        "PATH_PIPELINE": tiny_pipeline_dir, "PATH_PROMPTS": root / "prompts.csv", "PATH_IMAGES": root / "images",
        "PATH_INCEPTION": inception_weights, "PATH_CLIP_CONFIG": tiny_clip["model_config"], "PATH_CLIP": tiny_clip["pretrained"],
    }.items():  # fmt: skip
        text = text.replace(key, str(value))
    config = yaml.safe_load(text)
    snakemake(root / "work", config, *TARGETS)
    return root / "work", config


def test_every_metric_is_scored_with_an_interval_and_reaches_the_frontier(real_run):
    work, _ = real_run
    for metric in METRICS:
        result = files.read_json(work / CONFIG_DIR / f"{metric}.json")
        assert result["n"] == 6 and result["ci_low"] <= result["value"] <= result["ci_high"], result
        assert np.isfinite(result["value"]) and result["extractor"].startswith(
            "clip-" if "c" in metric[0] else "inception-"
        )
    assert files.read_json(work / CONFIG_DIR / "fid.json")["value"] > 0
    summary = pl.read_parquet(work / "results" / "test" / "summary.parquet")
    assert summary.height == 2 and all(summary[m].is_not_null().all() for m in METRICS)
    assert (work / "results" / "test" / "frontier" / "best_per_budget.csv").is_file()


def test_task_records_its_sources_and_reference_features_are_cached_by_extractor_and_n(real_run):
    work, config = real_run
    task = files.read_json(work / "results" / "test" / "tasks" / "real" / "prompts.json")
    assert task["file"]["sha256"] == integrity.sha256(config["tasks"]["real"]["prompts"]["file"]["path"])
    assert len(task["items"]) == 6 and len(task["reference"]["files"]) == 6
    inception, meta = features.load(
        work / "results" / "test" / "reference" / "real" / "inception-tf1" / "n6.safetensors"
    )
    assert inception["images"].shape == (6, 2048) and meta["weights_sha256"] == integrity.sha256(
        config["metrics"]["inception"]["feature_extractor_weights_path"]
    )
    clip, _ = features.load(
        work / "results" / "test" / "features" / "real" / "tiny-local" / "ddim" / "s2_g1" / "clip-tiny-clip.safetensors"
    )
    assert clip["images"].shape == clip["texts"].shape == (6, 16)


def test_changing_kid_settings_reruns_only_kid(real_run):
    work, config = real_run
    changed = {**config, "metrics": {**config["metrics"], "kid": {"subsets": 7}}}
    jobs = planned_jobs(snakemake(work, changed, "--dry-run", *TARGETS))
    assert jobs.get("score") == 2 and "reference_features" not in jobs and "image_features" not in jobs


def test_the_local_coco_example_plans_its_sweep_once_its_files_are_set(
    tmp_path, tiny_pipeline_dir, monkeypatch, capsys
):
    """config/examples/local-coco.yaml with every SET path pointed at a tiny stand-in: the check passes and the dry
    run plans 2 models × 2 samplers × 4 steps × 3 guidance scales, 10 shards of 500 images each, FID and CLIP score."""
    from safetensors.numpy import save_file

    from ldmscale import cli

    captions = tmp_path / "captions.json"
    captions.write_text(
        json.dumps({"annotations": [{"id": i, "image_id": i, "caption": f"c {i}"} for i in range(5000)]})
    )
    (tmp_path / "val2014").mkdir()
    save_file({"w": np.zeros(1, np.float32)}, str(tmp_path / "weights.safetensors"))  # the check opens headers only
    text = (ROOT / "config" / "examples" / "local-coco.yaml").read_text()
    set_lines = [line for line in text.splitlines() if "# SET" in line]
    for old, new in {
        "/data/pipelines/mine-small": tiny_pipeline_dir, "/data/pipelines/mine-large": tiny_pipeline_dir,
        "/data/coco/annotations/captions_val2014.json": captions, "/data/coco/val2014": tmp_path / "val2014",
        "/data/weights/inception-2015-12-05.safetensors": tmp_path / "weights.safetensors",
        "/data/weights/clip-vit-l-14-336-openai.safetensors": tmp_path / "weights.safetensors",
    }.items():  # fmt: skip
        assert old in text
        text = text.replace(old, str(new))
    assert len(set_lines) == 6 and "/data/" not in text  # every path a user must set is marked, and no other
    jobs = planned_jobs(snakemake(tmp_path / "work", yaml.safe_load(text), "--dry-run"))
    configurations = 2 * 2 * 4 * 3
    assert jobs["generate"] == configurations * 10 and jobs["score"] == configurations * 2
    assert jobs["prepare_model"] == 2 and jobs["reference_features"] == 1
    (tmp_path / "local-coco.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["plan", "local-coco.yaml", "--count", "--gpus", "2"]) == 0
    out = capsys.readouterr().out
    assert f"| all | {configurations} | {configurations * 5000} | 480 / 96 / 96 |" in out
    assert (
        "counted the FLOPs of mine-small on the meta device" in out
        and "| all | 48 | 240000 | 480 / 96 / 96 | – |" not in out
    )
