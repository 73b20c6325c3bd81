"""File integrity: SHA-256 of files, and the checksum record of a directory (a pipeline, a shipped part)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

CHECKSUMS = "ldmscale_checksums.json"
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


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
