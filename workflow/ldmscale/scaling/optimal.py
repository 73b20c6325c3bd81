"""The inference-optimal size: for a budget of normalised sampling cost C per image, the size x* and steps s* the law
predicts best, and the best point of the real grid of sizes and steps beside it.

Normalised cost is x·s / x_ref (the reference model at one step costs 1), so a budget fixes x·s = K = C·x_ref. On the
additive law q = E + A·x^−α + B·s^−β the optimum balances the two terms, α·A·x^−α = β·B·s^−β, which gives Chinchilla's
closed form with steps for tokens:

    x* = (α·A / (β·B))^(1/(α+β)) · K^(β/(α+β)),   s* = K / x*;

on the coupled law q = E + A·x^−α + B·x^−γ·s^−β, with s = K/x the steps term is B·K^−β·x^(β−γ), and

    x* = (α·A / ((β−γ)·B))^(1/(α+β−γ)) · K^(β/(α+β−γ))      (for β > γ; else bigger never stops paying).

s* is continuous, and at least one step: where the closed form asks for fewer, the optimum is one step of the largest
size that fits (`one_step`). The grid answer is the swept (size, steps) the law predicts best among those that fit the
budget. Intervals come from the same closed form on every refit of the law.

A budget of GFLOPs per image C fixes x·s too, once the sampling cost is written as C = u·x·s + o: u UNet calls per
step (2 with guidance) and o the text encoder and decoder, the same for every size of a family. `InferenceCost`
fits u and o to the sweep's guided best-guidance configurations and says how far their costs lie from it; then
K = (C − o) / u, and a budget below o buys no step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ..frontier.ranking import BUDGET_SLACK
from .fits import LEVEL, Law


def closed_form(theta: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Return x* for budgets `k` (= x·s) under the law with fitted parameters `theta` (either form); inf where steps
    never stop paying for size (β ≤ γ)."""
    e, a, b, alpha, beta = theta[:5]
    gamma = theta[5] if len(theta) > 5 else 0.0
    power = alpha + beta - gamma
    if beta <= gamma or power <= 0:
        return np.full_like(np.asarray(k, float), np.inf)
    ratio = alpha * np.exp(a) / ((beta - gamma) * np.exp(b))
    return ratio ** (1 / power) * np.asarray(k, float) ** (beta / power)


def at_least_one_step(x: np.ndarray, k: float) -> np.ndarray:
    """Return the optimal size with at least one step: x* where it leaves s* ≥ 1, else the whole budget, k."""
    return np.minimum(x, k)


@dataclass(frozen=True)
class InferenceCost:
    """GFLOPs per image of size x (UNet GFLOPs per call) at s steps, as u·x·s + o; `error`: the largest relative
    distance of a measured best-guidance configuration's cost from it."""

    u: float
    o: float
    error: float

    def __call__(self, x, s):
        return self.u * np.asarray(x, float) * np.asarray(s, float) + self.o

    def steps_budget(self, gflops: float) -> float:
        """Return K = x·s that a budget of `gflops` per image buys (0 where it does not pay for the fixed part)."""
        return max(gflops - self.o, 0.0) / self.u


def inference_cost(best: pl.DataFrame) -> InferenceCost | None:
    """Return u and o of `best` (best-guidance rows: unet_gflops, steps, gflops_per_image) by least squares of the
    relative errors, so that cheap configurations count as much as dear ones; None where there are too few. Where at
    least two use guidance, as most do, only those: the law's optimum is then costed as a guided configuration."""
    if "gflops_per_image" not in best.columns:
        return None
    if "cfg" in best.columns and best["cfg"].sum() >= 2:  # guided steps cost two UNet calls, unguided one: one kind
        best = best.filter(pl.col("cfg"))
    if best.height < 2:
        return None
    ks, c = (best["unet_gflops"] * best["steps"]).to_numpy(), best["gflops_per_image"].to_numpy()
    (u, o), *_ = np.linalg.lstsq(np.stack([ks / c, 1 / c], 1), np.ones_like(c), rcond=None)  # relative errors
    o = max(float(o), 0.0)
    return InferenceCost(float(u), o, float(np.max(np.abs(u * ks + o - c) / c)))


def optimal(law: Law, budgets: list[float], to_k, axis: str = "normalised_cost", level: float = LEVEL) -> list[dict]:
    """Return per budget on `axis` (`to_k(budget)`: the x·s it buys): x* and s* with x*'s interval over the refits,
    whether x* lies outside the sizes measured (`extrapolated`), the law's prediction there (as the metric), and the
    best of the fitted grid of (size, steps) within the budget with its prediction."""
    goal, tail, pts, rows = law.points.target, (1 - level) / 2, law.points, []
    for budget in budgets:
        k = to_k(budget)
        if k <= 0:
            continue
        unconstrained = float(closed_form(law.fit.theta, k))
        x_star = float(at_least_one_step(unconstrained, k))
        refits = at_least_one_step(np.asarray([closed_form(t, k) for t in law.replicates], float), k)
        low, high = np.quantile(refits, [tail, 1 - tail]) if len(refits) else (np.nan, np.nan)
        fits = pts.x * pts.s <= k * (1 + BUDGET_SLACK)
        predicted = law.fit.predict(pts.x[fits], pts.s[fits])
        best = int(np.argmin(predicted)) if fits.any() else None
        rows.append({
            "cost_axis": axis, "budget": budget, "x_star": x_star, "x_star_ci_low": float(low), "x_star_ci_high": float(high),
            "s_star": k / x_star, "one_step": unconstrained > k,
            "extrapolated": not pts.x.min() <= x_star <= pts.x.max(),
            "predicted_at_optimum": float(goal.from_q(law.fit.predict(x_star, k / x_star)[0])),
            "grid_model": None if best is None else pts.models[fits][best],
            "grid_x": None if best is None else float(pts.x[fits][best]),
            "grid_steps": None if best is None else int(pts.s[fits][best]),
            "grid_predicted": None if best is None else float(goal.from_q(predicted[best])),
        })  # fmt: skip
    return rows
