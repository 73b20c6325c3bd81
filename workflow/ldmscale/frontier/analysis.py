"""The analysis: best guidance per (model, sampler, steps), Pareto sets, best configuration per budget, crossovers,
and the tidy frontier tables of one metric (`analyse`)."""

from __future__ import annotations

import math

import polars as pl

from ..paths import COST_AXES, DISTILLATION, TABLES
from .distillation import distillation
from .ranking import _finite, _higher_is_better, _ranked, _within
from .uncertainty import (
    LEVEL,
    _budget_interval,
    _crossover_evidence,
    _replicate_best,
    _since,
    per_image_values,
    task_counts,
    with_margins,
)


def best_guidance(df: pl.DataFrame, metric: str) -> pl.DataFrame:
    """Return one row per (task, model, sampler, steps): the guidance scale with the best `metric`.

    As in the paper, the guidance scale is a free choice per model and step count. Ties go to the
    smaller guidance; rows whose metric is null or NaN are never chosen. `guidance_tried` records
    the scales the choice was made among.
    """
    keys = ["task", "model", "sampler", "steps"]
    ranked = _ranked(df, metric)
    tried = ranked.group_by(keys).agg(pl.col("guidance").sort().cast(pl.String).str.join(", ").alias("guidance_tried"))
    return ranked.group_by(keys, maintain_order=True).first().join(tried, on=keys).sort(keys)


def pareto(df: pl.DataFrame, cost: str, metric: str) -> pl.DataFrame:
    """Return the rows no other row beats on both `cost` (lower) and `metric`, sorted by cost, per task.

    A row is kept only if it is strictly better than every cheaper-or-equal row; among equal
    costs and equal scores only one survives (the smaller model, see `_ranked`).
    """
    sign = 1 if _higher_is_better(metric) else -1
    out = []
    for task in sorted(df["task"].unique()):
        rows = _ranked(df.filter(pl.col("task") == task), metric, cost).sort(cost, maintain_order=True)
        best, keep = -math.inf, []
        for i, value in enumerate(rows[metric]):
            if sign * value > best:
                best = sign * value
                keep.append(i)
        out.append(rows[keep])
    return pl.concat(out) if out else df.clear()


def budget_edges(costs: pl.Series, buckets: int = 8) -> list[float]:
    """Return `buckets` log-spaced budgets from the cheapest to the dearest configuration (positive, finite costs only)."""
    costs = costs.filter(costs.is_finite() & (costs > 0))
    if costs.is_empty():
        return []
    low, high = float(costs.min()), float(costs.max())
    if buckets < 2 or low == high:
        return [high]
    ratio = (high / low) ** (1 / (buckets - 1))
    return [low * ratio**k for k in range(buckets - 1)] + [high]


def best_per_budget(df: pl.DataFrame, cost: str, metric: str, edges: list[float]) -> pl.DataFrame:
    """Return, per task and budget, the best configuration whose cost is within the budget."""
    rows = []
    for task in sorted(df["task"].unique()):
        candidates = _ranked(df.filter(pl.col("task") == task), metric, cost)
        for budget in edges:
            within = _within(candidates, cost, budget)
            if not within.is_empty():
                rows.append(
                    {"task": task, "metric": metric, "cost_axis": cost, "budget": budget, **within.row(0, named=True)}
                )
    return pl.DataFrame(rows) if rows else pl.DataFrame()


def crossovers(table: pl.DataFrame) -> pl.DataFrame:
    """Return the budgets at which the best model changes, from a best_per_budget table."""
    rows = []
    for (task,), group in table.sort("budget").group_by(["task"], maintain_order=True):
        models = group["model"].to_list()
        budgets = group["budget"].to_list()
        for i in range(1, len(models)):
            if models[i] != models[i - 1]:
                rows.append({"task": task, "budget": budgets[i], "from_model": models[i - 1], "to_model": models[i]})
    return pl.DataFrame(
        rows, schema={"task": pl.String, "budget": pl.Float64, "from_model": pl.String, "to_model": pl.String}
    )


