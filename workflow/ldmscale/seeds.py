"""Per-item seeds: item i of a stream gets the same seed however the stream is batched or sharded."""

from __future__ import annotations

import hashlib


def index_seed(seed: int | str, index: int) -> int:
    """Return a 63-bit seed for item `index` of the stream named by `seed`."""
    digest = hashlib.sha256(f"{seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)
