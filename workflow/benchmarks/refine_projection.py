"""Project adaptive refinement to the study's scale (issue 34 item 5): a simulated sweep of the study's shape, 11
sizes × 3 samplers × 8 step counts × 8 guidance scales (2,112 configurations), calibrated on a uniform toy run, refined
with the workflow's own plans against the uniform design at the same cap and tolerance.

    python workflow/benchmarks/refine_projection.py results/toy-uniform --config config/examples/toy-refine.yaml \
        [--metric attr_acc] [--seeds 3] [--sizes 11 --samplers 3 --guidance 8]

Assumptions, all stated in the output:
- truth: the toy's measured means (the pool's, at every image it has), interpolated linearly in log(UNet params)
  between its sizes, linearly in the guidance scale between its two scales (8 scales from the smallest to the largest),
  at its step counts; every sampler has the same truth (the rivals a decision weighs are other models' best
  configurations and other guidance scales, so ties between samplers of one model decide nothing);
- per-image values: truth + an image effect shared by every configuration (the pairing) + independent noise, both
  normal, their spreads calibrated on the pool (the median variance of one configuration's values, and half the
  median variance of the paired differences between neighbouring sizes);
- cost: UNet params relative to the smallest × steps (normalised cost), doubled with guidance above 1 on the GFLOPs
  axis; one UNet call per step for every sampler;
- decisions at the README's 8 budgets per cost axis, as the workflow makes them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from refine_replay import pool  # noqa: E402

from ldmscale import frontier, replay, rounds  # noqa: E402
from ldmscale.paths import CONFIG_KEYS  # noqa: E402

BUDGETS = {"edges": {}, "buckets": 8}  # the README's budgets, as the workflow decides (frontier defaults)


def calibrate(rows: pl.DataFrame, values: dict[str, np.ndarray]) -> tuple[float, float]:
    """Return (sd of the shared image effect, sd of the independent noise) of the pool's per-image values."""
    total = np.median([v.var(ddof=1) for v in values.values()])
    diffs = []
    by_size = rows.sort("unet_params")
    for (_, _, _), group in by_size.group_by(["sampler", "steps", "guidance"], maintain_order=True):
        names = [rounds.key(r) for r in group.iter_rows(named=True)]
        diffs += [(values[a] - values[b]).var(ddof=1) for a, b in zip(names, names[1:])]
    noise = np.median(diffs) / 2
    return float(np.sqrt(max(total - noise, 0.0))), float(np.sqrt(noise))


def study_truth(rows: pl.DataFrame, values: dict, sizes: int, guidance: int) -> list[dict]:
    """Return the simulated sweep's configurations (one sampler) with their interpolated truth and costs."""
    means = {
        (r["unet_params"], r["steps"], r["guidance"]): values[rounds.key(r)].mean() for r in rows.iter_rows(named=True)
    }
    params = sorted({p for p, _, _ in means})
    scales = sorted({g for _, _, g in means})
    low, high = scales[0], scales[-1]
    out = []
    for p in np.exp(np.linspace(np.log(params[0]), np.log(params[-1]), sizes)):
        for steps in sorted({s for _, s, _ in means}):
            at = {g: np.interp(np.log(p), np.log(params), [means[(q, steps, g)] for q in params]) for g in (low, high)}
            for g in np.linspace(low, high, guidance):
                truth = at[low] + (at[high] - at[low]) * (g - low) / (high - low)
                out.append({"size": p, "steps": steps, "guidance": round(float(g), 3), "truth": float(truth)})
    return out


def simulated(configs: list[dict], samplers: int, metric: str, shared: float, noise: float, cap: int, seed: int):
    rng = np.random.default_rng(seed)
    image = rng.normal(0, shared, cap)
    rows, values = [], {}
    smallest = min(c["size"] for c in configs)
    for s in range(samplers):
        for c in configs:
            cost = c["size"] / smallest * c["steps"]
            row = {"task": "t", "model": f"m{c['size'] / 1e6:.2f}M", "sampler": f"sampler{s}", "steps": c["steps"],
                   "guidance": c["guidance"], "unet_params": int(c["size"]), "normalised_cost": cost,
                   "gflops_per_image": cost * (2 if c["guidance"] > 1 else 1), "truth": c["truth"]}  # fmt: skip
            rows.append(row)
            values[rounds.key(row)] = c["truth"] + image + rng.normal(0, noise, cap)
    return pl.DataFrame(rows), {metric: values}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="a uniform toy run's results folder (the calibration pool)")
    parser.add_argument("--config", type=Path, required=True, help="the refined config: its refine section")
    parser.add_argument("--metric", default="attr_acc")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sizes", type=int, default=11)
    parser.add_argument("--samplers", type=int, default=3)
    parser.add_argument("--guidance", type=int, default=8)
    parser.add_argument("--cap", type=int, help="images per configuration at most (default: the pool's)")
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args()
    settings = {"growth": 2, **yaml.safe_load(args.config.read_text())["refine"]}
    settings["tolerance"] = {args.metric: settings["tolerance"][args.metric]}
    rows, pooled, pool_size = pool(args.results, [args.metric])
    cap = args.cap or pool_size
    shared, noise = calibrate(rows, pooled[args.metric])
    configs = study_truth(rows, pooled[args.metric], args.sizes, args.guidance)
    print(f"calibrated on {args.results} ({len(rows)} configurations, {pool_size} images): image effect sd {shared:.3g}, "
          f"noise sd {noise:.3g}; {args.sizes} sizes × {args.samplers} samplers × {len({c['steps'] for c in configs})} "
          f"steps × {args.guidance} guidance scales, cap {cap}, levels {rounds.levels(settings, cap)}, "
          f"tolerance {settings['tolerance']}")  # fmt: skip
    for seed in range(args.seeds):
        start = time.perf_counter()
        sim_rows, values = simulated(configs, args.samplers, args.metric, shared, noise, cap, seed)
        caps = dict.fromkeys(values[args.metric], cap)
        summary, per_image, plans = replay.refine_to_the_end(sim_rows, values, settings, caps, args.reps,
                                                             budgets=BUDGETS)  # fmt: skip
        images, uniform = sum(plans[-1]["images"].values()), cap * sim_rows.height
        truth, eps = (
            sim_rows.select(*CONFIG_KEYS, pl.col("truth").alias(args.metric)),
            settings["tolerance"][args.metric],
        )
        mine = replay.verdicts(summary, per_image, truth, args.metric, plans[-1]["level"], eps, args.reps)
        theirs = replay.verdicts(*replay.observed(sim_rows.drop("truth"), values, caps), truth, args.metric,
                                 frontier.LEVEL, eps, args.reps)  # fmt: skip
        print(f"seed {seed}: {images:,} images, {images / uniform:.1%} of the uniform design's {uniform:,}; "
              f"{len(plans)} rounds, {sum(len(p['refine']) for p in plans)} (configuration, round) pairs; README "
              f"budgets settled {settled(mine)} of {mine.height} (the uniform design at the cap: {settled(theirs)}), "
              f"winners ε-good {int(mine['good'].sum())} ({int(theirs['good'].sum())}) "
              f"({time.perf_counter() - start:.0f} s)")  # fmt: skip


def settled(verdicts: pl.DataFrame) -> int:
    """The budgets whose winner is resolved or tied within ε, or the only model that fits."""
    return verdicts.filter(pl.col("status").is_in(["resolved", "tied within"]) | pl.col("status").is_null()).height


if __name__ == "__main__":
    main()
