"""The size to deploy: for N images served, the (size, steps) that reaches a quality target at the least training
FLOPs plus N × inference FLOPs per image (Sardana et al. 2024, "Beyond Chinchilla-optimal", with sampling steps in
the place of tokens).

- Training FLOPs of a size: the sweep's `train_flops` of the measured sizes give τ, training FLOPs per UNet GFLOP per
  call, at the family's one recipe (the toy trains every size for the same steps and batch, so its training FLOPs are
  τ·x up to the text encoder's share); τ is their median and `tau_error` the largest relative distance of a measured
  size from τ·x. Without any `train_flops` there is no table: no estimate is made up.
- Inference FLOPs per image: u·x·s + o (`optimal.InferenceCost`), fitted to the sweep.
- The law's predicted score decides whether (x, s) reaches the target. The search is a grid: sizes log-spaced from the
  smallest measured to `EXTEND` × the largest, steps 1 to twice the most swept; beyond the largest size or the most
  steps swept, the answer is *extrapolated*.
  Its interval is over the law's refits: each refit's own optimum, and the share of refits in which the target is
  reachable at all.
- Beside it, the measured answer: the best-guidance configuration of a measured size whose measured score reaches the
  target, at the least training plus N × sampling FLOPs.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..frontier.ranking import _higher_is_better
from .fits import LEVEL, Law
from .optimal import InferenceCost

EXTEND = 4.0  # the search reaches this many times the largest measured size
GRID = 97  # sizes in the search


def training_cost(best: pl.DataFrame) -> tuple[float, float] | None:
    """Return τ (training FLOPs per UNet GFLOP per call) and the largest relative error of τ·x, from the measured
    sizes' `train_flops`; None where none is known."""
    if "train_flops" not in best.columns:
        return None
    sizes = (
        best.filter(pl.col("train_flops").is_not_null())
        .group_by("model")
        .agg(pl.col("train_flops").first().cast(pl.Float64), pl.col("unet_gflops").first())
    )
    if sizes.is_empty():
        return None
    ratio = (sizes["train_flops"] / sizes["unet_gflops"]).to_numpy()
    tau = float(np.median(ratio))
    return tau, float(np.max(np.abs(ratio / tau - 1)))


def _optimum(reaches: np.ndarray, total: np.ndarray) -> int | None:
    """Return the flat index of the cheapest grid point that reaches the target, or None."""
    if not reaches.any():
        return None
    return int(np.argmin(np.where(reaches, total, np.inf)))


def deployment(
    law: Law, best: pl.DataFrame, target: float, served: list[float], inference: InferenceCost, level: float = LEVEL
) -> tuple[list[dict], str | None]:
    """Return per number of images served the cheapest (size, steps) that the law predicts reaches `target` (as the
    metric), with its interval over the refits, beside the cheapest measured configuration that reaches it (`best`:
    the measured best-guidance rows); or no rows and why."""
    training = training_cost(best)
    if training is None:
        return [], "no train_flops in the summary: the training cost of a size is unknown, so no deployment table"
    tau, tau_error = training
    pts, goal, metric = law.points, law.points.target, law.points.target.metric
    x = np.geomspace(pts.x.min(), pts.x.max() * EXTEND, GRID)
    s = np.arange(1, 2 * int(pts.s.max()) + 1, dtype=float)
    gx, gs = (a.ravel() for a in np.meshgrid(x, s, indexing="ij"))
    q_target = float(goal.to_q(target))
    point = law.fit.predict(gx, gs) <= q_target
    refits = law.refitted(gx, gs) <= q_target
    train, per_image = tau * gx, inference(gx, gs) * 1e9  # FLOPs: τ is per UNet GFLOP per call
    sign = 1 if _higher_is_better(metric) else -1
    reaching = best.filter(pl.col("train_flops").is_not_null() & (sign * (pl.col(metric) - target) >= 0))
    tail, out = (1 - level) / 2, []
    for n in served:
        total = train + n * per_image
        i = _optimum(point, total)
        each = [_optimum(r, total) for r in refits]
        found = [gx[j] for j in each if j is not None]
        low, high = np.quantile(found, [tail, 1 - tail]) if found else (np.nan, np.nan)
        row = {"target": target, "images_served": n, "reachable_share": len(found) / max(len(each), 1),
               "x_ci_low": float(low), "x_ci_high": float(high), "tau": tau, "tau_error": tau_error}  # fmt: skip
        if i is not None:
            row |= {"x": float(gx[i]), "steps": int(gs[i]), "predicted": float(goal.from_q(law.fit.predict(gx[i], gs[i])[0])),
                    "train_flops": float(train[i]), "flops_per_image": float(per_image[i]), "total_flops": float(total[i]),
                    "extrapolated": not (pts.x.min() <= gx[i] <= pts.x.max() and gs[i] <= pts.s.max())}  # fmt: skip
        if not reaching.is_empty():
            measured = reaching.with_columns(total=pl.col("train_flops") + n * pl.col("gflops_per_image") * 1e9).sort(
                "total"
            )
            m = measured.row(0, named=True)
            row |= {"measured_model": m["model"], "measured_steps": m["steps"], "measured_guidance": m["guidance"],
                    "measured_value": m[metric], "measured_total_flops": m["total"]}  # fmt: skip
        out.append(row)
    return out, None
