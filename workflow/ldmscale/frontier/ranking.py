"""The one ranking every choice on the frontier makes, budgets as filters and configurations in words."""

from __future__ import annotations

import polars as pl

from .. import scoring
from ..paths import CONFIG_KEYS


def _higher_is_better(metric: str) -> bool:
    return scoring.get(metric).higher_is_better


def _finite(*columns: str) -> pl.Expr:
    """Return an expression true where every column holds a finite number (null and NaN are never candidates)."""
    return pl.all_horizontal([pl.col(c).is_finite() for c in columns])


def _ranked(df: pl.DataFrame, metric: str, cost: str | None = None) -> pl.DataFrame:
    """Return the rows with a finite `metric` (and `cost`), best first.

    Ties go to the cheaper configuration, then the smaller model (UNet parameters, then name),
    then sampler name, fewer steps and smaller guidance, so that every choice is deterministic.
    """
    first = [metric] if cost is None else [metric, cost]
    ties = [c for c in ("unet_params", "model", "sampler", "steps", "guidance") if c in df.columns]
    return df.filter(_finite(*first)).sort(
        first + ties, descending=[_higher_is_better(metric)] + [False] * (len(first) + len(ties) - 1), nulls_last=True
    )


def _within(df: pl.DataFrame, cost: str, budget: float) -> pl.DataFrame:
    return df.filter(pl.col(cost) <= budget * (1 + 1e-9))


def _key(row: dict) -> tuple:
    return tuple(row[k] for k in CONFIG_KEYS)


def describe(row: dict) -> str:
    """Return a configuration in words: 'toy-c16, ddim, 8 steps, guidance 3'."""
    steps = f"{row['steps']} step" + ("s" if row["steps"] != 1 else "")
    return f"{row['model']}, {row['sampler']}, {steps}, guidance {row['guidance']:g}"
