"""The one ranking every choice on the frontier makes, budgets as filters and configurations in words."""

from __future__ import annotations

import numpy as np
import polars as pl

from .. import scoring
from ..paths import CONFIG_KEYS


def _higher_is_better(metric: str) -> bool:
    return scoring.get(metric).higher_is_better


def _finite(*columns: str) -> pl.Expr:
    """Return an expression true where every column holds a finite number (null and NaN are never candidates)."""
    return pl.all_horizontal([pl.col(c).is_finite() for c in columns])


SIGNIFICANT = 12  # digits two scores must share to tie (float64 carries 15-17)


def quantise(x: np.ndarray) -> np.ndarray:
    """Return `x` rounded to SIGNIFICANT significant digits, so that scores which are equal but summed in another order
    (645 of 896 attributes right, as two different means of per-image fractions) tie exactly. Non-finite stay as is."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        exponent = np.floor(np.log10(np.abs(x)))
    scale = 10.0 ** (SIGNIFICANT - 1 - np.where(np.isfinite(exponent), exponent, 0))
    return np.where(np.isfinite(x), np.round(x * scale) / scale, x)


TIES = ("unet_params", "model", "sampler", "steps", "guidance")


def _ties(df: pl.DataFrame) -> list[str]:
    """Return the columns that break ties between equal scores at equal cost: the smaller model (UNet parameters, then
    name), then sampler name, fewer steps and smaller guidance, so that every choice is deterministic."""
    return [c for c in TIES if c in df.columns]


def _ranked(df: pl.DataFrame, metric: str, cost: str | None = None) -> pl.DataFrame:
    """Return the rows with a finite `metric` (and `cost`), best first.

    Scores tie when they agree to SIGNIFICANT digits (`quantise`). Ties go to the cheaper configuration, then by
    `_ties`.
    """
    first = [metric] if cost is None else [metric, cost]
    rows = df.filter(_finite(*first))
    tie = pl.Series("_score", quantise(rows[metric].to_numpy()))
    return (
        rows.with_columns(tie)
        .sort(
            ["_score", *first[1:], *_ties(rows)],
            descending=[_higher_is_better(metric)] + [False] * (len(first) + len(_ties(rows)) - 1),
            nulls_last=True,
        )
        .drop("_score")
    )


BUDGET_SLACK = 1e-9  # a cost within this relative distance of a budget fits it (costs are sums of floats)


def _within(df: pl.DataFrame, cost: str, budget: float) -> pl.DataFrame:
    return df.filter(pl.col(cost) <= budget * (1 + BUDGET_SLACK))


def _key(row: dict) -> tuple:
    return tuple(row[k] for k in CONFIG_KEYS)


def describe(row: dict) -> str:
    """Return a configuration in words: 'toy-c16, ddim, 8 steps, guidance 3'."""
    steps = f"{row['steps']} step" + ("s" if row["steps"] != 1 else "")
    return f"{row['model']}, {row['sampler']}, {steps}, guidance {row['guidance']:g}"
