"""LoRA-distilled models (LCM-LoRA, say): a base pipeline with a LoRA fused into its weights, saved as a plain pipeline.

The LoRA file is a safetensors state dict in the format diffusers' `save_lora_weights` writes (the training
examples' output, and what the hub's LoRA repositories hold). Only a .safetensors file gets as far as diffusers'
`load_lora_weights`, which reads it with `use_safetensors` (no pickle path) together with its metadata (lora_alpha).
The LoRA is fused and its layers unloaded: what follows (cost, generation) sees an ordinary pipeline whose params
and FLOPs are those of the fused UNet.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from . import files
from .integrity import record_checksums, sha256
from .models import checked_cache_file

RECORD = "lora.json"  # beside the fused pipeline: which LoRA, with its SHA-256, at which scale, on which base
DEFAULT_WEIGHT_NAME = "pytorch_lora_weights.safetensors"  # what save_lora_weights writes, and hub LoRAs hold


def hub_file(repo_id: str, revision: str, weight_name: str) -> Path:
    """Return the cached path of a LoRA file of `repo_id` at the pinned `revision`, downloaded once; its blob checked."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        path = Path(hf_hub_download(repo_id, weight_name, revision=revision))
    except LocalEntryNotFoundError as err:
        raise RuntimeError(
            f"LoRA {repo_id}@{revision} ({weight_name}) is not in the Hugging Face cache and the hub cannot be "
            f"reached; download it once: hf download {repo_id} {weight_name} --revision {revision}\n({err})"
        ) from None
    checked_cache_file(path)
    return path


def fuse(base_dir: str | Path, lora_file: str | Path, out: str | Path, scale: float = 1.0, source: dict | None = None):
    """Save the pipeline at `base_dir` with the LoRA in `lora_file` fused at `scale` to `out`, atomically, with checksums."""
    import torch
    from safetensors.torch import load_file

    from .models import load_pipeline, validate_pipeline_dir

    lora_file = Path(lora_file)
    if lora_file.suffix != ".safetensors":
        raise ValueError(f"{lora_file}: LoRA weights are loaded from .safetensors only (pickle files are refused)")
    pipe = load_pipeline(base_dir, "cpu", "float32")
    tensors = len(load_file(lora_file))  # safetensors parses it; diffusers then reads it with its metadata (lora_alpha)
    pipe.load_lora_weights(
        str(lora_file.parent), weight_name=lora_file.name, use_safetensors=True, local_files_only=True,
        adapter_name="distilled",
    )  # fmt: skip
    pipe.fuse_lora(lora_scale=scale, adapter_names=["distilled"])
    pipe.unload_lora_weights()  # the fused weights stay; the LoRA layers go
    with torch.no_grad(), files.atomic_path(out) as tmp:
        pipe.save_pretrained(tmp, safe_serialization=True)
        validate_pipeline_dir(tmp)
        files.write_json(
            tmp / RECORD,
            {"lora": str(lora_file), "sha256": sha256(lora_file), "scale": scale, "tensors": tensors, **(source or {})},
        )
        record_checksums(tmp)


def prepare(base_dir: Path, lora_file: str | Path, out: str | Path, scale: float, source: dict) -> None:
    """Fuse the LoRA into the base prepared at `base_dir` (a scratch directory), then remove the scratch copy."""
    try:
        fuse(base_dir, lora_file, out, scale, source)
    finally:
        shutil.rmtree(base_dir, ignore_errors=True)
