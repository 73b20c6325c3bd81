"""The points a law is fitted to: per model and step count of one (task, sampler), its best-guidance score as a
loss-like quantity q > 0, at the model's UNet GFLOPs per call x and its steps s; and q in every paired resample.

A law needs a quantity that falls towards an irreducible floor as size and steps grow. A lower-is-better metric (FID,
KID, LPIPS) is that already. A higher-is-better one is fitted as its distance from its bound where it has one
(attr_acc, SSIM: 1; CLIP score: 100), else from its real-data floor (what real images score), and `Target` says which.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .. import scoring
from ..frontier.analysis import best_guidance
from ..frontier.family import Z95
from ..frontier.ranking import _key
from ..frontier.uncertainty import Resamples, per_image_values, resample_counts

BOUNDS = {"attr_acc": 1.0, "ssim": 1.0, "clip_score": 100.0}  # the best value a higher-is-better metric can take


@dataclass(frozen=True)
class Target:
    """How a metric becomes the loss-like q a law fits: q = value (`offset` None), or q = offset − value."""

    metric: str
    offset: float | None
    source: str  # "the metric itself", "its bound" or "its real-data floor"

    @property
    def description(self) -> str:
        return self.metric if self.offset is None else f"{self.offset:g} − {self.metric} ({self.source})"

    def to_q(self, value):
        return value if self.offset is None else self.offset - np.asarray(value)

    def from_q(self, q):
        return q if self.offset is None else self.offset - np.asarray(q)


def target(metric: str, summary: pl.DataFrame) -> Target:
    """Return how `metric` is fitted; ValueError where it is higher-is-better with neither a bound nor a floor."""
    if not scoring.get(metric).higher_is_better:
        return Target(metric, None, "the metric itself")
    if metric in BOUNDS:
        return Target(metric, BOUNDS[metric], "its bound")
    floor = f"{metric}_floor"
    if floor in summary.columns and summary[floor].drop_nulls().len():
        return Target(metric, float(summary[floor].drop_nulls().max()), "its real-data floor")
    raise ValueError(f"{metric} is higher-is-better with no bound and no real-data floor: no loss-like quantity to fit")


@dataclass(frozen=True)
class Points:
    """One (task, sampler)'s points: per model and step count, x (UNet GFLOPs per call), s (steps) and q; `draws`
    (resamples × points) is q in every paired resample, guidance re-chosen in each; `paired` says whether they came
    from per-image values (else from each score's own interval, independently)."""

    models: np.ndarray
    x: np.ndarray
    s: np.ndarray
    q: np.ndarray
    draws: np.ndarray
    paired: bool
    target: Target

    @property
    def se(self) -> np.ndarray:
        """Return each point's bootstrap standard error (never below 1e-9 of the largest, so every point has weight)."""
        se = self.draws.std(axis=0)
        return np.maximum(se, 1e-9 * se.max())

    def _subset(self, keep: np.ndarray) -> Points:
        return Points(self.models[keep], self.x[keep], self.s[keep], self.q[keep], self.draws[:, keep], self.paired,
                      self.target)  # fmt: skip

    def without(self, model: str) -> Points:
        return self._subset(self.models != model)

    def of(self, model: str) -> Points:
        return self._subset(self.models == model)


def resampled(rows: pl.DataFrame, per_image: pl.DataFrame, metric: str, reps: int, seed: int = 0):
    """Return (resamples × rows) every row's score in `reps` paired resamples of the image indices, and whether they
    are paired (per-image values for every row; else each score's own interval, as estimate ± 1.96 SE, drawn
    independently). The same `seed` gives the same image indices, so tables drawn from it pair with each other."""
    values = per_image_values(per_image, metric) if metric in per_image["metric"].unique().to_list() else {}
    keys = [_key(r) for r in rows.iter_rows(named=True)]
    if keys and all(k in values for k in keys):
        counts = Resamples(resample_counts(max(len(values[k]) for k in keys), reps, seed))
        return np.stack([counts.means(values[k]) for k in keys], axis=1), True
    se = ((rows[f"{metric}_ci_high"] - rows[f"{metric}_ci_low"]) / (2 * Z95)).to_numpy()
    return np.random.default_rng(seed).normal(rows[metric].to_numpy(), se, size=(reps, rows.height)), False


def points(summary: pl.DataFrame, per_image: pl.DataFrame, metric: str, reps: int, seed: int = 0) -> Points:
    """Return the points of one (task, sampler) summary (every model and step count, best guidance) and `reps`
    paired resamples of them."""
    goal = target(metric, summary)
    sign = 1 if scoring.get(metric).higher_is_better else -1
    rows = summary.filter(pl.col(metric).is_finite()).sort(["model", "steps", "guidance"])
    best = best_guidance(rows, metric).sort(["model", "steps"])
    scores, paired = resampled(rows, per_image, metric, reps, seed)
    groups = rows.with_row_index("i").group_by(["model", "steps"], maintain_order=True).agg(pl.col("i"))
    chosen = np.stack([(sign * scores[:, idx]).argmax(1) for idx in groups["i"].to_list()], axis=1)
    picked = np.stack(
        [scores[np.arange(reps), np.asarray(idx)[c]] for idx, c in zip(groups["i"].to_list(), chosen.T)], 1
    )
    return Points(
        models=np.asarray(best["model"].to_list(), dtype=object),
        x=best["unet_gflops"].to_numpy().astype(float),
        s=best["steps"].to_numpy().astype(float),
        q=np.asarray(goal.to_q(best[metric].to_numpy()), float),
        draws=np.asarray(goal.to_q(picked), float),
        paired=paired,
        target=goal,
    )
