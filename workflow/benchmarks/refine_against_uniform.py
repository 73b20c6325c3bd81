"""A refined run against its uniform counterpart (issue 34's acceptance): images, jobs per rule, and, at every budget
where the uniform run resolves a winner, whether the refined run names one within the tolerance of it.

    python workflow/benchmarks/refine_against_uniform.py results/toy-refine results/toy-uniform \
        --config config/examples/toy-refine.yaml

The uniform run's means (every configuration at the cap) stand in for the truth: a refined winner is ε-good where its
configuration's uniform value is within ε of the uniform winner's. Budgets are compared on normalised cost and
GFLOPs: each run profiles its own latencies, so their latency budgets differ. Jobs are counted from each run's logs
(one per job).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import polars as pl
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ldmscale import scoring  # noqa: E402

KEYS = ["task", "model", "sampler", "steps", "guidance"]
AXES = ["normalised_cost", "gflops_per_image"]


def jobs(results: Path) -> Counter:
    return Counter(p.relative_to(results / "logs").parts[0] for p in (results / "logs").rglob("*.log"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("refined", type=Path)
    parser.add_argument("uniform", type=Path)
    parser.add_argument("--config", type=Path, required=True, help="the refined config: its tolerances")
    args = parser.parse_args()
    tolerance = yaml.safe_load(args.config.read_text())["refine"]["tolerance"]
    refined, uniform = (pl.read_parquet(p / "summary.parquet") for p in (args.refined, args.uniform))
    print(f"images: refined {refined['num_images'].sum():,}, uniform {uniform['num_images'].sum():,} "
          f"({refined['num_images'].sum() / uniform['num_images'].sum():.1%})")  # fmt: skip
    for name, results in (("refined", args.refined), ("uniform", args.uniform)):
        counted = jobs(results)
        print(f"jobs, {name}: {sum(counted.values())} ({', '.join(f'{k} {v}' for k, v in sorted(counted.items()))})")
    plans = sorted((args.refined / "refine").glob("round*.json"))
    print(f"rounds: {len(plans)}")
    table = [pl.read_csv(p / "frontier" / "best_per_budget.csv") for p in (args.refined, args.uniform)]
    for metric, eps in tolerance.items():
        sign = 1 if scoring.get(metric).higher_is_better else -1
        truth = {tuple(r[k] for k in KEYS): sign * r[metric] for r in uniform.iter_rows(named=True)}
        named = good = 0
        statuses = Counter()
        for axis in AXES:
            u = table[1].filter((pl.col("metric") == metric) & (pl.col("cost_axis") == axis) & pl.col("resolved"))
            r = table[0].filter((pl.col("metric") == metric) & (pl.col("cost_axis") == axis))
            for row in u.iter_rows(named=True):
                mine = r.filter(pl.col("budget") == row["budget"])
                if mine.is_empty():
                    continue
                mine = mine.row(0, named=True)
                statuses[mine.get("status")] += 1
                named += 1
                good += truth[tuple(mine[k] for k in KEYS)] >= truth[tuple(row[k] for k in KEYS)] - eps
        print(f"{metric} (ε = {eps}): the uniform run resolves {named} budgets on {' and '.join(AXES)}; the refined "
              f"run's winner is ε-good at {good}; its verdicts there: {dict(statuses)}")  # fmt: skip


if __name__ == "__main__":
    main()
