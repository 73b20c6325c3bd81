"""Faults: a generate job killed mid-shard, a corrupt image, a broken model directory, two workflows on one directory."""

import os
import shutil
import signal
import subprocess
import time

import pytest
import yaml
from helpers import ROOT, snakemake, snakemake_command, tiny_config

from ldmscale import features, files, generate, integrity, models, tasks
from ldmscale.images import MANIFEST, read_manifest
from ldmscale.toy import nets

CONFIG_DIR = "results/test/samples/shapes/c8/ddim/s8_g1"
SHARDS = [f"{CONFIG_DIR}/shard{k}" for k in range(2)]
SCORE = "results/test/scores/shapes/c8/ddim/s8_g1/attr_acc.json"


def shipped_config() -> dict:
    """The tiny task on the shipped c8 (nothing to train): 2 shards of 4 images, one batch per image.

    Batches of one image and 8 steps make a shard last long enough for the test to catch it half done.
    """
    config = tiny_config(
        train_toy=False,
        toy=yaml.safe_load((ROOT / "config.yaml").read_text())["toy"],
        models=[{"name": "c8", "toy": {"width": 8}}],
        steps=[8],
        guidance=[1.0],
    )
    config["tasks"]["shapes"].update(num_images=8, shard_size=4, batch_size=1, metrics=["attr_acc"])
    return config


