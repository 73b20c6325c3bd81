"""File integrity: SHA-256 of files, the checksum record of a directory (a pipeline, a shipped part), and whether a
directory is a complete, safetensors-only diffusers pipeline."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from . import denoisers

CHECKSUMS = "ldmscale_checksums.json"
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
UNSAFE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
# ldmscale loads pipelines without their safety checker, so a hub model's is never downloaded (1.2 GB for SD1.x).
OPTIONAL_COMPONENTS = ("safety_checker",)


def sha256(path: str | os.PathLike) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_checksums(path: str | Path, sums: dict[str, str] | None = None) -> dict[str, str]:
    """Write and return the SHA-256 of every file in the directory `path` (`sums` when already computed)."""
    path = Path(path)
    if sums is None:
        sums = {
            str(p.relative_to(path)): sha256(p) for p in sorted(path.rglob("*")) if p.is_file() and p.name != CHECKSUMS
        }
    (path / CHECKSUMS).write_text(json.dumps(sums, indent=2, sort_keys=True) + "\n")
    return sums


def verify_checksums(path: str | Path) -> None:
    """Raise ValueError naming every file of `path` that differs from its recorded SHA-256."""
    path = Path(path)
    if not (path / CHECKSUMS).is_file():
        raise ValueError(f"{path}: no {CHECKSUMS}, so its files cannot be verified; prepare or ship it again")
    sums = json.loads((path / CHECKSUMS).read_text())
    missing = [name for name in sums if not (path / name).is_file()]
    changed = [name for name, digest in sums.items() if name not in missing and sha256(path / name) != digest]
    if missing or changed:
        names = changed + [f"{name} (missing)" for name in missing]
        raise ValueError(f"{path}: files missing or changed since their checksums were recorded: {', '.join(names)}")


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
    try:  # cost, generation, NFE counting and latency all work on the pipeline's denoiser
        denoisers.family(spec)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    components = [name for name in components if name not in OPTIONAL_COMPONENTS or (path / name).is_dir()]
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
    for name in components:  # a component with a model config.json has weights (schedulers, tokenizers do not)
        if (path / name / "config.json").is_file() and not any((path / name).glob("*.safetensors")):
            raise ValueError(f"{path / name}: no .safetensors weights (only safetensors are loaded)")
    return components
