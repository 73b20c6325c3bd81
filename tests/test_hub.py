"""Hub models through a real Hugging Face cache layout, served offline: no network, the code a real run uses."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest
import yaml
from helpers import ROOT, snakemake, tiny_config

from ldmscale import files, integrity, models

REPO, REVISION = "tiny-org/tiny-sd", "0123456789abcdef0123456789abcdef01234567"


def lay_out_cache(cache, pipeline_dir, repo_id=REPO, revision=REVISION):
    """Return the snapshot folder of `pipeline_dir` laid out as huggingface_hub caches a download.

    Blobs are named by their content hash, SHA-256 for large (LFS) files as on the hub, git's SHA-1 for the
    rest; the snapshot holds relative symlinks to them and refs/main names the commit.
    """
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision
    for path in sorted(pipeline_dir.rglob("*")):
        if not path.is_file() or path.name == integrity.CHECKSUMS:
            continue
        data = path.read_bytes()
        lfs = path.suffix in (".safetensors", ".bin")
        digest = hashlib.sha256(data).hexdigest() if lfs else hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        blob = repo / "blobs" / digest
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = snapshot / path.relative_to(pipeline_dir)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    return snapshot


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    """An empty Hugging Face cache, with the hub switched off as HF_HUB_OFFLINE=1 does."""
    from huggingface_hub import constants

    cache = tmp_path / "hf" / "hub"
    cache.mkdir(parents=True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def test_hub_model_comes_from_the_cache_with_only_safetensors_and_checksums(offline_cache, tiny_pipeline_dir, tmp_path):
    snapshot = lay_out_cache(offline_cache, tiny_pipeline_dir)
    (snapshot / "unet" / "diffusion_pytorch_model.bin").write_bytes(b"a pickle that must stay behind")
    models.fetch_hub(REPO, REVISION, tmp_path / "model")
    out = tmp_path / "model"
    assert not list(out.rglob("*.bin"))
    sums = files.read_json(out / integrity.CHECKSUMS)
    weights = "unet/diffusion_pytorch_model.safetensors"
    assert sums[weights] == integrity.sha256(tiny_pipeline_dir / weights)
    assert set(sums) == {
        str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != integrity.CHECKSUMS
    }
    assert models.load_pipeline(out).unet.config.block_out_channels == [8, 16, 32]


def test_changed_file_is_named_when_the_model_is_used(offline_cache, tiny_pipeline_dir, tmp_path):
    lay_out_cache(offline_cache, tiny_pipeline_dir)
    models.fetch_hub(REPO, REVISION, tmp_path / "model")
    weights = tmp_path / "model" / "vae" / "diffusion_pytorch_model.safetensors"
    data = weights.read_bytes()
    weights.unlink()  # a hard link into the cache: replace the file, do not write through it
    weights.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(
        ValueError, match="changed since their checksums were recorded: vae/diffusion_pytorch_model.safetensors"
    ):
        models.load_pipeline(tmp_path / "model")


def test_corrupt_cached_blob_is_refused(offline_cache, tiny_pipeline_dir, tmp_path):
    snapshot = lay_out_cache(offline_cache, tiny_pipeline_dir)
    blob = (snapshot / "unet" / "diffusion_pytorch_model.safetensors").resolve()
    blob.write_bytes(blob.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(ValueError, match="unet/diffusion_pytorch_model.safetensors: cached file is corrupt"):
        models.fetch_hub(REPO, REVISION, tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_repo_with_pickle_weights_only_is_refused(offline_cache, tiny_pipeline_dir, tmp_path):
    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_pipeline_dir, pickled)
    weights = pickled / "unet" / "diffusion_pytorch_model.safetensors"
    weights.rename(weights.with_suffix(".bin"))
    lay_out_cache(offline_cache, pickled)
    with pytest.raises(ValueError, match=f"{REPO}@{REVISION}: snapshot/unet: no .safetensors weights"):
        models.fetch_hub(REPO, REVISION, tmp_path / "model")


def test_offline_and_not_cached_says_what_to_download_and_where(offline_cache, tmp_path):
    with pytest.raises(RuntimeError) as err:
        models.fetch_hub(REPO, REVISION, tmp_path / "model")
    message = str(err.value)
    assert f"not in the Hugging Face cache {offline_cache}" in message
    assert f"hf download {REPO} --revision {REVISION} --include 'model_index.json'" in message
    assert "--include '*/diffusion_pytorch_model.safetensors'" in message and "--exclude 'safety_checker/*'" in message


# bk-sdm-base's revision is a placeholder for the user to pin (refused as it stands): pinned to a made-up commit here
EXAMPLE = yaml.safe_load((ROOT / "config" / "examples" / "bk-sdm.yaml").read_text().replace("0" * 40, "a1" * 20))


def test_offline_workflow_without_the_cache_stops_before_any_job_saying_what_to_download(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    proc = snakemake(tmp_path / "work", EXAMPLE, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert (
        "config: files it needs are missing; nothing was run" in output
        and "HF_HUB_OFFLINE is set and it is not cached" in output
    )
    for field in (
        "metrics.inception.feature_extractor_weights_path",
        "metrics.clip.pretrained",
        "tasks.coco.prompts.coco.captions",
    ):
        assert f"- {field}: 'data/" in output  # the user's files are listed in the same message
    assert f"not in the Hugging Face cache {tmp_path / 'hf' / 'hub'}" in output
    for model in EXAMPLE["models"]:
        assert f"hf download {model['hub']['repo_id']} --revision {model['hub']['revision']} --include" in output
    assert not (tmp_path / "work" / "results").exists() and not (tmp_path / "work" / "resources").exists()


def test_offline_workflow_prepares_a_cached_hub_model(tmp_path, monkeypatch, tiny_pipeline_dir):
    lay_out_cache(tmp_path / "hf" / "hub", tiny_pipeline_dir)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    config = tiny_config(models=[{"name": "tiny-hub", "hub": {"repo_id": REPO, "revision": REVISION}}])
    snakemake(tmp_path / "work", config, "resources/models/tiny-hub")
    integrity.verify_checksums(tmp_path / "work" / "resources" / "models" / "tiny-hub")


def test_offline_hub_lora_not_cached_is_listed_before_any_job_and_found_once_cached(
    offline_cache, tiny_pipeline_dir, tiny_lora, tmp_path
):
    from ldmscale import config as cfg

    lora_hub = {
        "repo_id": "tiny-org/tiny-lora",
        "revision": REVISION,
        "weight_name": "pytorch_lora_weights.safetensors",
    }
    model = {"name": "l", "base": {"local": {"path": str(tiny_pipeline_dir)}}, "lora": {"hub": lora_hub, "scale": 1.0}}
    config = {"models": [model]}
    assert cfg.hub_models_missing(config, tmp_path / "models") == [
        "models[0] ('l'): lora.hub: HF_HUB_OFFLINE is set and pytorch_lora_weights.safetensors is not cached; "
        f"download it once: hf download tiny-org/tiny-lora pytorch_lora_weights.safetensors --revision {REVISION}"
    ]
    repo = tmp_path / "lora_repo"
    repo.mkdir()
    shutil.copy(tiny_lora, repo / lora_hub["weight_name"])
    lay_out_cache(offline_cache, repo, repo_id=lora_hub["repo_id"])
    assert cfg.hub_models_missing(config, tmp_path / "models") == []