def wait_for(pattern: str, workdir, proc: subprocess.Popen, timeout: float = 300):
    """Return the first path matching `pattern` under `workdir` once it exists; fail if `proc` ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(workdir.glob(pattern))
        if found:
            return found[0]
        if proc.poll() is not None:
            pytest.fail(f"snakemake ended ({proc.returncode}) before {pattern} appeared")
        time.sleep(0.02)
    pytest.fail(f"{pattern} did not appear within {timeout} s")


def output_text(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory):
    """Kill a run with SIGKILL while a generate job is half way through a shard, then resume it.

    Returns what was seen on the way: the directory, the half-written shard, the answers of a second
    workflow started on the same directory (while the first was alive, and after it was killed).
    """
    config = shipped_config()
    work = tmp_path_factory.mktemp("killed")
    seen = {"work": work}
    # Its own session, so that killing its process group kills Snakemake and its jobs, as a lost node would.
    first = subprocess.Popen(snakemake_command(work, config, *SHARDS), cwd=work, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for(f"{CONFIG_DIR}/.shard*.tmp-*/000*.png", work, first)  # a shard with some of its images written
        os.killpg(first.pid, signal.SIGSTOP)
        seen["half_done"] = [p for p in work.glob(f"{CONFIG_DIR}/.shard*.tmp-*") if not (p / MANIFEST).exists()]
        seen["while_running"] = snakemake(work, config, *SHARDS, check=False)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    seen["after_kill"] = snakemake(work, config, *SHARDS, check=False)
    seen["complete_after_kill"] = [shard for shard in SHARDS if (work / shard).exists()]
    snakemake(work, config, "--unlock")
    seen["resumed"] = snakemake(work, config, "--rerun-incomplete", *SHARDS)  # as the profiles do
    return seen


@pytest.mark.workflow
def test_killed_generate_job_leaves_no_complete_looking_output(killed_and_resumed):
    seen = killed_and_resumed
    half_done = [f"{CONFIG_DIR}/{tmp.name.removeprefix('.').split('.tmp-')[0]}" for tmp in seen["half_done"]]
    assert half_done, "no shard was caught half written"
    assert not set(half_done) & set(seen["complete_after_kill"])  # the images stayed in the temporary directory
    for shard in SHARDS:  # the resumed run regenerated exactly the shards that were not complete
        assert (shard in output_text(seen["resumed"])) == (shard not in seen["complete_after_kill"]), shard
    assert not list(seen["work"].rglob(".*.tmp-*")), "the resumed run left a dead job's temporaries"


@pytest.mark.workflow
def test_a_second_workflow_on_the_same_directory_is_refused_by_the_lock(killed_and_resumed):
    for name in ("while_running", "after_kill"):  # a live run's lock, and the one a killed run left behind
        proc = killed_and_resumed[name]
        assert proc.returncode != 0 and "Directory cannot be locked" in output_text(proc), (name, output_text(proc))
    assert "--unlock" in output_text(killed_and_resumed["after_kill"])


@pytest.mark.workflow
def test_resumed_images_equal_an_uninterrupted_runs(killed_and_resumed, tmp_path):
    uninterrupted = tmp_path / "uninterrupted"  # the same prepared model and prompts, the shards generated anew
    shutil.copytree(killed_and_resumed["work"], uninterrupted, ignore=shutil.ignore_patterns("samples", ".snakemake"))
    snakemake(uninterrupted, shipped_config(), *SHARDS)
    for shard in SHARDS:
        resumed = read_manifest(killed_and_resumed["work"] / shard)["images"]
        assert resumed == read_manifest(uninterrupted / shard)["images"]  # names, SHA-256, prompts, seeds


@pytest.mark.workflow
def test_truncated_image_fails_the_scoring_jobs_naming_the_file(killed_and_resumed, tmp_path):
    work = tmp_path / "corrupt"
    shutil.copytree(killed_and_resumed["work"], work, ignore=shutil.ignore_patterns(".snakemake"))
    victim = work / SHARDS[1] / "000006.png"
    victim.write_bytes(victim.read_bytes()[:-20])
    proc = snakemake(work, shipped_config(), SCORE, check=False)
    assert proc.returncode != 0 and not (work / SCORE).exists()
    # Scores read cached features: the job that reads the images, and must refuse the corrupt one, is image_features.
    log = (
        work / SCORE.replace("/scores/", "/logs/image_features/").replace("attr_acc.json", "toy-scorer.log")
    ).read_text()
    assert f"{victim.relative_to(work)}: SHA-256 differs" in log


def test_scoring_features_checks_every_image_against_the_manifest(tiny_pipeline, tiny_parts, tmp_path):
    doc = tasks.prompts({"toy": {"seed": 1}}, 4)
    prompts = {item["index"]: item["prompt"] for item in doc["items"]}
    generate.generate_shard(tiny_pipeline, tmp_path / "shard0", prompts, range(4), 0, "ddim", 2, 1.0, 2, 32)
    (tmp_path / "shard0" / "000002.png").write_bytes(b"")
    toy_options = {"batch_size": 4, "toy": {"scorer": str(tiny_parts["scorer"])}}
    with pytest.raises(ValueError, match=r"shard0/000002.png: SHA-256 differs from .*manifest.json"):
        features.generated_features([str(tmp_path / "shard0")], doc, "toy", toy_options, "cpu")
    (tmp_path / "shard0" / "000002.png").unlink()
    with pytest.raises(ValueError, match=r"shard0/000002.png: listed in .*manifest.json but missing"):
        features.generated_features([str(tmp_path / "shard0")], doc, "toy", toy_options, "cpu")


def test_a_dead_jobs_temporary_is_removed_by_the_next_write(tmp_path):
    dead = tmp_path / ".out.json.tmp-999999"
    dead.mkdir()
    files.write_json(tmp_path / "out.json", {"a": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


@pytest.fixture
def toy_parts(tiny_parts, tmp_path):
    """A writable copy of the toy parts prepare_model assembles (as shipped: with their checksums)."""
    return {part: shutil.copytree(path, tmp_path / part) for part, path in tiny_parts.items()}


def assemble(parts, out):
    nets.assemble(out, parts["unet"], parts["vae"], parts["text"])


def test_prepare_model_names_a_missing_weight_file(toy_parts, tmp_path):
    (toy_parts["vae"] / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(ValueError, match=r"vae: files missing .*: diffusion_pytorch_model.safetensors \(missing\)$"):
        assemble(toy_parts, tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_prepare_model_names_a_corrupted_weight_file(toy_parts, tmp_path):
    weights = toy_parts["text"] / "text_encoder" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit pattern in the last tensor: the header still parses
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"recorded: text_encoder/model.safetensors$"):
        assemble(toy_parts, tmp_path / "model")


def test_prepare_model_refuses_parts_without_checksums(toy_parts, tmp_path):
    (toy_parts["unet"] / integrity.CHECKSUMS).unlink()
    with pytest.raises(ValueError, match=f"unet: no {integrity.CHECKSUMS}, so its files cannot be verified"):
        assemble(toy_parts, tmp_path / "model")


@pytest.fixture
def local_source(tiny_pipeline_dir, tmp_path):
    """A writable copy of a prepared pipeline directory, as a `local:` model source."""
    return shutil.copytree(tiny_pipeline_dir, tmp_path / "source")


def test_local_model_without_weights_is_refused(local_source, tmp_path):
    (local_source / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(ValueError, match=r"source/unet: no .safetensors weights"):
        models.copy_local(local_source, tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_local_model_with_changed_weights_is_refused_by_its_checksums(local_source, tmp_path):
    weights = local_source / "unet" / "diffusion_pytorch_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"recorded: unet/diffusion_pytorch_model.safetensors$"):
        models.copy_local(local_source, tmp_path / "model")
