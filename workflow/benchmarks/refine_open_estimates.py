"""How well a decision's estimate of the images that would settle it (`refine.open_decisions`, the README's "open at
the cap") predicts what more images do: on a uniform run's pool of N images per configuration, each replay orders the
images at random, plans at N/2 images everywhere (the refinement's plan, at its looks' level and tolerance), and then
at N, and counts the budget decisions open at N/2 that N settles, apart for those whose estimate was at most N.

    python workflow/benchmarks/refine_open_estimates.py results/toy-uniform --config config/examples/toy-refine.yaml \
        [--replays 20]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from refine_replay import BUDGETS, pool  # noqa: E402

from ldmscale import refine, replay, rounds  # noqa: E402


def plan_at(rows, values: dict, images: int, settings: dict, looks: int, reps: int) -> dict:
    """The refinement's plan with every configuration at `images` of its values, the cap."""
    counts = dict.fromkeys(values[next(iter(values))], images)
    summary, per_image = replay.observed(rows, values, counts)
    return refine.plan(summary, per_image, list(values), counts, counts, reps, looks, 0, settings["tolerance"],
                       BUDGETS["readme"])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="a uniform run's results folder (the pool)")
    parser.add_argument("--config", type=Path, required=True, help="the refined config: its refine section")
    parser.add_argument("--replays", type=int, default=20)
    parser.add_argument("--reps", type=int, default=200, help="paired bootstrap resamples")
    args = parser.parse_args()
    settings = yaml.safe_load(args.config.read_text())["refine"]
    metrics = list(settings["tolerance"])
    rows, pooled, n = pool(args.results, metrics)
    looks = len(rounds.levels(settings, n))
    counts = {m: {"within": [0, 0], "beyond": [0, 0]} for m in metrics}  # [settled at N, open at N/2]
    for seed in range(args.replays):
        order = np.random.default_rng(seed).permutation(n)
        values = {m: {c: v[order] for c, v in by_config.items()} for m, by_config in pooled.items()}
        half, full = (plan_at(rows, values, k, settings, looks, args.reps) for k in (n // 2, n))
        still = {(d["metric"], d["cost_axis"], d["budget"]) for d in full["unresolved"]}
        left = refine.open_decisions(half, half["images"])
        for r in left.filter(left["decision"] == "best within budget").iter_rows(named=True):
            side = "within" if r["needed_images"] is not None and r["needed_images"] <= n else "beyond"
            counts[r["metric"]][side][0] += (r["metric"], r["cost_axis"], r["budget"]) not in still
            counts[r["metric"]][side][1] += 1
    print(f"{args.replays} replays; budget decisions open at {n // 2} images, settled at {n}:")
    for metric, c in counts.items():
        print(f"  {metric}: estimate ≤ {n}: {c['within'][0]} of {c['within'][1]}; "
              f"estimate > {n} or none: {c['beyond'][0]} of {c['beyond'][1]}")  # fmt: skip


if __name__ == "__main__":
    main()
