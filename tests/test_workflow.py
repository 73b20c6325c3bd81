"""Snakemake end to end on the tiny config: incremental reruns and image invariance."""

import re
import shutil

import numpy as np
import pytest
import yaml
from helpers import ROOT, planned_jobs, snakemake, tiny_config

from ldmscale import files
from ldmscale.images import load_images, read_manifest

pytestmark = pytest.mark.workflow
CONFIG_DIR = "results/test/samples/shapes/tiny-a/ddim/s2_g2"
# After any new score: the summary, the scaling laws, the frontier tables, every chart (one job per metric draws its 3
# cost axes × 2 kinds, steps, training compute, the scaling law and the optimal size) and the sample grid whose cells
# changed.
DOWNSTREAM = {"aggregate": 1, "scaling": 1, "frontier": 1, "charts": 2, "sample_grid": 1, "all": 1}


@pytest.fixture
def finished(tiny_run):
    """A directory where the tiny workflow has run to the end (the session's one run: never change its outputs)."""
    return tiny_run


def test_outputs_exist_and_are_complete(finished):
    assert (finished / "results/test/summary.parquet").is_file()
    assert (finished / "results/test/frontier/attr_acc__normalised_cost.png").read_bytes()[:4] == b"\x89PNG"
    assert (
        (finished / "results/test/frontier/best_per_budget.csv").read_text().startswith("task,metric,cost_axis,budget")
    )
    readme = (finished / "results/test/frontier/README.md").read_text()
    made = r"Made from the config \S+test.yaml \(SHA-256 .*: [0-9a-f]{64}\) by ldmscale at commit ([0-9a-f]{40}"
    assert re.search(made + r"(\+dirty)?|unknown \(not a git checkout\))\.\n$", readme), readme[-400:]
    assert (finished / "results/test/logs/train_unet/tiny-a.log").is_file()
    images, records = load_images([finished / CONFIG_DIR / "shard0", finished / CONFIG_DIR / "shard1"])
    assert images.shape == (8, 32, 32, 3) and [r["index"] for r in records] == list(range(8))
    assert not list(finished.rglob(".*.tmp-*"))
    assert (finished / "results/test/frontier/README.md").read_text().startswith("# What the frontier says")
    html = (finished / "results/test/frontier/attr_acc__normalised_cost__winners.html").read_text()
    assert not re.search(r"<script[^>]*\ssrc=", html) and "https://cdn" not in html


def test_report_holds_every_plot_grid_and_the_summary(finished):
    proc = snakemake(finished, tiny_config(), "--report", "report.html")
    assert not re.findall(r".*\((?:WARNING|ERROR|SEVERE)/\d\).*", proc.stderr + proc.stdout)  # docutils, on captions
    report = (finished / "report.html").read_text()
    shown = sorted(finished.glob("results/test/frontier/**/*.png")) + [finished / "results/test/frontier/README.md"]
    assert len(shown) == 20 + 1 + 1  # charts, the grid, the summary
    missing = [p.name for p in shown if p.name not in report]
    assert not missing, f"not in the report: {missing}"


def test_second_run_has_nothing_to_do(finished):
    assert planned_jobs(snakemake(finished, tiny_config(), "--dry-run")) == {}


def test_another_experiment_writes_into_its_own_folder_and_the_first_stays_done(finished):
    other = tiny_config(experiment="other")
    other["tasks"]["shapes"]["num_images"] = 4  # the same task and paths, other params: shared, it would rerun all
    snakemake(finished, other, "results/other/tasks/shapes/prompts.json")
    assert len(files.read_json(finished / "results/other/tasks/shapes/prompts.json")["items"]) == 4
    assert (finished / "results/other/logs/prepare_task/shapes.log").is_file()
    assert len(files.read_json(finished / "results/test/tasks/shapes/prompts.json")["items"]) == 8
    assert planned_jobs(snakemake(finished, tiny_config(), "--dry-run")) == {}
    jobs = planned_jobs(snakemake(finished, other, "--dry-run"))
    assert jobs["generate"] == 2 * 2 * 1 and "prepare_task" not in jobs  # its own chain, its prompts already made


def test_adding_a_sampler_schedules_only_its_jobs(finished):
    jobs = planned_jobs(snakemake(finished, tiny_config(samplers=["ddim", "euler"]), "--dry-run"))
    assert jobs == {"generate": 2 * 2 * 2, "image_features": 2 * 2, "score": 2 * 2 * 2, **DOWNSTREAM}


def test_adding_a_sampler_to_one_model_schedules_only_that_models_jobs(finished):
    models = [
        {"name": "tiny-a", "toy": {"width": 8}},
        {"name": "tiny-b", "toy": {"width": 16}, "samplers": ["ddim", "lcm"]},
    ]
    proc = snakemake(finished, tiny_config(models=models), "--dry-run")
    assert planned_jobs(proc) == {"generate": 2 * 2, "image_features": 2, "score": 2 * 2, **DOWNSTREAM}
    assert "model=tiny-b" in proc.stdout and "model=tiny-a" not in proc.stdout
    assert "results/test/frontier/grids/shapes/lcm_g2.png" in proc.stdout  # the new sampler's grid; ddim's is unchanged


