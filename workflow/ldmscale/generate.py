"""Image generation for one configuration shard: paired seeds, counted UNet calls, atomic output."""

from __future__ import annotations

import logging
import time
from itertools import groupby
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from . import files, integrity, samplers
from .seeds import index_seed

log = logging.getLogger("ldmscale")
MANIFEST = "manifest.json"


def batches(indices: range, batch_size: int) -> list[list[int]]:
    """Return `indices` grouped into batches aligned on multiples of `batch_size` in the global index.

    Aligning on the global index (not the shard start) keeps every batch's composition, and so
    every image bit for bit, the same however the images are sharded, as long as shard sizes are
    multiples of the batch size: CPU kernels are not bitwise batch-invariant.
    """
    return [list(group) for _, group in groupby(indices, key=lambda i: i // batch_size)]


def initial_latents(seeds: list[int], shape: tuple[int, ...]) -> torch.Tensor:
    """Return one standard-normal latent per seed, each drawn from its own CPU generator."""
    return torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(s)) for s in seeds])


class CallCounter:
    """Forward hook on the UNet that records the batch size of every call."""

    def __init__(self, module: torch.nn.Module):
        self.batches: list[int] = []
        self._handle = module.register_forward_hook(self._hook)

    def _hook(self, module, args, output) -> None:
        self.batches.append(int(args[0].shape[0]))

    def take(self) -> list[int]:
        batches, self.batches = self.batches, []
        return batches

    def remove(self) -> None:
        self._handle.remove()


def generate_shard(
    pipe,
    out: str | Path,
    prompts: dict[int, str],
    indices: range,
    task_seed: int,
    sampler: str,
    steps: int,
    guidance: float,
    batch_size: int,
    resolution: int,
) -> dict:
    """Generate the images of `indices` into directory `out` (PNGs, then manifest.json); return the manifest."""
    pipe.scheduler = samplers.scheduler(sampler, pipe.scheduler.config)
    device = pipe.unet.device
    factor = pipe.vae_scale_factor
    latent_shape = (pipe.unet.config.in_channels, resolution // factor, resolution // factor)
    counter = CallCounter(pipe.unet)
    records, calls = [], []
    start = time.perf_counter()
    try:
        with files.atomic_path(out) as tmp:
            tmp.mkdir()
            for batch in tqdm(batches(indices, batch_size), desc=f"{sampler} s{steps} g{guidance:g}", mininterval=10):
                seeds = [index_seed(task_seed, i) for i in batch]
                latents = initial_latents(seeds, latent_shape).to(device, pipe.unet.dtype)
                # Ancestral samplers draw fresh noise every step: one generator per image keeps it paired too.
                noise = [torch.Generator().manual_seed(index_seed(f"{task_seed}/noise", i)) for i in batch]
                result = pipe(
                    prompt=[prompts[i] for i in batch],
                    height=resolution,
                    width=resolution,
                    num_inference_steps=steps,
                    guidance_scale=guidance,
                    latents=latents,
                    generator=noise,
                    output_type="np",
                    **samplers.get(sampler).call_options,
                )
                batch_calls = counter.take()
                calls.append({"images": len(batch), "unet_batches": batch_calls})
                for i, seed, image in zip(batch, seeds, result.images):
                    name = f"{i:06d}.png"
                    Image.fromarray((np.clip(image, 0, 1) * 255).round().astype(np.uint8)).save(tmp / name)
                    records.append(
                        {
                            "index": i,
                            "file": name,
                            "sha256": integrity.sha256(tmp / name),
                            "prompt": prompts[i],
                            "seed": seed,
                        }
                    )
            manifest = {
                "sampler": sampler,
                "scheduler": type(pipe.scheduler).__name__,
                "steps": steps,
                "guidance": guidance,
                "batch_size": batch_size,
                "resolution": resolution,
                "device": str(device),
                "dtype": str(pipe.unet.dtype).removeprefix("torch."),
                "seconds": time.perf_counter() - start,
                "nfe": _nfe(calls),
                "unet_calls": calls,
                "images": records,
                "versions": files.python_info(),
            }
            files.write_json(tmp / MANIFEST, manifest)  # last: a shard without it is incomplete
    finally:
        counter.remove()
    log.info("%d images, %d UNet calls per image, %.1f s", len(records), manifest["nfe"]["calls"], manifest["seconds"])
    return manifest


def _nfe(calls: list[dict]) -> dict:
    """Return UNet calls per image and images per call-slot (2 with classifier-free guidance), checked consistent."""
    counts = {len(c["unet_batches"]) for c in calls}
    doubling = {b / c["images"] for c in calls for b in c["unet_batches"]}
    if len(counts) != 1 or len(doubling) != 1:
        raise RuntimeError(f"UNet calls differ between batches: {calls}")
    return {"calls": counts.pop(), "batch_multiplier": int(doubling.pop())}


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
