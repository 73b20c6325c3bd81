"""Laws of quality in model size x and sampling steps s, and their robust fit.

A law predicts a loss-like quantity q > 0 (lower is better). Its forms, fitted in log space as Hoffmann et al. 2022
(Chinchilla, approach 3) fit theirs:

- `additive`: q = E + A·x^−α + B·s^−β, Chinchilla's form with sampling steps in the place of training tokens;
- `coupled`: q = E + A·x^−α + B·x^−γ·s^−β, where how much more steps help depends on the size.

E, A and B are fitted as logs (e, a, b), so log q̂ = logsumexp of the terms' logs. The loss is the *sum* of Huber
losses of the residuals: Besiroglu et al. 2024 showed that averaging it instead stalled the original fit before
convergence. The residuals are

- log residuals, log q̂ − log q, with δ = 1e-3 (Chinchilla's), where nothing says how noisy each point is;
- standardised residuals, (q̂ − q) / SE, with δ = 1.345 (Huber's 95%-efficiency constant), where each point's standard
  error is known (the paired bootstrap's): a point is trusted as far as its measurement is. This also fits a quantity
  that noise can take below zero, as KID near its floor.

Starts come from variable projection (Open-Athena/scaling-law-analysis): on a grid of the exponents the law is linear
in E, A and B, solved by non-negative least squares, and the best starts are refined by L-BFGS-B with bounds (E at most
the smallest q seen) and exact gradients. A fit whose every start failed to converge says so (`Fit.converged`); it is
never reported as if it had.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

HUBER_DELTA = 1e-3  # Hoffmann et al. 2022, in log space
STANDARDISED_DELTA = 1.345  # Huber 1964: 95% efficiency at the normal, in standard errors
STARTS = 8  # the best variable-projection starts refined by L-BFGS-B


@dataclass(frozen=True)
class Form:
    """One functional form: its parameters (as fitted: logs of E, A, B, then exponents) and its exponent grid."""

    name: str
    params: tuple[str, ...]
    formula: str

    def terms(self, theta: np.ndarray, logx: np.ndarray, logs: np.ndarray) -> np.ndarray:
        """Return (terms × points) the logs of E, A·x^−α and B·x^−γ·s^−β (γ = 0 in the additive form)."""
        e, a, b, alpha, beta = theta[:5]
        gamma = theta[5] if len(theta) > 5 else 0.0
        return np.stack([np.full_like(logx, e), a - alpha * logx, b - gamma * logx - beta * logs])

    def log_predict(self, theta: np.ndarray, logx: np.ndarray, logs: np.ndarray) -> np.ndarray:
        t = self.terms(theta, logx, logs)
        top = t.max(0)
        return top + np.log(np.exp(t - top).sum(0))

    def gradient(self, theta: np.ndarray, logx: np.ndarray, logs: np.ndarray) -> np.ndarray:
        """Return (params × points) the derivative of log q̂ in each parameter."""
        t = self.terms(theta, logx, logs)
        w = np.exp(t - t.max(0))
        w /= w.sum(0)
        rows = [w[0], w[1], w[2], -w[1] * logx, -w[2] * logs]
        return np.stack(rows + ([-w[2] * logx] if len(self.params) > 5 else []))

    def named(self, theta: np.ndarray) -> dict[str, float]:
        """Return the parameters on their natural scale: E, A, B and the exponents."""
        out = {"E": float(np.exp(theta[0])), "A": float(np.exp(theta[1])), "B": float(np.exp(theta[2]))}
        return out | {name: float(v) for name, v in zip(self.params[3:], theta[3:])}


ADDITIVE = Form("additive", ("e", "a", "b", "alpha", "beta"), "q = E + A·x^−α + B·s^−β")
COUPLED = Form("coupled", ("e", "a", "b", "alpha", "beta", "gamma"), "q = E + A·x^−α + B·x^−γ·s^−β")
FORMS = {form.name: form for form in (ADDITIVE, COUPLED)}


def form(name: str) -> Form:
    """Return the form called `name`, or raise ValueError listing the valid ones."""
    try:
        return FORMS[name]
    except KeyError:
        raise ValueError(f"unknown law form {name!r}; valid forms: {', '.join(FORMS)}") from None


@dataclass(frozen=True)
class Fit:
    """A fitted law: the form, its parameters (as fitted), the summed Huber loss and whether L-BFGS-B converged."""

    form: Form
    theta: np.ndarray
    loss: float
    converged: bool
    message: str
    scale: np.ndarray | None = None  # the points' standard errors, where the residuals were standardised
    bounds: tuple = ()  # (low, high) of each parameter as fitted

    def at_bound(self) -> dict[str, bool]:
        """Return, per parameter on its natural scale, whether the fit stopped at one of its bounds. E counts as at
        its lower bound, zero, below a millionth of its upper one: there the loss is flat in E, and where the fit
        stops in that range is arbitrary."""
        names = list(self.named())
        out = {n: bool(np.isclose(v, lo, atol=1e-6) or np.isclose(v, hi, atol=1e-6))
               for n, v, (lo, hi) in zip(names, self.theta, self.bounds)}  # fmt: skip
        return out | ({"E": out["E"] or self.theta[0] < self.bounds[0][1] + np.log(1e-6)} if self.bounds else {})

    def predict(self, x, s) -> np.ndarray:
        """Return q̂ at sizes `x` and steps `s`."""
        x, s = np.atleast_1d(np.asarray(x, float)), np.atleast_1d(np.asarray(s, float))
        return np.exp(self.form.log_predict(self.theta, np.log(x), np.log(s)))

    def named(self) -> dict[str, float]:
        return self.form.named(self.theta)


def huber(residuals: np.ndarray, delta: float = HUBER_DELTA) -> tuple[float, np.ndarray]:
    """Return the summed Huber loss of `residuals` and its derivative in each residual."""
    small = np.abs(residuals) <= delta
    loss = np.where(small, 0.5 * residuals**2, delta * (np.abs(residuals) - 0.5 * delta))
    return float(loss.sum()), np.clip(residuals, -delta, delta)


def _objective(theta, law: Form, logx, logs, q, scale, delta):
    """Return the summed Huber loss of the residuals and its gradient: log residuals, or standardised ones."""
    log_q = law.log_predict(theta, logx, logs)
    if scale is None:
        loss, slope = huber(log_q - np.log(q), delta)
        return loss, law.gradient(theta, logx, logs) @ slope
    predicted = np.exp(log_q)
    loss, slope = huber((predicted - q) / scale, delta)
    return loss, law.gradient(theta, logx, logs) @ (slope * predicted / scale)


def _bounds(law: Form, q: np.ndarray) -> list[tuple[float, float]]:
    """E between e^−30 times and once the smallest q seen (a tiny positive one where noise took q below zero); A, B free
    in [e^−50, e^50]; exponents in [0, 4], γ in [−3, 3] (steps may help larger models more or less)."""
    e_max = float(np.log(max(q.min(), 1e-9 * np.abs(q).max())))
    return [(e_max - 30, e_max), (-50, 50), (-50, 50), (0, 4), (0, 4)] + ([(-3, 3)] if len(law.params) > 5 else [])


def _starts(law: Form, logx, logs, q, scale, delta) -> list[np.ndarray]:
    """Return starting points, best first: on a grid of the exponents, E, A, B ≥ 0 by non-negative least squares on q
    (weighted by 1 / SE where the points have standard errors)."""
    from scipy.optimize import nnls

    x, s = np.exp(logx), np.exp(logs)
    weight = np.ones_like(q) if scale is None else 1 / scale
    grid = np.linspace(0.05, 2.0, 14)
    gammas = (-0.5, 0.0, 0.5) if len(law.params) > 5 else (0.0,)
    e_max, tiny = _bounds(law, q)[0][1], 1e-12 * np.abs(q).max()
    found = []
    for alpha, beta, gamma in itertools.product(grid, grid, gammas):
        design = np.stack([np.ones_like(q), x**-alpha, x**-gamma * s**-beta], axis=1) * weight[:, None]
        norm = design.max(0)
        coef = nnls(design / norm, q * weight)[0] / norm
        logs_coef = np.log(np.maximum(coef, tiny))
        theta = np.array([min(logs_coef[0], e_max), logs_coef[1], logs_coef[2], alpha, beta, gamma][: len(law.params)])
        found.append((_objective(theta, law, logx, logs, q, scale, delta)[0], theta))
    found.sort(key=lambda pair: pair[0])
    return [theta for _, theta in found]


def fit(law: Form, x, s, q, scale=None, delta: float | None = None, starts: list[np.ndarray] | None = None) -> Fit:
    """Return the law fitted to q at sizes x and steps s: on log residuals (q > 0), or on residuals standardised by
    the points' standard errors `scale`. The best of L-BFGS-B runs from the best variable-projection starts, or from
    `starts` (a previous fit's, as a bootstrap refit does)."""
    from scipy.optimize import minimize

    logx, logs, q = np.log(np.asarray(x, float)), np.log(np.asarray(s, float)), np.asarray(q, float)
    scale = None if scale is None else np.asarray(scale, float)
    if scale is None and not (q > 0).all():
        raise ValueError("a law fitted on log residuals needs a positive quantity at every point")
    if scale is not None and not (scale > 0).all():
        raise ValueError("standardised residuals need a positive standard error at every point")
    delta = delta or (HUBER_DELTA if scale is None else STANDARDISED_DELTA)
    bounds = _bounds(law, q)
    best = None
    for start in starts if starts is not None else _starts(law, logx, logs, q, scale, delta)[:STARTS]:
        start = np.clip(start, [lo for lo, _ in bounds], [hi for _, hi in bounds])
        result = minimize(_objective, start, args=(law, logx, logs, q, scale, delta), jac=True, method="L-BFGS-B",
                          bounds=bounds, options={"maxiter": 2000, "ftol": 1e-12, "gtol": 1e-8})  # fmt: skip
        candidate = Fit(
            law, result.x, float(result.fun), bool(result.success), str(result.message), scale, tuple(bounds)
        )
        if best is None or (candidate.converged, -candidate.loss) > (best.converged, -best.loss):
            best = candidate
    return best