def test_adding_a_step_count_schedules_only_its_jobs(finished):
    jobs = planned_jobs(snakemake(finished, tiny_config(steps=[2, 3]), "--dry-run"))
    assert jobs == {"generate": 8, "image_features": 4, "score": 8, **DOWNSTREAM}


def test_changing_one_width_reruns_only_that_models_chain(finished):
    models = [{"name": "tiny-a", "toy": {"width": 8}}, {"name": "tiny-b", "toy": {"width": 24}}]
    proc = snakemake(finished, tiny_config(models=models), "--dry-run")
    jobs = planned_jobs(proc)
    assert jobs == {
        "train_unet": 1, "prepare_model": 1, "count_flops": 1, "profile_latency": 1,
        "generate": 4, "image_features": 2, "score": 4, **DOWNSTREAM,
    }  # fmt: skip
    assert "model=tiny-b" in proc.stdout and "model=tiny-a" not in proc.stdout


def test_a_toy_student_is_distilled_from_its_teacher_and_only_its_chain_runs(finished, tmp_path):
    student = {"name": "tiny-a-lcm", "toy": {"width": 8}, "distilled_from": "tiny-a", "samplers": ["lcm"],
               "steps": [1, 2], "guidance": [2.0]}  # fmt: skip
    config = tiny_config(models=[*tiny_config()["models"], student])
    proc = snakemake(finished, config, "--dry-run")
    assert planned_jobs(proc) == {
        "distill_unet": 1, "prepare_model": 1, "count_flops": 1, "profile_latency": 1,
        "generate": 2 * 2, "image_features": 2, "score": 2 * 2, **DOWNSTREAM,
    }  # fmt: skip
    work = tmp_path / "work"
    shutil.copytree(finished, work, symlinks=True)
    snakemake(work, config, "results/test/models/tiny-a-lcm/distill.json")
    record = yaml.safe_load((work / "results/test/models/tiny-a-lcm/distill.json").read_text())
    teacher = yaml.safe_load((work / "results/test/models/tiny-a/train.json").read_text())
    assert record["train_flops"] == teacher["train_flops"] + record["distill_flops"] > teacher["train_flops"]
    assert (
        yaml.safe_load((work / "results/test/models/tiny-a-lcm/unet/config.json").read_text())["time_cond_proj_dim"]
        == 16
    )


def test_a_predicted_size_is_counted_and_never_trained_generated_or_scored(finished):
    """predict: true: it is prepared and costed like any member (its pipeline: tests/test_toy_predicted.py); nothing
    is trained or sampled, and only the cost table and the scaling law (and what reads it) run again."""
    config = tiny_config(models=[*tiny_config()["models"], {"name": "tiny-c", "toy": {"width": 32}, "predict": True}])
    proc = snakemake(finished, config, "--dry-run")
    assert planned_jobs(proc) == {
        "prepare_model": 1, "count_flops": 1, "profile_latency": 1, "cost_table": 1,
        "scaling": 1, "frontier": 1, "charts": 2, "all": 1,
    }  # fmt: skip


def test_lint_is_clean(tmp_path):
    proc = snakemake(tmp_path, tiny_config(), "--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Lints for" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def _images(workdir, shards):
    return load_images([workdir / CONFIG_DIR / f"shard{k}" for k in range(shards)])[0]


def _hashes(workdir, shards):
    """Return (index, SHA-256) of every image the shards' manifests list, in index order."""
    manifests = [read_manifest(workdir / CONFIG_DIR / f"shard{k}") for k in range(shards)]
    return sorted((r["index"], r["sha256"]) for m in manifests for r in m["images"])


def test_images_identical_in_one_shard_or_several_and_close_at_any_batch_size(finished, tmp_path):
    two_shards = _images(finished, 2)
    target = f"{CONFIG_DIR}/shard0"
    work = tmp_path / "resharded"
    shutil.copytree(finished, work, ignore=shutil.ignore_patterns("samples", "scores", ".snakemake"))
    one = tiny_config()
    one["tasks"]["shapes"].update(shard_size=8, batch_size=4)
    snakemake(work, one, target)
    assert np.array_equal(_images(work, 1), two_shards)
    assert _hashes(work, 1) == _hashes(finished, 2)  # the PNG files themselves, byte for byte

    one["tasks"]["shapes"].update(batch_size=2)
    snakemake(work, one, target)
    other_batch = _images(work, 1).astype(int)
    assert np.abs(other_batch - two_shards).max() <= 2 and (other_batch != two_shards).mean() < 0.01


def test_default_experiment_uses_the_shipped_family_and_trains_nothing(tmp_path):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    jobs = planned_jobs(snakemake(tmp_path, config, "--dry-run"))
    per_model = len(config["samplers"]) * len(config["steps"]) * len(config["guidance"])
    configs, predicted = len(config["models"]) * per_model, sum(bool(m.get("predict")) for m in config["models"])
    assert predicted, "the default experiment shows a size nobody trained"
    assert not {"train_unet", "toy_text_encoder", "toy_autoencoder", "toy_scorer"} & jobs.keys(), jobs
    assert jobs["prepare_model"] == len(config["models"]) and jobs["generate"] == configs - predicted * per_model
