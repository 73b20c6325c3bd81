"""Latency of the paper's width-scaled family on one device: every width at each batch, then the c = 320 switches.

    python workflow/benchmarks/gpu/family.py --output latency.json                  # the GPU check's sizes
    python workflow/benchmarks/gpu/family.py --output latency.json --device cpu --resolution 64 --widths 64 \
        --variant-width 64 --batches 1 --warmup 1 --repeats 2                        # the rehearsal's

Each model is an architecture-only preset (`sd1.5` with base channels c: Mei et al. 2024's family) with random
weights built on the device, timed by `cost.profile_latency`. The switches at `--variant-width`: channels-last and
torch.compile each on and off with PyTorch SDPA, then the attention without SDPA (diffusers' AttnProcessor); compile
time is the first call's `first_call_ms`. The JSON is rewritten after every profile, so a run stopped at its time
budget or by memory keeps what it measured and says what it skipped and why.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from ldmscale import architectures, cost, devices, files, models  # noqa: E402

SWITCHES = [  # (name, channels_last, compile, sdpa); the first is the family's own profile
    ("sdpa", False, False, True),
    ("sdpa+channels_last", True, False, True),
    ("sdpa+compile", False, True, True),
    ("sdpa+channels_last+compile", True, True, True),
    ("no_sdpa", False, False, False),
]


def profile(arch: Path, device: str, dtype: str, batch: int, args, variant=SWITCHES[0]) -> dict:
    """Build the model at `arch` with random weights on `device` and profile it at `batch` with `variant`'s switches;
    return the profile with the UNet's parameter count."""
    name, channels_last, compile, sdpa = variant
    pipe = models.load_pipeline(arch, device, dtype)
    if not sdpa:
        from diffusers.models.attention_processor import AttnProcessor

        pipe.unet.set_attn_processor(AttnProcessor())
    torch._dynamo.reset()
    try:
        result = cost.profile_latency(pipe, batch, args.resolution, args.warmup, args.repeats, channels_last, compile)
        result["unet_params"] = cost.denoiser_params(pipe.unet)
    finally:
        del pipe
        gc.collect()
        if device == "cuda":
            torch.cuda.empty_cache()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--widths", default=",".join(map(str, architectures.FAMILY_WIDTHS)))
    parser.add_argument("--batches", default="1,16")
    parser.add_argument("--variant-width", type=int, default=320)
    parser.add_argument("--variant-batch", type=int, default=16)
    parser.add_argument("--resolution", type=int, default=512)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--budget", type=float, default=200.0, help="seconds; no profile starts after it")
    args = parser.parse_args()
    device = devices.resolve_device(args.device)
    start = time.monotonic()
    plan = [(w, b, SWITCHES[0]) for w in map(int, args.widths.split(",")) for b in map(int, args.batches.split(","))]
    plan += [(args.variant_width, args.variant_batch, v) for v in SWITCHES[1:]]
    record = {"settings": vars(args) | {"output": str(args.output), "device": device}, "profiles": [], "skipped": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (width, batch, variant) in enumerate(plan):
            what = {"width": width, "batch": batch, "variant": variant[0]}
            if time.monotonic() - start > args.budget:
                why = f"time budget of {args.budget:g} s spent"
                record["skipped"] += [{"width": w, "batch": b, "variant": v[0], "why": why} for w, b, v in plan[i:]]
                break
            arch = Path(tmp) / f"c{width}"
            if not arch.exists():
                architectures.write(arch, "sd1.5", width)
            try:
                result = profile(arch, device, args.dtype, batch, args, variant)
            except torch.OutOfMemoryError as e:
                record["skipped"].append({**what, "why": f"out of memory: {str(e).splitlines()[0]}"})
                continue
            record["profiles"].append({**what, **result})
            ms = result["median_ms"]["unet"]
            print(f"c={width} batch {batch} {variant[0]}: UNet {ms:.2f} ms, MFU {result['mfu']['unet']}", flush=True)
            files.write_json(args.output, record)
    record["seconds"] = time.monotonic() - start
    files.write_json(args.output, record)


if __name__ == "__main__":
    main()
