"""Uncertainty: the paired bootstrap over images, one task's candidates as arrays that every resample re-chooses from
(`Sweep`), margins between two configurations, and intervals of events such as a crossover's budget."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from .. import metrics
from ..paths import CONFIG_KEYS
from .ranking import BUDGET_SLACK, _finite, _higher_is_better, _key, _ties, quantise

LEVEL = 0.95  # every interval on the frontier is a 95% interval


BOOTSTRAP_SEED = 0


RESOLVED, NOT_RESOLVED, TIED = "resolved", "not resolved", "tied within"


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
    `counts.level` (95% unless the sweep was refined adaptively): one comparison, at its own level.

    With per-image values for both, the margin is the mean difference on the images both were scored on (the first
    min(n_a, n_b)) and the interval its paired bootstrap percentile interval on the same images; the two are separable
    when it excludes zero. Set-level metrics (Fréchet distances) have no per-image values: then the margin is the
    difference of the scores and they are separable only when their own (95%) intervals do not overlap.
    """
    sign = 1 if _higher_is_better(metric) else -1
    va, vb = values.get(_key(a)), values.get(_key(b))
    if va is not None and vb is not None and counts is not None:
        n = min(len(va), len(vb))
        diff = sign * (va[:n] - vb[:n])
        low, high = metrics.percentile_interval(counts.means(diff), counts.level)
        return {"margin": float(quantise(diff.mean())), "margin_ci_low": low, "margin_ci_high": high,
                "separable": low > 0 or high < 0, "interval": "paired bootstrap over images"}  # fmt: skip
    margin = float(quantise(sign * (a[metric] - b[metric])))
    apart = a[f"{metric}_ci_low"] > b[f"{metric}_ci_high"] or a[f"{metric}_ci_high"] < b[f"{metric}_ci_low"]
    return {"margin": margin, "margin_ci_low": None, "margin_ci_high": None, "separable": bool(apart),
            "interval": "non-overlap of the two scores' intervals"}  # fmt: skip


NO_RUNNER_UP = {"runner_up_model": None, "runner_up": None, "margin": None, "margin_ci_low": None, "margin_ci_high": None,
                "separable": None, "interval": None}  # fmt: skip


