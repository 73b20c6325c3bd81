"""`python -m ldmscale.scaling SUMMARY PER_IMAGE --metric M [--hold-out MODEL] [--form NAME] [--reps N]`."""

from __future__ import annotations

import argparse

import numpy as np
import polars as pl

from . import law as laws
from .fits import LEVEL, fit_law
from .points import points
from .predicted import AXES
from .report import analyse, markdown


def _held_out(summary: pl.DataFrame, per_image: pl.DataFrame, metric: str, model: str, form: str, reps: int) -> str:
    """Return, per (task, sampler), the law fitted without `model` against each of its measured step counts."""
    lines = []
    for (task, sampler), rows in summary.group_by(["task", "sampler"], maintain_order=True):
        pts = points(rows, per_image.filter((pl.col("task") == task) & (pl.col("sampler") == sampler)), metric, reps)
        if model not in pts.models:
            raise ValueError(f"--hold-out {model}: no such model in task {task}, sampler {sampler}; "
                             f"models: {', '.join(sorted(set(pts.models.tolist())))}")  # fmt: skip
        held, fitted = pts.of(model), fit_law(pts.without(model), laws.form(form))
        pred, goal = fitted.predict(held.x, held.s, held.se), pts.target
        lines += [f"task {task}, sampler {sampler}: {form} law fitted without {model} "
                  f"({'converged' if fitted.fit.converged else 'NOT CONVERGED'})",
                  f"| steps | {metric} predicted | {LEVEL:.0%} prediction interval | measured | inside |", "|---|---|---|---|---|"]  # fmt: skip
        for i, s in enumerate(held.s):
            low, high = sorted(float(goal.from_q(pred[k][i])) for k in ("pi_low", "pi_high"))
            measured = float(goal.from_q(held.q[i]))
            lines.append(f"| {s:g} | {float(goal.from_q(pred['q'][i])):.4g} | [{low:.4g}, {high:.4g}] | {measured:.4g} "
                         f"| {'yes' if low <= measured <= high else 'no'} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ldmscale.scaling", description=__doc__)
    parser.add_argument("summary", help="results/{experiment}/summary.parquet")
    parser.add_argument("per_image", help="results/{experiment}/per_image.parquet")
    parser.add_argument("--metric", required=True)
    parser.add_argument("--hold-out", help="fit without this model and predict it at every step count it was swept at")
    parser.add_argument("--form", choices=list(laws.FORMS), help="one form (default: every form, the best one used)")
    parser.add_argument("--reps", type=int, default=200, help="paired bootstrap resamples (default 200)")
    args = parser.parse_args(argv)
    summary, per_image = pl.read_parquet(args.summary), pl.read_parquet(args.per_image)
    if args.metric not in summary.columns:
        parser.error(f"--metric {args.metric}: not in {args.summary}")
    np.seterr(over="ignore")
    if args.hold_out:
        print(_held_out(summary, per_image, args.metric, args.hold_out, args.form or "additive", args.reps))
        return
    from ..frontier.analysis import budget_edges

    scored = summary.filter(pl.col(args.metric).is_finite())
    edges = {axis: budget_edges(scored[axis], 8) for axis in AXES if axis in scored.columns}
    tables = analyse(summary, per_image, args.metric, args.reps, [args.form] if args.form else list(laws.FORMS), edges)
    print(markdown(tables))


if __name__ == "__main__":
    main()
