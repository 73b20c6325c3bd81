"""Adaptive refinement replayed on per-image values whose truth is known: a synthetic sweep's (tests/test_refine.py),
or a pool of a uniform run's images, reordered at random (workflow/benchmarks/refine_replay.py). It measures what the
refinement spends and how often its answers are wrong, where the truth is each configuration's mean over the pool.

A replay runs the same plans as the workflow (`refine.plan`, `rounds.advance`) on the first n values of each
configuration, and ends with the frontier's own verdicts (`frontier.analyse`) on what the last round holds.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from . import frontier, refine, rounds
from .frontier.ranking import _higher_is_better
from .paths import CONFIG_KEYS


def observed(rows: pl.DataFrame, values: dict, images: dict[str, int]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return the summary and the per-image table that each configuration's first `images[c]` values give.

    `rows` has one row per configuration (its keys and costs); `values` maps metric → configuration → its values in
    image order. A score is the mean of its per-image values, its own interval the normal one."""
    summary, per_image = [], []
    for row in rows.iter_rows(named=True):
        name = rounds.key(row)
        out = {**row, "num_images": images[name]}
        for metric, by_config in values.items():
            v = by_config[name][: images[name]]
            half = 1.96 * v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else 0.0
            out |= {metric: v.mean(), f"{metric}_ci_low": v.mean() - half, f"{metric}_ci_high": v.mean() + half}
            keys = {k: row[k] for k in CONFIG_KEYS}
            per_image += [{**keys, "metric": metric, "index": i, "value": float(x)} for i, x in enumerate(v)]
        summary.append(out)
    return pl.DataFrame(summary), pl.DataFrame(per_image)


def refine_to_the_end(
    rows: pl.DataFrame,
    values: dict,
    settings: dict,
    caps: dict[str, int],
    reps: int = 300,
    one_level: bool = False,
    budgets: dict | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, list[dict]]:
    """Run refinement (`settings`: config `refine`) round by round until a plan refines nothing; return the last
    round's summary and per-image table, and the plans. `one_level`: every planned configuration climbs one level
    per round, as before refinement jumped; `budgets`: as `refine.decisions` takes them (None: every configuration's
    own cost)."""
    tasks = {task: {"num_images": max(n for c, n in caps.items() if rounds.task_of(c) == task)}
             for task in {rounds.task_of(c) for c in caps}}  # fmt: skip
    images = {c: min(settings["initial_images"], n) for c, n in caps.items()}
    looks, plans = rounds.looks(settings, tasks), []
    while True:
        summary, per_image = observed(rows, values, images)
        plan = refine.plan(summary, per_image, list(values), images, caps, reps, looks, len(plans),
                           settings.get("tolerance"), budgets)  # fmt: skip
        if one_level:
            del plan["needed_images"]
        plans.append(plan)
        if not plan["refine"]:
            return summary, per_image, plans
        images = rounds.advance(plan, settings, tasks)


def verdicts(
    summary: pl.DataFrame, per_image: pl.DataFrame, truth: pl.DataFrame, metric: str, level: float,
    tolerance: float, reps: int = 300,
) -> pl.DataFrame:  # fmt: skip
    """Return the frontier's verdict at every budget of its README (8 per cost axis) with the truth
    beside it: `status` (resolved, tied within ε, not resolved), `good` (the winner is, in truth, within ε of the best
    configuration that fits), `wrong` (resolved, yet another model has, in truth, a better configuration that fits).
    `truth` has each configuration's keys and its true `metric`."""
    tables = frontier.analyse(summary, per_image, metric, {}, 8, reps, level, tolerance)
    best = tables["best_per_budget"]
    sign = 1.0 if _higher_is_better(metric) else -1.0
    truth = truth.join(summary.select(*CONFIG_KEYS, *frontier_costs(summary)), on=CONFIG_KEYS)
    out = []
    for row in best.iter_rows(named=True):
        fits = truth.filter(pl.col(row["cost_axis"]) <= row["budget"]).with_columns(t=sign * pl.col(metric))
        mine = fits.filter(*(pl.col(k) == row[k] for k in CONFIG_KEYS))["t"][0]
        rivals = fits.filter(pl.col("model") != row["model"])["t"]
        out.append({"cost_axis": row["cost_axis"], "budget": row["budget"], "model": row["model"],
                    "status": row.get("status"), "good": bool(mine >= fits["t"].max() - tolerance),
                    "wrong": bool(row.get("resolved")) and not rivals.is_empty() and rivals.max() > mine})  # fmt: skip
    return pl.DataFrame(out, schema={"cost_axis": pl.String, "budget": pl.Float64, "model": pl.String,
                                     "status": pl.String, "good": pl.Boolean, "wrong": pl.Boolean})  # fmt: skip


def frontier_costs(summary: pl.DataFrame) -> list[str]:
    return [c for c in frontier.COST_AXES if c in summary.columns]
