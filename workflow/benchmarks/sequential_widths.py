"""How wide each way of stopping early makes a paired interval, on a finished run: Bonferroni over a fixed set of looks
(what adaptive refinement does now: `frontier.uncertainty.adjusted_level`) against the anytime-valid confidence
sequence of `ldmscale.sequential`, at the image counts a refined sweep looks at.

For every pair of configurations that a budget decision could rest on (per task, sampler and step count, the best two
models' best guidance), the half-width of the interval on their mean paired difference after the first n images:
- the paired bootstrap percentile interval at 95% (one look: the uniform design's);
- the same at 1 - 0.05 / looks (Bonferroni over the looks, valid wherever the refinement stops among them);
- the PrPl-EB confidence sequence at α = 0.05 (valid at every n, so any stopping rule).

    python workflow/benchmarks/sequential_widths.py tests/data/default_run_summary.parquet \\
        tests/data/default_run_per_image.parquet --metric attr_acc --looks 32 64 128
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # workflow/: the ldmscale package

from ldmscale import metrics, sequential  # noqa: E402
from ldmscale.frontier.analysis import best_guidance  # noqa: E402
from ldmscale.frontier.uncertainty import per_image_values, resample_counts  # noqa: E402


def pairs(summary: pl.DataFrame, per_image: pl.DataFrame, metric: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Return (label, values of the best, values of the runner-up) per task, sampler and step count."""
    values = per_image_values(per_image, metric)
    out = []
    best = best_guidance(summary, metric)
    for (task, sampler, steps), group in best.group_by(["task", "sampler", "steps"], maintain_order=True):
        top = group.sort(metric, descending=True).head(2).iter_rows(named=True)
        keys = [(r["task"], r["model"], r["sampler"], r["steps"], r["guidance"]) for r in top]
        if len(keys) == 2 and all(k in values for k in keys):
            out.append((f"{task}/{sampler}/{steps} steps: {keys[0][1]} vs {keys[1][1]}", *(values[k] for k in keys)))
    return out


def half_widths(a: np.ndarray, b: np.ndarray, looks: list[int], reps: int) -> list[dict]:
    """Return, at each look n, the three half-widths of the interval on mean(a - b) over the first n images."""
    rows, low, high = [], *sequential.paired_sequence(a, b)
    for n in looks:
        diff = (a - b)[:n]
        counts = resample_counts(n, reps)
        means = counts @ diff / counts.sum(1)
        one = metrics.percentile_interval(means, 0.95)
        bonferroni = metrics.percentile_interval(means, 1 - 0.05 / len(looks))
        rows.append({"n": n, "bootstrap_95": (one[1] - one[0]) / 2, "bonferroni": (bonferroni[1] - bonferroni[0]) / 2,
                     "sequence": (high[n - 1] - low[n - 1]) / 2})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summary")
    parser.add_argument("per_image")
    parser.add_argument("--metric", default="attr_acc", help="a metric with per-image values in [0, 1]")
    parser.add_argument("--looks", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--reps", type=int, default=2000)
    args = parser.parse_args(argv)
    found = pairs(pl.read_parquet(args.summary), pl.read_parquet(args.per_image), args.metric)
    rows = [{"pair": label, **row} for label, a, b in found for row in half_widths(a, b, args.looks, args.reps)]
    table = pl.DataFrame(rows)
    median = table.group_by("n").agg(pl.col("bootstrap_95", "bonferroni", "sequence").median()).sort("n")
    median = median.with_columns(ratio=pl.col("sequence") / pl.col("bonferroni"))
    with pl.Config(tbl_rows=-1, float_precision=4):
        print(f"{len(found)} pairs of {args.metric}; median half-widths over them:")
        print(median)


if __name__ == "__main__":
    main()
