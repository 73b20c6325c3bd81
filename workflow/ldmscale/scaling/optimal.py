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
"""

from __future__ import annotations

import numpy as np

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


def optimal(law: Law, budgets: list[float], x_ref: float, level: float = LEVEL) -> list[dict]:
    """Return per budget (normalised cost): x* and s* with x*'s interval over the refits, whether x* lies outside the
    sizes measured (`extrapolated`), the law's prediction there (as the metric), and the best of the fitted grid of
    (size, steps) within the budget with its prediction."""
    goal, tail, pts, rows = law.points.target, (1 - level) / 2, law.points, []
    for budget in budgets:
        k = budget * x_ref
        unconstrained = float(closed_form(law.fit.theta, k))
        x_star = float(at_least_one_step(unconstrained, k))
        refits = at_least_one_step(np.asarray([closed_form(t, k) for t in law.replicates], float), k)
        low, high = np.quantile(refits, [tail, 1 - tail]) if len(refits) else (np.nan, np.nan)
        fits = pts.x * pts.s <= k * (1 + BUDGET_SLACK)
        predicted = law.fit.predict(pts.x[fits], pts.s[fits])
        best = int(np.argmin(predicted)) if fits.any() else None
        rows.append({
            "budget": budget, "x_star": x_star, "x_star_ci_low": float(low), "x_star_ci_high": float(high),
            "s_star": k / x_star, "one_step": unconstrained > k,
            "extrapolated": not pts.x.min() <= x_star <= pts.x.max(),
            "predicted_at_optimum": float(goal.from_q(law.fit.predict(x_star, k / x_star)[0])),
            "grid_model": None if best is None else pts.models[fits][best],
            "grid_x": None if best is None else float(pts.x[fits][best]),
            "grid_steps": None if best is None else int(pts.s[fits][best]),
            "grid_predicted": None if best is None else float(goal.from_q(predicted[best])),
        })  # fmt: skip
    return rows