def crossover_table(
    df: pl.DataFrame, best: pl.DataFrame, cost: str, metric: str, values, counts_by_task
) -> pl.DataFrame:
    """Return the budgets where the best model changes, each with its interval and whether it is resolved.

    Budgets are every configuration's own cost, so a crossover sits at the cost of the first
    configuration of the new model that wins. It is "resolved" only when the new model's best
    configuration within that budget beats the old model's by a margin whose interval excludes
    zero and, when the new model was already affordable one budget below, the old model's margin
    there excludes zero too; otherwise it is "not resolved" and is not a finding. The budget's
    interval is the percentile interval, over paired resamples of the images, of the budget of this
    crossover (see `_budget_interval`; infinite where it never happens in enough resamples).
    """
    rows = []
    for task in sorted(best["task"].unique()):
        tbest = best.filter(pl.col("task") == task)
        grid = sorted(set(tbest.filter(_finite(cost))[cost].to_list()))
        exact = best_per_budget(tbest, cost, metric, grid)
        if exact.is_empty():
            continue
        counts = counts_by_task.get(task)
        replicates = (
            None if counts is None else _replicate_best(df.filter(pl.col("task") == task), cost, metric, values, counts)
        )
        found = crossovers(exact).to_dicts()
        for k, cross in enumerate(found):
            i = grid.index(cross["budget"])
            evidence = _crossover_evidence(tbest, cross, grid[i - 1] if i else None, cost, metric, values, counts)
            interval = _budget_interval(replicates, cross, _since(found[:k], cross), counts.level if counts else LEVEL)
            rows.append({**cross, **interval, **evidence})
    schema = {
        "task": pl.String,
        "budget": pl.Float64,
        "from_model": pl.String,
        "to_model": pl.String,
        "status": pl.String,
    }
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame(schema=schema)


MARGIN_COLUMNS = ["runner_up_model", "runner_up", "margin", "margin_ci_low", "margin_ci_high", "separable", "interval"]


KEEP = ["task", "metric", "cost_axis", "budget", "model", "sampler", "steps", "guidance", "guidance_tried", "cost", "value",
        "ci_low", "ci_high", *MARGIN_COLUMNS, "unet_params", *COST_AXES, "latency_device", "train_flops", "num_images",
        "distilled_from"]  # fmt: skip


def tidy(table: pl.DataFrame, metric: str, cost: str | None = None) -> pl.DataFrame:
    """Return `table` with generic column names (value, ci_low, ci_high, cost), the metric and cost axis in columns."""
    names = {metric: "value", f"{metric}_ci_low": "ci_low", f"{metric}_ci_high": "ci_high"}
    table = table.drop("metric", "cost_axis", strict=False).rename(
        {k: v for k, v in names.items() if k in table.columns}
    )
    table = table.with_columns(metric=pl.lit(metric))
    if cost is not None:
        table = table.with_columns(pl.col(cost).alias("cost"), cost_axis=pl.lit(cost))
    return table.select([c for c in KEEP if c in table.columns])


ALL_SAMPLERS = "all"


def _sampler_scopes(best: pl.DataFrame) -> list[str]:
    """Return where crossovers are looked for: over all samplers, then within each one (when there are several)."""
    samplers = sorted(best["sampler"].unique().to_list())
    return [ALL_SAMPLERS, *samplers] if len(samplers) > 1 else [ALL_SAMPLERS]


def _pooled(crosses: pl.DataFrame) -> pl.DataFrame:
    """Return the crossovers found over all samplers (the frontier's own)."""
    return crosses.filter(pl.col("samplers") == ALL_SAMPLERS) if "samplers" in crosses.columns else crosses


def analyse(
    df: pl.DataFrame, per_image: pl.DataFrame, metric: str, edges: dict, buckets: int, reps: int, level: float = LEVEL
) -> dict[str, pl.DataFrame]:
    """Return the frontier tables of one metric over every cost axis, tidy (see `tidy`), keyed by TABLES, and the
    distillation table (`distillation.distillation`).

    `edges` maps a cost axis to the user's budgets; other axes get `buckets` log-spaced budgets. The paired intervals
    are at `level` (`uncertainty.adjusted_level` for an adaptively refined sweep).
    """
    best = best_guidance(df, metric)
    values = per_image_values(per_image, metric)
    counts = task_counts(best, values, reps, level)
    out = {name: [] for name in TABLES}
    out["best_guidance"].append(tidy(best, metric))
    for cost in (c for c in COST_AXES if c in best.columns):
        out["pareto"].append(tidy(pareto(best, cost, metric), metric, cost))
        exact = sorted(set(best.filter(_finite(cost))[cost].to_list()))
        for name, grid in (
            ("best_per_budget", edges.get(cost) or budget_edges(best[cost], buckets)),
            ("best_per_cost", exact),
        ):
            table = best_per_budget(best, cost, metric, grid)
            if not table.is_empty():
                out[name].append(tidy(with_margins(table, best, cost, metric, values, counts), metric, cost))
        for sampler in _sampler_scopes(best):
            pick = pl.lit(True) if sampler == ALL_SAMPLERS else pl.col("sampler") == sampler
            crosses = crossover_table(df.filter(pick), best.filter(pick), cost, metric, values, counts)
            out["crossovers"].append(
                crosses.with_columns(metric=pl.lit(metric), cost_axis=pl.lit(cost), samplers=pl.lit(sampler))
            )
    tables = {
        name: pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame() for name, frames in out.items()
    }
    return tables | {DISTILLATION: distillation(best, metric, values, counts)}
