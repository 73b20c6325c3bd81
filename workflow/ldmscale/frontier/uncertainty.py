"""Uncertainty: a paired bootstrap over images, margins between configurations, and how sure each crossover is."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from .. import metrics
from ..paths import CONFIG_KEYS
from .ranking import _finite, _higher_is_better, _key, _ranked, _within, describe

LEVEL = 0.95  # every interval on the frontier is a 95% interval


BOOTSTRAP_SEED = 0


RESOLVED, NOT_RESOLVED = "resolved", "not resolved"


def per_image_values(per_image: pl.DataFrame, metric: str) -> dict[tuple, np.ndarray]:
    """Return {(task, model, sampler, steps, guidance): per-image values in image-index order} for `metric`."""
    rows = per_image.filter(pl.col("metric") == metric).sort([*CONFIG_KEYS, "index"])
    return {key: group["value"].to_numpy() for key, group in rows.group_by(CONFIG_KEYS, maintain_order=True)}


def resample_counts(n: int, reps: int, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """Return (reps, n) counts: how often each image index is drawn in each resample of n images with replacement.

    One set of counts serves every configuration of a task, which pairs the comparisons: image i
    has the same prompt and initial latent in every configuration.
    """
    return np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), size=reps)


def adjusted_level(looks: int) -> float:
    """Return the level of each interval when the data are looked at up to `looks` times (Bonferroni over the looks).

    An adaptively refined sweep compares two configurations on their common images after each round, at up to
    `looks` distinct image counts. If each look's interval misses with probability at most (1 - LEVEL) / looks, the
    chance that any of them misses is at most 1 - LEVEL (the union bound), so whichever look the refinement stops at,
    its interval holds at LEVEL: a repeated confidence interval (Jennison & Turnbull 1989, JRSS B 51(3):305-361).
    """
    return 1 - (1 - LEVEL) / looks


@dataclass(frozen=True)
class Resamples:
    """Paired bootstrap resamples of one task's images, and the level of the intervals drawn from them.

    `counts[r, i]` is how often image i is drawn in resample r (`resample_counts` over the task's most images). A
    configuration scored on fewer images, its first n (an adaptively refined sweep), uses the counts of its prefix:
    given their total, those are a resample of its n images, and still paired with every other configuration's.
    """

    counts: np.ndarray
    level: float = LEVEL

    def means(self, values: np.ndarray) -> np.ndarray:
        """Return the mean of per-image `values` (the first len(values) images) in every resample."""
        counts = self.counts[:, : len(values)]
        return counts @ values / np.maximum(counts.sum(1), 1)


def task_counts(
    best: pl.DataFrame, values: dict[tuple, np.ndarray], reps: int, level: float = LEVEL
) -> dict[str, Resamples]:
    """Return {task: paired resamples} over the most images any configuration of the task was scored on."""
    counts = {}
    for task in best["task"].unique().to_list():
        lengths = [len(v) for key, v in values.items() if key[0] == task]
        if lengths:
            counts[task] = Resamples(resample_counts(max(lengths), reps), level)
    return counts


def compare(a: dict, b: dict, metric: str, values: dict[tuple, np.ndarray], counts: Resamples | None) -> dict:
    """Return by how much configuration `a` beats `b` on `metric` (positive: a is better), with an interval at
    `counts.level` (95% unless the sweep was refined adaptively).

    With per-image values for both, the interval is a paired bootstrap percentile interval of the
    mean difference on the images both were scored on (the first min(n_a, n_b)), and the two are
    separable when it excludes zero. Set-level metrics (Fréchet distances) have no per-image values:
    then they are separable only when their own (95%) intervals do not overlap.
    """
    sign = 1 if _higher_is_better(metric) else -1
    margin = sign * (a[metric] - b[metric])
    va, vb = values.get(_key(a)), values.get(_key(b))
    if va is not None and vb is not None and counts is not None:
        n = min(len(va), len(vb))
        low, high = metrics.percentile_interval(counts.means(sign * (va[:n] - vb[:n])), counts.level)
        return {"margin": margin, "margin_ci_low": low, "margin_ci_high": high, "separable": low > 0 or high < 0,
                "interval": "paired bootstrap over images"}  # fmt: skip
    apart = a[f"{metric}_ci_low"] > b[f"{metric}_ci_high"] or a[f"{metric}_ci_high"] < b[f"{metric}_ci_low"]
    return {"margin": margin, "margin_ci_low": None, "margin_ci_high": None, "separable": bool(apart),
            "interval": "non-overlap of the two scores' intervals"}  # fmt: skip


NO_RUNNER_UP = {"runner_up_model": None, "runner_up": None, "margin": None, "margin_ci_low": None, "margin_ci_high": None,
                "separable": None, "interval": None}  # fmt: skip


def with_margins(
    table: pl.DataFrame, best: pl.DataFrame, cost: str, metric: str, values, counts_by_task: dict
) -> pl.DataFrame:
    """Return a best_per_budget table with, per budget, the best other model within it and the winner's margin over it."""
    rows = []
    for row in table.iter_rows(named=True):
        others = _ranked(
            _within(
                best.filter((pl.col("task") == row["task"]) & (pl.col("model") != row["model"])), cost, row["budget"]
            ),
            metric,
            cost,
        )
        extra = dict(NO_RUNNER_UP)
        if not others.is_empty():
            other = others.row(0, named=True)
            margin = compare(row, other, metric, values, counts_by_task.get(row["task"]))
            extra = {"runner_up_model": other["model"], "runner_up": describe(other), **margin}
        rows.append({**row, **extra})
    return pl.DataFrame(rows, infer_schema_length=None) if rows else table


def _replicate_best(df: pl.DataFrame, cost: str, metric: str, values, counts) -> tuple[list[float], dict] | None:
    """Return (budgets, {model: (len(budgets), reps) best resampled score within each budget}), None without per-image values.

    Budgets are every configuration's cost. Each resample re-makes every choice the estimate
    made: the guidance per (model, sampler, steps), then each model's best configuration within
    each budget. Scores are signed so that higher is better; -inf where a model has nothing within a budget.
    """
    rows = df.filter(_finite(metric, cost))
    if any(_key(r) not in values for r in rows.iter_rows(named=True)):
        return None
    sign = 1 if _higher_is_better(metric) else -1
    grid = sorted(set(rows[cost].to_list()))
    out = {}
    for (model,), model_rows in rows.group_by(["model"]):
        chosen_scores, chosen_costs = [], []
        for _, group in model_rows.group_by(["sampler", "steps"]):
            scores = np.stack([sign * counts.means(values[_key(r)]) for r in group.iter_rows(named=True)])
            pick = scores.argmax(0)
            chosen_scores.append(scores[pick, np.arange(scores.shape[1])])
            chosen_costs.append(group[cost].to_numpy()[pick])
        scores, costs = np.stack(chosen_scores), np.stack(chosen_costs)
        out[model] = np.stack([np.where(costs <= b * (1 + 1e-9), scores, -np.inf).max(0) for b in grid])
    return grid, out


def _since(earlier: list[dict], cross: dict) -> float:
    """Return the budget of the last earlier crossover between the same two models (either way), else 0.

    The pair can swap the lead more than once; this crossover's event starts there.
    """
    pair = {cross["from_model"], cross["to_model"]}
    return max((c["budget"] for c in earlier if {c["from_model"], c["to_model"]} == pair), default=0.0)


def _budget_interval(replicates, cross: dict, since: float, level: float = LEVEL) -> dict:
    """Return the percentile interval, over resamples, of the budget at which this crossover happens.

    In each resample that is the first budget from `since` on at which `to_model` beats
    `from_model` while both fit. Budgets where one of them fits nothing are no contest: counting
    them would date a smaller model's overtaking to before the larger one was affordable, another event.
    """
    if replicates is None:
        return {"budget_ci_low": None, "budget_ci_high": None}
    grid, best = replicates
    new, old = best[cross["to_model"]], best[cross["from_model"]]
    budgets = np.asarray(grid)
    overtakes = (new > old) & np.isfinite(new) & np.isfinite(old) & (budgets >= since * (1 - 1e-9))[:, None]
    first = np.where(overtakes.any(0), budgets[overtakes.argmax(0)], math.inf)
    tail = (1 - level) / 2
    low, high = (float(np.quantile(first, q, method="inverted_cdf")) for q in (tail, 1 - tail))
    return {"budget_ci_low": low, "budget_ci_high": high}


def _crossover_evidence(best, cross: dict, previous: float | None, cost, metric, values, counts) -> dict:
    """Return the margins just after and just before one crossover and whether they make it resolved."""

    def best_of(model, budget):
        rows = _ranked(_within(best.filter(pl.col("model") == model), cost, budget), metric, cost)
        return None if rows.is_empty() else rows.row(0, named=True)

    old, new, budget = cross["from_model"], cross["to_model"], cross["budget"]
    after = compare(best_of(new, budget), best_of(old, budget), metric, values, counts)
    resolved = after["separable"]
    before = {"margin": None, "margin_ci_low": None, "margin_ci_high": None}
    if previous is not None and best_of(new, previous) is not None:
        before = compare(best_of(old, previous), best_of(new, previous), metric, values, counts)
        resolved = resolved and before["separable"]
    return {
        "status": RESOLVED if resolved else NOT_RESOLVED,
        "from_config": describe(best_of(old, budget)), "to_config": describe(best_of(new, budget)),
        **{f"{k.replace('margin', 'margin_after')}": v for k, v in after.items() if k.startswith("margin")},
        **{f"{k.replace('margin', 'margin_before')}": v for k, v in before.items() if k.startswith("margin")},
        "interval": after["interval"],
    }  # fmt: skip
