"""How much covering the data's choice of winner and runner-up moves a margin's interval, on a finished run.

For each winner margin of best_per_budget, compare its per-comparison interval as the frontier reports it (simultaneous
over every pair of configurations its two sides hold after screening, `frontier.family`) with the percentile interval
of the fixed pair the estimate names (`frontier.compare`, what the frontier reported before issue 30). Prints, per
metric and cost axis, the median and largest drop of the lower bound, in units of the fixed pair's interval width, and
how many verdicts (interval excludes zero) differ.

    python workflow/benchmarks/selection.py results/default/summary.parquet results/default/per_image.parquet results/default/frontier
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ldmscale import frontier  # noqa: E402


def _by_description(summary: pl.DataFrame) -> dict[tuple[str, str], dict]:
    return {(r["task"], frontier.describe(r)): r for r in summary.iter_rows(named=True)}


def shifts(summary: pl.DataFrame, per_image: pl.DataFrame, tables: Path, reps: int) -> pl.DataFrame:
    """Return one row per margin: metric, cost axis, the two lower bounds and widths, and both verdicts."""
    rows, configs = [], _by_description(summary)
    budgets = pl.read_parquet(tables / "best_per_budget.parquet").filter(pl.col("margin_ci_low").is_not_null())
    for metric in budgets["metric"].unique().sort().to_list():
        values = frontier.per_image_values(per_image, metric)
        counts = frontier.uncertainty.task_counts(summary, values, reps)
        for r in budgets.filter(pl.col("metric") == metric).iter_rows(named=True):
            winner = configs[(r["task"], frontier.describe(r))]
            rival = configs[(r["task"], r["runner_up"])]
            fixed = frontier.compare(winner, rival, metric, values, counts[r["task"]])
            rows.append({"metric": metric, "cost_axis": r["cost_axis"], "reselected_low": r["margin_ci_low"],
                         "fixed_low": fixed["margin_ci_low"], "fixed_width": fixed["margin_ci_high"] - fixed["margin_ci_low"],
                         "reselected_separable": r["separable"], "fixed_separable": fixed["separable"]})  # fmt: skip
    return pl.DataFrame(rows)


def main(argv: list[str]) -> None:
    summary, per_image, tables = pl.read_parquet(argv[0]), pl.read_parquet(argv[1]), Path(argv[2])
    table = shifts(summary, per_image, tables, int(argv[3]) if len(argv) > 3 else 10_000)
    table = table.with_columns(shift=(pl.col("fixed_low") - pl.col("reselected_low")) / pl.col("fixed_width"))
    out = table.group_by(["metric", "cost_axis"], maintain_order=True).agg(
        margins=pl.len(),
        median_lower_bound_drop=pl.col("shift").median(),
        largest_lower_bound_drop=pl.col("shift").max(),
        verdicts_differ=(pl.col("reselected_separable") != pl.col("fixed_separable")).sum(),
    )
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200):
        print("lower bound drop: (fixed pair's lower bound − re-selected one) / fixed pair's interval width")
        print(out)
        print(f"all margins: median drop {np.median(table['shift']):.3f}, largest {table['shift'].max():.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
