"""Image generation for one configuration shard: paired seeds, counted UNet calls, atomic output."""

from __future__ import annotations

import logging
import time
from itertools import groupby
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from . import denoisers, files, images, samplers, sr
from .images import MANIFEST
from .seeds import index_seed

log = logging.getLogger("ldmscale")


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
    """Forward hook on the denoiser (UNet or transformer) that records the batch size of every call."""

    def __init__(self, module: torch.nn.Module):
        self.batches: list[int] = []
        self._handle = module.register_forward_hook(self._hook, with_kwargs=True)

    def _hook(self, module, args, kwargs, output) -> None:
        latent = args[0] if args else kwargs.get("sample", kwargs.get("hidden_states"))  # SD3 passes keywords only
        self.batches.append(int(latent.shape[0]))

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
    sr_doc: dict | None = None,
) -> dict:
    """Generate the images of `indices` into directory `out` (PNGs, then manifest.json); return the manifest.

    `sr_doc`, a super-resolution task's document, makes each image the upscaled input of its crop (`upscale`).
    """
    pipe.scheduler = samplers.scheduler(sampler, pipe.scheduler.config)
    denoiser, family = denoisers.of(pipe), denoisers.family_of(pipe)
    device = denoiser.device
    counter = CallCounter(denoiser)
    records, calls = [], []
    start = time.perf_counter()
    try:
        with files.atomic_path(out) as tmp:
            tmp.mkdir()
            for batch in tqdm(batches(indices, batch_size), desc=f"{sampler} s{steps} g{guidance:g}", mininterval=10):
                seeds = [index_seed(task_seed, i) for i in batch]
                # Ancestral samplers draw fresh noise every step: one generator per image keeps it paired too.
                noise = [torch.Generator().manual_seed(index_seed(f"{task_seed}/noise", i)) for i in batch]
                call = {
                    "prompt": [prompts[i] for i in batch],
                    "num_inference_steps": steps,
                    "guidance_scale": guidance,
                    "generator": noise,
                    "output_type": "np",
                    **samplers.get(sampler).call_options,
                    **family.call_options,
                }
                if sr_doc is not None:
                    output = upscale(pipe, sr.inputs(sr_doc, batch), seeds, sr_doc["noise_level"], call)
                elif family.conditioning == "class":
                    output = class_conditional(pipe, call, seeds, noise_seed=index_seed(f"{task_seed}/noise", batch[0]))
                else:
                    latent_side = resolution // pipe.vae_scale_factor
                    channels = denoiser.config.in_channels // (4 if family.packed else 1)
                    shape = (channels, latent_side, latent_side)
                    latents = initial_latents(seeds, shape).to(device, denoiser.dtype)
                    if family.packed:  # Flux: 2 × 2 patches, as its pipeline packs the latents it draws
                        latents = type(pipe)._pack_latents(latents, len(batch), *shape)
                    output = pipe(height=resolution, width=resolution, latents=latents, **call).images
                batch_calls = counter.take()
                calls.append({"images": len(batch), "unet_batches": batch_calls})
                records += [
                    images.save(tmp, i, image, prompts[i], seed) for i, seed, image in zip(batch, seeds, output)
                ]
            manifest = {
                "sampler": sampler,
                "scheduler": type(pipe.scheduler).__name__,
                "steps": steps,
                "guidance": guidance,
                "batch_size": batch_size,
                "resolution": resolution,
                "device": str(device),
                "dtype": str(denoiser.dtype).removeprefix("torch."),
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


def class_conditional(pipe, call: dict, seeds: list[int], noise_seed: int) -> np.ndarray:
    """Return the images (float NHWC in [0, 1]) of a class-conditional pipeline (DiT) for `call`'s prompts, each an
    ImageNet class: its name in the pipeline's labels or its number. The pipeline takes no latents: it draws them from
    one generator per image, seeded here with the images' seeds, so they equal `initial_latents(seeds)`. Its
    scheduler steps get no generator: an ancestral sampler's noise comes from the global RNG, seeded per batch."""
    labels = []
    for prompt in call["prompt"]:
        if prompt.strip().isdigit():
            labels.append(int(prompt))
        elif prompt.strip() in pipe.labels:
            labels.append(pipe.labels[prompt.strip()])
        else:
            raise ValueError(f"prompt {prompt!r} is not a class of {type(pipe).__name__}: give its number or its name")
    torch.manual_seed(noise_seed)
    options = {k: v for k, v in call.items() if k in ("num_inference_steps", "guidance_scale", "output_type")}
    return pipe(class_labels=labels, generator=[torch.Generator().manual_seed(s) for s in seeds], **options).images


SR_PIPELINES = ("StableDiffusionUpscalePipeline", "LDMSuperResolutionPipeline")


def upscale(pipe, inputs: list[np.ndarray], seeds: list[int], noise_level: int, call: dict) -> np.ndarray:
    """Return the upscaled images (float NHWC in [0, 1]) of uint8 low-resolution inputs, with the initial latents
    of `seeds` (at the input's size, as both pipelines concatenate the input with the latent).

    - StableDiffusionUpscalePipeline (the x4 upscaler): text, the input noised to `noise_level`, latents given.
    - LDMSuperResolutionPipeline: no text and no latents argument; it draws its latents from one generator per
      image, which are seeded here with the same seeds, so its initial latents equal `initial_latents(seeds)`.
      Its scheduler steps get no generator: an ancestral sampler's noise comes from the global RNG, seeded per
      batch (batches are aligned on the global index, so still the same however the task is sharded).
    """
    name = type(pipe).__name__
    if name not in SR_PIPELINES:
        raise ValueError(f"{name} is not a super-resolution pipeline; supported: {', '.join(SR_PIPELINES)}")
    device, dtype = pipe.unet.device, pipe.unet.dtype
    x = torch.from_numpy(np.stack(inputs)).permute(0, 3, 1, 2).float() / 255
    if name == "LDMSuperResolutionPipeline":
        torch.manual_seed(seeds[0])
        generators = [torch.Generator().manual_seed(s) for s in seeds]
        options = {k: v for k, v in call.items() if k in ("num_inference_steps", "output_type", "eta")}
        return pipe(image=(2 * x - 1).to(device, dtype), generator=generators, **options).images
    shape = (pipe.vae.config.latent_channels, *x.shape[2:])
    latents = initial_latents(seeds, shape).to(device, dtype)
    return pipe(image=x.to(device, dtype), noise_level=noise_level, latents=latents, **call).images


def _nfe(calls: list[dict]) -> dict:
    """Return UNet calls per image and images per call-slot (2 with classifier-free guidance), checked consistent."""
    counts = {len(c["unet_batches"]) for c in calls}
    doubling = {b / c["images"] for c in calls for b in c["unet_batches"]}
    if len(counts) != 1 or len(doubling) != 1:
        raise RuntimeError(f"UNet calls differ between batches: {calls}")
    return {"calls": counts.pop(), "batch_multiplier": int(doubling.pop())}
