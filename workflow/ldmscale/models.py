"""Model sources: assemble, copy and validate diffusers pipeline directories; load them safely."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from . import io

CHECKSUMS = "ldmscale_checksums.json"
UNSAFE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")


def validate_pipeline_dir(path: str | Path) -> list[str]:
    """Return the pipeline's component names after checking `path` is a loadable, safetensors-only pipeline.

    Raises ValueError naming the directory and what is wrong: no model_index.json, a listed
    component missing, a pickle weight file, or a safetensors file whose header does not parse.
    """
    from safetensors import safe_open

    path = Path(path)
    index = path / "model_index.json"
    if not index.is_file():
        raise ValueError(f"{path}: not a diffusers pipeline directory (no model_index.json)")
    spec = json.loads(index.read_text())
    components = sorted(k for k, v in spec.items() if not k.startswith("_") and isinstance(v, list) and v[0])
    for name in components:
        if not (path / name).is_dir():
            raise ValueError(f"{path}: component {name!r} is listed in model_index.json but {path / name} is missing")
    unsafe = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.suffix in UNSAFE_SUFFIXES)
    if unsafe:
        raise ValueError(f"{path}: pickle weight files are refused, convert them to safetensors: {', '.join(unsafe)}")
    for weights in sorted(path.rglob("*.safetensors")):
        try:
            with safe_open(weights, framework="pt") as f:
                f.keys()
        except Exception as err:  # safetensors raises its own error types for truncated or corrupt headers
            raise ValueError(f"{weights}: corrupt or truncated safetensors file ({err})") from err
    for name in ("unet", "vae"):
        if name in components and not any((path / name).glob("*.safetensors")):
            raise ValueError(f"{path / name}: no .safetensors weights")
    return components


def record_checksums(path: str | Path) -> dict[str, str]:
    """Write and return the SHA-256 of every file in the pipeline directory."""
    path = Path(path)
    sums = {
        str(p.relative_to(path)): io.sha256(p)
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.name != CHECKSUMS
    }
    (path / CHECKSUMS).write_text(json.dumps(sums, indent=2, sort_keys=True) + "\n")
    return sums


def verify_checksums(path: str | Path) -> None:
    """Raise ValueError naming every file of `path` that differs from its recorded SHA-256."""
    path = Path(path)
    sums = json.loads((path / CHECKSUMS).read_text())
    bad = [name for name, digest in sums.items() if not (path / name).is_file() or io.sha256(path / name) != digest]
    if bad:
        raise ValueError(f"{path}: files missing or changed since their checksums were recorded: {', '.join(bad)}")


def copy_local(source: str | Path, out: str | Path) -> None:
    """Validate a local pipeline directory and copy it to `out`, with checksums, atomically."""
    validate_pipeline_dir(source)
    with io.atomic_path(out) as tmp:
        shutil.copytree(source, tmp, ignore=shutil.ignore_patterns(CHECKSUMS))
        record_checksums(tmp)


def assemble_toy(out: str | Path, unet_dir: Path, vae_dir: Path, text_dir: Path) -> None:
    """Save a StableDiffusionPipeline made of the toy parts to `out`, atomically, in float32.

    The parts' checksums are verified first: shipped checkpoints must be the ones recorded.
    """
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, PreTrainedTokenizerFast

    from .toy import nets

    for part in (unet_dir, vae_dir, text_dir):
        verify_checksums(part)
    f32 = {"use_safetensors": True, "dtype": torch.float32}
    pipe = StableDiffusionPipeline(
        vae=AutoencoderKL.from_pretrained(vae_dir, **f32),
        text_encoder=CLIPTextModel.from_pretrained(text_dir / "text_encoder", **f32),
        tokenizer=PreTrainedTokenizerFast.from_pretrained(text_dir / "tokenizer"),
        unet=UNet2DConditionModel.from_pretrained(unet_dir, **f32),
        scheduler=DDIMScheduler.from_config(nets.noise_schedule()),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    with io.atomic_path(out) as tmp:
        pipe.save_pretrained(tmp, safe_serialization=True)
        validate_pipeline_dir(tmp)
        record_checksums(tmp)


def load_pipeline(path: str | Path, device: str = "cpu", dtype: str = "float32"):
    """Return the diffusers pipeline saved at `path`, loaded from safetensors only, on `device`."""
    import torch
    from diffusers import DiffusionPipeline

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


def resolve_device(name: str) -> str:
    """Return 'cuda' or 'cpu' for a runtime.device setting ('auto' picks CUDA when present)."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("runtime.device is 'cuda' but torch sees no CUDA device; set runtime.device: auto or cpu")
    return name
