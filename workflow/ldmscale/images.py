"""Reading images: real image files as square uint8 arrays, generated shards (their manifests, checked against their
SHA-256, and images), and the toy task's real images. No torch: the jobs that only read images need not import it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from . import files, integrity
from .toy import data

MANIFEST = "manifest.json"  # a shard's record of its images, written last: a shard without it is incomplete


def load_square(path: str | Path, size: int) -> np.ndarray:
    """Return an image centre-cropped to a square and resized to `size` (PIL bicubic, antialiased), uint8 HWC RGB."""
    image = Image.open(path).convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    if side != size:
        image = image.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(image)


def image_batches(paths: list[str], size: int | None, batch: int):
    """Yield uint8 NHWC batches of the images at `paths` (resized to `size` when given), never all in memory."""
    for i in range(0, len(paths), batch):
        chunk = paths[i : i + batch]
        if size is None:
            yield read_images(chunk)
        else:
            yield np.stack([load_square(p, size) for p in chunk])


def real_toy_images(prompt_doc: dict, start: int, count: int, image_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Return real images and their labels for items start..start+count of the task's own data stream."""
    if prompt_doc["data_version"] != data.DATA_VERSION:
        raise ValueError(f"prompts were made with toy data v{prompt_doc['data_version']}, this is v{data.DATA_VERSION}")
    images, labels, _ = data.dataset(prompt_doc["seed"], start, count, image_size)
    return images, labels


def save(folder: str | Path, index: int, image: np.ndarray, prompt: str, seed: int | None) -> dict:
    """Write image `index` (HWC, floats in [0, 1] or uint8) into a shard folder as a PNG; return its manifest record."""
    name = f"{index:06d}.png"
    if image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    Image.fromarray(image).save(Path(folder) / name)
    return {
        "index": index,
        "file": name,
        "sha256": integrity.sha256(Path(folder) / name),
        "prompt": prompt,
        "seed": seed,
    }


def read_manifest(shard_dir: str | Path, verify: bool = True) -> dict:
    """Return a shard's manifest, checking every image against its recorded SHA-256 when `verify`."""
    shard_dir = Path(shard_dir)
    path = shard_dir / MANIFEST
    if not path.is_file():
        raise ValueError(f"{shard_dir}: no {MANIFEST}; the shard is incomplete, rerun its generate job")
    manifest = files.read_json(path)
    if verify:
        for record in manifest["images"]:
            image = shard_dir / record["file"]
            if not image.is_file():
                raise ValueError(f"{image}: listed in {path} but missing")
            if integrity.sha256(image) != record["sha256"]:
                raise ValueError(f"{image}: SHA-256 differs from {path}; the file is corrupt or was changed")
    return manifest


def shard_records(shard_dirs: list[str | Path]) -> list[dict]:
    """Return the manifest records of all shards in index order, each with its image's path, images checked."""
    records = []
    for shard_dir in shard_dirs:
        records += [{**r, "path": str(Path(shard_dir) / r["file"])} for r in read_manifest(shard_dir)["images"]]
    return sorted(records, key=lambda r: r["index"])


def read_images(paths: list[str | Path]) -> np.ndarray:
    """Return the images at `paths` as uint8 (N, H, W, 3) RGB."""
    return np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths])


def load_images(shard_dirs: list[str | Path]) -> tuple[np.ndarray, list[dict]]:
    """Return all images of the shards as uint8 (N, H, W, 3) in index order, with their manifest records."""
    records = shard_records(shard_dirs)
    return read_images([r["path"] for r in records]), records