@dataclass
class Sweep:
    """One task's candidates on one cost axis, as arrays, and their scores in the estimate and every paired resample.

    The candidates (`frame`) are the rows with a finite score and cost, cheapest first, equal costs in the tie order of
    `ranking._ranked`. `draws[c, 0]` is candidate c's score, `draws[c, 1 + r]` its mean in resample r, both signed so
    that higher is better and rounded by `ranking.quantise`. Every choice the frontier makes (the best configuration
    within a budget, of a model, of the others) is made column by column, so each resample re-makes all of them, and
    column 0 is the estimate itself. Without per-image values for every candidate there are no resamples (one column).
    """

    frame: pl.DataFrame
    costs: np.ndarray
    models: np.ndarray
    draws: np.ndarray
    level: float = LEVEL
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, df: pl.DataFrame, cost: str, metric: str, values: dict, counts: Resamples | None) -> Sweep:
        """Return the sweep of `df`'s rows (one task) on `cost`; paired resamples where every row has per-image values."""
        rows = df.filter(_finite(metric, cost)).sort([cost, *_ties(df)], nulls_last=True)
        sign = 1 if _higher_is_better(metric) else -1
        columns = [sign * rows[metric].to_numpy()[:, None]]
        keys = [_key(r) for r in rows.iter_rows(named=True)]
        if counts is not None and keys and all(k in values for k in keys):
            columns.append(np.stack([sign * counts.means(values[k]) for k in keys]))
        return cls(
            frame=rows,
            costs=rows[cost].to_numpy().astype(float),
            models=np.asarray(rows["model"].to_list(), dtype=object),
            draws=quantise(np.hstack(columns)),
            level=LEVEL if counts is None else counts.level,
        )

    @property
    def resampled(self) -> bool:
        return self.draws.shape[1] > 1

    def row(self, index: int) -> dict:
        return self.frame.row(int(index), named=True)

    def fits(self, budget: float) -> int:
        """Return how many candidates cost at most `budget` (all of them come first)."""
        return int(np.searchsorted(self.costs, budget * (1 + BUDGET_SLACK), side="right"))

    def budgets(self) -> list[float]:
        """Return every candidate's own cost, once each, cheapest first: the budgets at which the answer can change."""
        return sorted(set(self.costs.tolist()))

    def memo(self, key, make):
        """Return `make()`, computed once per sweep and `key`: what depends on the draws alone (running bests, pairs)."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def best(self, keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return (index, score), each (candidates, columns): the best of the first k + 1 candidates where `keep` is
        true, in every column; the first of equal scores (the cheapest, then the tie order); index -1, score -inf where
        none is kept. Cached per `keep`."""
        keep = np.ones(self.frame.height, bool) if keep is None else keep

        def running() -> tuple[np.ndarray, np.ndarray]:
            scores = np.where(keep[:, None], self.draws, -np.inf)
            top = np.maximum.accumulate(scores, axis=0)
            new = np.vstack([scores[:1] > -np.inf, scores[1:] > top[:-1]])
            return np.maximum.accumulate(np.where(new, np.arange(len(scores))[:, None], -1), axis=0), top

        return self.memo(("best", keep.tobytes()), running)

    def leader(self, budget: float, keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return (index, score) per column of the best kept candidate within `budget` (-1, -inf where none)."""
        k = self.fits(budget)
        if k == 0:
            width = self.draws.shape[1]
            return np.full(width, -1), np.full(width, -np.inf)
        index, top = self.best(keep)
        return index[k - 1], top[k - 1]

    def of_model(self, model: str) -> np.ndarray:
        return self.models == model

    def of_all(self) -> np.ndarray:
        return np.ones(self.frame.height, bool)

    def within(self, budget: float, keep: np.ndarray) -> np.ndarray:
        """Return the indices of the candidates within `budget` where `keep` is true."""
        return np.flatnonzero(keep[: self.fits(budget)])


def percentile(draws: np.ndarray, level: float) -> tuple[float, float]:
    """Return the equal-tailed percentile interval of `draws` at `level` (order statistics, inf allowed)."""
    tail = (1 - level) / 2
    return tuple(float(np.quantile(draws, q, method="inverted_cdf")) for q in (tail, 1 - tail))


def event_interval(draws: np.ndarray, level: float) -> dict:
    """Return the interval of an event's value (a crossover's budget, a catch-up cost) from `draws`: the estimate,
    then one value per resample, inf where the event does not happen in that resample.

    The percentile interval over the resamples, extended to the estimate where every resample but a tail's worth
    falls on one side of it (`extended`): the choice behind the estimate is a maximum over noisy candidates, and its
    resamples can lean away from it. `happens` is the share of resamples in which the event happens at all.
    """
    estimate, resamples = float(draws[0]), draws[1:]
    low, high = percentile(resamples, level)
    extended = not low <= estimate <= high
    return {"ci_low": min(low, estimate), "ci_high": max(high, estimate), "extended": extended,
            "happens": float(np.isfinite(resamples).mean())}  # fmt: skip


def nearest_event(events: np.ndarray, budgets: np.ndarray, near: int, between: tuple[int, int]) -> np.ndarray:
    """Return per column the budget of the event (a true row of `events`, budgets × columns) nearest row `near`, the
    earlier of two as near, among the rows strictly `between` the two given; inf in a column without one."""
    rows = np.arange(len(events))
    inside = (rows > between[0]) & (rows < between[1])
    distance = np.where(events & inside[:, None], np.abs(rows - near)[:, None], len(events) + 1)
    found = distance.min(0) <= len(events)
    return np.where(found, np.asarray(budgets)[distance.argmin(0)], math.inf)
