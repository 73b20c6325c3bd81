"""Why toy super-resolution outputs move away from their inputs as steps grow: measurements, not guesses.

For each prepared SR pipeline, at each noise level and step count, on a task's first N crops (the same seeds and calls
as the `generate` rule):
- PSNR against the ground truth (dB);
- the colour error: the distance between the output's mean RGB and its ground truth's, per crop, averaged (0-255);
  a 4× input fixes a crop's mean colour, so a sampler that keeps to its input keeps this near the bicubic's;
- the output's consistency with its input: PSNR of the output downscaled 4× (bicubic) against the input itself;
- with --samples k, the same of the mean of k samples per input (other initial latents): what averages out is the
  spread of samples around the posterior mean, what stays is a bias.
Beside them, the ceilings no member can pass: bicubic upscaling, and the autoencoder's round trip (each ground truth
encoded to its latent mean and decoded), whose PSNR bounds any latent upscaler's.

    python workflow/benchmarks/sr_drift.py results/toy-sr/tasks/upscale/prompts.json resources/models/toy-sr-c48 \\
        [--images 64] [--steps 1 2 5 20 50] [--noise-levels 0 20 100 350] [--samples 1] [--out drift.csv]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import polars as pl
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # workflow/: the ldmscale package

from ldmscale import files, generate, models, samplers, sr  # noqa: E402
from ldmscale.seeds import index_seed  # noqa: E402


def psnr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return the PSNR in dB of each uint8 NHWC image of `x` against `y`'s."""
    mse = ((x.astype(float) - y.astype(float)) ** 2).mean(axis=(1, 2, 3))
    return 10 * np.log10(255**2 / np.maximum(mse, 1e-12))


def colour_error(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return per image the Euclidean distance between the mean RGB of `x` and `y` (0-255 units)."""
    return np.linalg.norm(x.astype(float).mean(axis=(1, 2)) - y.astype(float).mean(axis=(1, 2)), axis=1)


def downscaled(x: np.ndarray, side: int) -> np.ndarray:
    return np.stack([np.asarray(Image.fromarray(i).resize((side, side), Image.Resampling.BICUBIC)) for i in x])


def row(what: dict, out: np.ndarray, truths: np.ndarray, lows: np.ndarray) -> dict:
    return {**what, "psnr": float(psnr(out, truths).mean()), "colour_error": float(colour_error(out, truths).mean()),
            "input_consistency_psnr": float(psnr(downscaled(out, lows.shape[1]), lows).mean())}  # fmt: skip


def roundtrip(pipe, truths: np.ndarray) -> np.ndarray:
    """Return each ground truth encoded to its latent mean and decoded by the pipeline's autoencoder (uint8 NHWC)."""
    with torch.no_grad():
        x = torch.from_numpy(truths).permute(0, 3, 1, 2).float() / 127.5 - 1
        decoded = pipe.vae.decode(pipe.vae.encode(x).latent_dist.mean).sample
    return ((decoded.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", help="an SR task's prompts.json (results/{experiment}/tasks/{task}/prompts.json)")
    parser.add_argument("pipelines", nargs="+", help="prepared SR pipelines (resources/models/{model})")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 2, 5, 20, 50])
    parser.add_argument("--noise-levels", type=int, nargs="+", default=[0, 20, 100, 350])
    parser.add_argument("--sampler", default="ddim")
    parser.add_argument("--seed", type=int, default=0, help="the task's seed (config tasks.{task}.seed)")
    parser.add_argument("--samples", type=int, default=1, help="k > 1: also score the mean of k samples per input")
    parser.add_argument("--out", help="also write the table as CSV")
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    doc = files.read_json(args.task)
    indices = range(args.images)
    truths = np.stack([sr.ground_truth(doc, i) for i in indices])
    lows = np.stack(sr.inputs(doc, indices))
    rows = [row({"model": "bicubic", "noise_level": None, "steps": 0}, np.stack(sr.baseline(doc, indices, "bicubic")),
                truths, lows)]  # fmt: skip
    for path in args.pipelines:
        pipe = models.load_pipeline(path, "cpu", "float32")
        name = Path(path).name
        rows.append(row({"model": f"{name} autoencoder round trip", "noise_level": None, "steps": 0},
                         roundtrip(pipe, truths), truths, lows))  # fmt: skip
        pipe.scheduler = samplers.scheduler(args.sampler, pipe.scheduler.config)
        for level in args.noise_levels:
            for steps in args.steps:
                call = {"prompt": [doc["items"][i]["prompt"] for i in indices], "num_inference_steps": steps,
                        "guidance_scale": 1.0, "output_type": "np",
                        "generator": [torch.Generator().manual_seed(index_seed(f"{args.seed}/noise", i)) for i in indices],
                        **samplers.get(args.sampler).call_options}  # fmt: skip
                draws = []
                for k in range(args.samples):  # draw k: other initial latents and noise, the same inputs
                    call["generator"] = [torch.Generator().manual_seed(index_seed(f"{args.seed}/noise/{k}", i))
                                         for i in indices]  # fmt: skip
                    found = generate.upscale(pipe, list(lows), [index_seed(args.seed + k, i) for i in indices], level,
                                             call)  # fmt: skip
                    draws.append(np.clip(found, 0, 1))
                out = (draws[0] * 255).round().astype(np.uint8)
                what = {"model": name, "noise_level": level, "steps": steps}
                if args.samples > 1:  # the mean of k samples estimates the posterior mean: does the drift average out?
                    mean = (np.mean(draws, axis=0) * 255).round().astype(np.uint8)
                    averaged = row({}, mean, truths, lows)
                    what |= {f"{key}_mean_of_{args.samples}": value for key, value in averaged.items()}
                rows.append(row(what, out, truths, lows))
                print(rows[-1], flush=True)
    table = pl.DataFrame(rows)
    with pl.Config(tbl_rows=-1, tbl_width_chars=200, float_precision=2):
        print(table)
    if args.out:
        table.write_csv(args.out)


if __name__ == "__main__":
    main()
