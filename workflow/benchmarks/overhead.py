"""Overhead of ldmscale's generate code against a plain diffusers pipeline loop, timed side by side.

Same pipeline, prompts, sampler, steps, guidance, batch size and dtype; both write PNGs. Runs
alternate (ldmscale, plain, ldmscale, ...) in one process so that drift hits both alike, and the
result is the ratio of medians.

    python workflow/benchmarks/overhead.py resources/models/toy-c64 --images 64 --steps 16 --repeats 5
    python workflow/benchmarks/overhead.py sd-c320 --device cuda --dtype bfloat16 --steps 25   # random weights

A model that is an architecture preset's name (`sd-c320`: the paper's c = 320, SD1.5's UNet) is built with random
weights, with the toy's word-level tokenizer padded to the text encoder's 77 tokens.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ldmscale import architectures, cost, devices, generate, models, samplers  # noqa: E402
from ldmscale.toy import data, nets  # noqa: E402


def plain_loop(pipe, prompts: list[str], steps: int, guidance: float, batch: int, resolution: int, out: Path) -> None:
    """Generate with nothing but the diffusers pipeline and PIL."""
    for start in range(0, len(prompts), batch):
        chunk = prompts[start : start + batch]
        generators = [torch.Generator().manual_seed(start + k) for k in range(len(chunk))]
        images = pipe(
            prompt=chunk, height=resolution, width=resolution, num_inference_steps=steps,
            guidance_scale=guidance, generator=generators, output_type="pil",
        ).images  # fmt: skip
        for k, image in enumerate(images):
            image.save(out / f"{start + k:06d}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a diffusers pipeline directory, or an architecture preset's name")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--guidance", type=float, default=3.0)
    parser.add_argument("--sampler", default="ddim", choices=sorted(samplers.SAMPLERS))
    parser.add_argument("--resolution", type=int, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", help="write the result as JSON here too")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if args.model in architectures.PRESETS:
            model = Path(tmp) / args.model
            architectures.write(model, args.model, None)
        pipe = models.load_pipeline(model, devices.resolve_device(args.device), args.dtype)
        resolution = cost.geometry(model, args.resolution)["resolution"]
    if pipe.tokenizer is None:  # random weights: a tokenizer that fills the text encoder's positions
        pipe.tokenizer = nets.tokenizer()
        pipe.tokenizer.model_max_length = pipe.text_encoder.config.max_position_embeddings
    pipe.set_progress_bar_config(disable=True)
    pipe.scheduler = samplers.scheduler(args.sampler, pipe.scheduler.config)
    device = pipe.unet.device
    prompts = [data.caption(data.attributes(0, i)) for i in range(args.images)]

    def ours(out):
        generate.generate_shard(
            pipe, out / "shard", dict(enumerate(prompts)), range(args.images), 0,
            args.sampler, args.steps, args.guidance, args.batch, resolution,
        )  # fmt: skip

    def plain(out):
        plain_loop(pipe, prompts, args.steps, args.guidance, args.batch, resolution, out)

    times = {"ldmscale": [], "plain": []}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats + 1):  # the first round is warm-up
            for name, fn in (("ldmscale", ours), ("plain", plain)):
                out = Path(tmp) / f"{name}{repeat}"
                out.mkdir()
                [ms] = cost.time_ms(lambda fn=fn, out=out: fn(out), device, warmup=0, repeats=1)
                if repeat:
                    times[name].append(ms / 1e3)
    median = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "device": str(device),
        "device_name": devices.device_name(device),
        "dtype": str(pipe.unet.dtype).removeprefix("torch."),
        "threads": torch.get_num_threads(),
        "settings": vars(args) | {"resolution": resolution},
        "seconds": times,
        "median_s": median,
        "ratio_ldmscale_over_plain": median["ldmscale"] / median["plain"],
        "ratio_per_round": [a / b for a, b in zip(times["ldmscale"], times["plain"])],
    }
    print(json.dumps(result, indent=2))
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
