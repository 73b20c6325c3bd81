"""Model sources: assemble, copy and validate diffusers pipeline directories; load them safely."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from . import architectures, files
from .integrity import (  # noqa: F401 (validate_pipeline_dir, re-exported: models.validate_pipeline_dir)
    CHECKSUMS,
    OPTIONAL_COMPONENTS,
    SHA256_RE,
    record_checksums,
    sha256,
    validate_pipeline_dir,
    verify_checksums,
)

# What ldmscale takes from a hub repository: configs, tokenizer files and the default-precision safetensors
# weights (sharded or not). fp16/EMA variants, root-level single-file checkpoints and pickles never match.
HUB_PATTERNS = [
    "model_index.json", "*/*.json", "*/*.txt",
    "*/diffusion_pytorch_model.safetensors", "*/diffusion_pytorch_model-*.safetensors",
    "*/model.safetensors", "*/model-*.safetensors",
]  # fmt: skip
HUB_IGNORE = [f"{name}/*" for name in OPTIONAL_COMPONENTS]


def copy_local(source: str | Path, out: str | Path) -> None:
    """Validate a local pipeline directory and copy it to `out`, with checksums, atomically.

    A source that carries ldmscale's checksums (a directory ldmscale prepared) is verified against them first.
    """
    validate_pipeline_dir(source)
    if (Path(source) / CHECKSUMS).is_file():
        verify_checksums(source)
    with files.atomic_path(out) as tmp:
        shutil.copytree(source, tmp, ignore=shutil.ignore_patterns(CHECKSUMS))
        record_checksums(tmp)


def hub_snapshot(repo_id: str, revision: str, local_files_only: bool = False) -> Path:
    """Return the Hugging Face cache's snapshot folder of `repo_id` at `revision`, downloading what ldmscale uses.

    HF_HUB_OFFLINE (or `local_files_only`) serves it from the cache only; when it is not there, the
    RuntimeError says what to download and where.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = snapshot_download(
            repo_id, revision=revision, allow_patterns=HUB_PATTERNS, ignore_patterns=HUB_IGNORE,
            local_files_only=local_files_only,
        )  # fmt: skip
    except LocalEntryNotFoundError as err:
        raise RuntimeError(f"{hub_download_hint(repo_id, revision)}\n(huggingface_hub: {err})") from None
    return Path(folder)


def hub_download_hint(repo_id: str, revision: str) -> str:
    """Return what to run, on a machine with network access, to put `repo_id`@`revision` in the cache."""
    from huggingface_hub import constants

    includes = " ".join(f"--include '{p}'" for p in HUB_PATTERNS)
    excludes = " ".join(f"--exclude '{p}'" for p in HUB_IGNORE)
    return (
        f"{repo_id}@{revision} is not in the Hugging Face cache {constants.HF_HUB_CACHE} and the hub cannot be "
        f"reached (HF_HUB_OFFLINE={os.environ.get('HF_HUB_OFFLINE', '')!r}). Download it once, with the same "
        f"HF_HOME (or copy that cache here afterwards):\n"
        f"  hf download {repo_id} --revision {revision} {includes} {excludes}"
    )


def fetch_hub(repo_id: str, revision: str, out: str | Path) -> None:
    """Copy a hub pipeline at a pinned revision from the Hugging Face cache to `out`, validated, with checksums.

    Only the files HUB_PATTERNS names are taken: whatever else the cached snapshot holds (pickles,
    other variants) stays behind. Weights are hard links into the cache where the file system allows.
    Each cached blob stored under its SHA-256 (the hub's large files) is checked against it first, so
    a corrupted cache is refused rather than copied.
    """
    from huggingface_hub.utils import filter_repo_objects

    snapshot = hub_snapshot(repo_id, revision)
    listed = sorted(str(p.relative_to(snapshot)) for p in snapshot.rglob("*") if p.is_file())
    sums = {}
    for name in filter_repo_objects(listed, allow_patterns=HUB_PATTERNS, ignore_patterns=HUB_IGNORE):
        sums[name] = checked_cache_file(snapshot / name)
    with files.atomic_path(out) as tmp:
        for name in sums:
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(snapshot / name, tmp / name)
        try:
            validate_pipeline_dir(tmp)
        except ValueError as err:
            raise ValueError(f"{repo_id}@{revision}: {str(err).replace(str(tmp), 'snapshot')}") from None
        record_checksums(tmp, sums)


def checked_cache_file(path: Path) -> str:
    """Return the SHA-256 of a file of a Hugging Face cache snapshot, after checking it against its blob's name.

    The hub stores large files under their SHA-256; a blob whose content no longer matches is a corrupted cache.
    """
    digest, blob = sha256(path), path.resolve().name
    if SHA256_RE.match(blob) and blob != digest:
        raise ValueError(
            f"{path}: cached file is corrupt (SHA-256 {digest}, the hub's is {blob}); "
            f"delete {path.resolve()} and download it again"
        )
    return digest


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source.resolve(), target)
    except OSError:  # another file system, or links not allowed: copy
        shutil.copyfile(source, target)


def load_pipeline(path: str | Path, device: str = "cpu", dtype: str = "float32"):
    """Return the diffusers pipeline saved at `path`, loaded from safetensors only, on `device`.

    Its recorded checksums are verified first; an architecture-only model gets random weights.
    """
    import torch
    from diffusers import DiffusionPipeline

    if architectures.is_architecture(path):
        return architectures.build_random(path, device, dtype)
    if (Path(path) / CHECKSUMS).is_file():
        verify_checksums(path)

    pipe = DiffusionPipeline.from_pretrained(
        path,
        dtype=getattr(torch, dtype),
        use_safetensors=True,
        local_files_only=True,
        safety_checker=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)
