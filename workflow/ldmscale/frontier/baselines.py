"""Super-resolution baselines against the models: each model's best configuration's paired margin over each baseline
(its inputs upscaled without a model, `paths.BASELINE`), and per cost axis the smallest budget a model wins.

A baseline costs nothing to sample, so it fits every budget: on the frontier a model wins a budget only where it beats
it (`analysis`), and a change from the baseline to a model is a crossover like any other. This module says the same
per model, budget aside: does the model's best configuration beat the baseline at all, and by how much.
"""

from __future__ import annotations

import polars as pl

from ..paths import BASELINE
from .ranking import _ranked, describe
from .uncertainty import compare

BASELINES = "baselines"  # analyse's key of the table of models against baselines
COLUMNS = {"task": pl.String, "metric": pl.String, "baseline": pl.String, "baseline_value": pl.Float64,
           "model": pl.String, "config": pl.String, "value": pl.Float64, "margin": pl.Float64,
           "margin_ci_low": pl.Float64, "margin_ci_high": pl.Float64, "separable": pl.Boolean,
           "interval": pl.String}  # fmt: skip


def is_baseline() -> pl.Expr:
    """Return an expression true on the rows of baselines (the summary's `sampler` is paths.BASELINE): the one test of
    whether a row is a model's, for every table that must leave baselines out (scaling laws, steps, sizes)."""
    return pl.col("sampler") == BASELINE


def against_baselines(df: pl.DataFrame, metric: str, values: dict, counts: dict) -> pl.DataFrame:
    """Return, per task, baseline and model, the model's best configuration on `metric` (any sampler, steps, guidance)
    and its margin over the baseline (positive: the model is better), paired over images where both have per-image
    values (`uncertainty.compare`, 95% per comparison); empty without baselines."""
    ranked = _ranked(df, metric)
    rows = []
    for task in sorted(ranked.filter(is_baseline())["task"].unique().to_list()):
        here = ranked.filter(pl.col("task") == task)
        bests = here.group_by("model", maintain_order=True).first()
        for base in bests.filter(is_baseline()).iter_rows(named=True):
            for best in bests.filter(~is_baseline()).iter_rows(named=True):
                margin = compare(best, base, metric, values, counts.get(task))
                rows.append({"task": task, "metric": metric, "baseline": base["model"], "baseline_value": base[metric],
                             "model": best["model"], "config": describe(best), "value": best[metric], **margin})  # fmt: skip
    return pl.DataFrame(rows, schema=COLUMNS)


def first_model_budgets(best_per_budget: pl.DataFrame, baselines: list[str]) -> pl.DataFrame:
    """Return, per task, metric and cost axis, the smallest budget whose winner is a model, not a baseline (none where
    a baseline wins every budget), with that winner."""
    if best_per_budget.is_empty() or not baselines:
        return pl.DataFrame()
    wins = best_per_budget.filter(~pl.col("model").is_in(baselines)).sort("budget")
    return wins.group_by(["task", "metric", "cost_axis"], maintain_order=True).first()
