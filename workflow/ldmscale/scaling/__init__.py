"""Scaling laws: quality against model size and sampling steps, fitted, validated by leaving each size out, and used.

- `law`: the forms and their robust fit (summed Huber loss, variable-projection starts, L-BFGS-B with bounds);
- `points`: the points a law is fitted to, as a loss-like quantity, and their paired bootstrap resamples;
- `fits`: a law with its intervals (refits to the resamples), predictions and leave-one-size-out validation;
- `optimal`: the inference-optimal size and steps per budget (closed form) beside the best swept configuration;
- `report`: the tables, the curves the charts draw, the README section; `write_all` for the `scaling` rule.

    python -m ldmscale.scaling results/default/summary.parquet results/default/per_image.parquet --metric attr_acc [--hold-out MODEL]
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .predicted import AXES, Size
from .report import TABLES, analyse, markdown


def write_all(
    summary_path: str,
    per_image_path: str,
    outputs,
    metric_names: list[str],
    reps: int,
    forms: list[str],
    budgets: dict[str, list[float] | None] | None = None,
    buckets: int = 8,
    sizes: list[Size] = (),
    targets: dict[str, float] | None = None,
    served: list[float] = (),
) -> None:
    """Write the scaling tables (CSV; the curves as parquet) and the README section of every metric of the summary:
    the inference-optimal size at `budgets` per cost axis (an axis without: `buckets` log-spaced, as the frontier's),
    the predicted `sizes`, and the size to deploy to reach `targets` (metric → value) for each of `served`."""
    from .. import files
    from ..frontier.analysis import budget_edges

    summary, per_image = pl.read_parquet(summary_path), pl.read_parquet(per_image_path)
    results = []
    for metric in (m for m in metric_names if m in summary.columns):
        scored = summary.filter(pl.col(metric).is_finite())
        edges = {axis: (budgets or {}).get(axis) or budget_edges(scored[axis], buckets)
                 for axis in AXES if axis in scored.columns}  # fmt: skip
        target = (targets or {}).get(metric)
        results.append(analyse(summary, per_image, metric, reps, forms, edges, sizes, target, served))
    tables = {
        name: pl.concat(
            [r[name] for r in results if not r[name].is_empty()] or [pl.DataFrame()], how="diagonal_relaxed"
        )
        for name in TABLES
    }
    for name in ("scaling", "validation", "optimal", "predicted_scores", "predicted", "deployment"):
        with files.atomic_path(getattr(outputs, name)) as tmp:
            tables[name].write_csv(tmp)
    with files.atomic_path(outputs.curves) as tmp:
        tables["curves"].write_parquet(tmp)
    with files.atomic_path(outputs.readme) as tmp:
        Path(tmp).write_text(markdown(tables))
