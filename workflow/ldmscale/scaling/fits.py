"""A law fitted with its uncertainty, and its check by leaving each size out.

Intervals come from the frontier's paired bootstrap (`points.Points.draws`: every configuration's score recomputed on
the same resampled image indices, guidance re-chosen): the law is refitted to each resample, starting from the point
fit. The residuals are standardised by each point's bootstrap standard error (`law.fit`), so a point counts as far as
its measurement can be trusted. A parameter's interval is the percentile interval of its refits; the band on the
curve, that of the refits' predictions. A prediction interval for a new measurement adds to each refit's prediction a
standardised residual of the point fit, resampled, times the new point's standard error (the held-out measurement's
own in leave-one-size-out; for a size never measured, that of the measured points at the same steps): residuals hold
the measurements' noise and the law's misfit, scaled by √(n / (n − parameters)) for what the fit absorbed. This is the
residual bootstrap of a prediction; OLMo-core's scaling-law analysis adds observation noise alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import law as laws
from .points import Points

LEVEL = 0.95


@dataclass(frozen=True)
class Law:
    """A point fit, the parameters of its converged refits (`replicates`, refitted to the resamples `kept` of
    `points.draws`), how many refits failed, and the point fit's standardised residuals (scaled for the parameters
    the fit used)."""

    fit: laws.Fit
    replicates: np.ndarray
    failed: int
    residuals: np.ndarray
    points: Points
    kept: np.ndarray

    def parameters(self, level: float = LEVEL) -> list[dict]:
        """Return each parameter on its natural scale with its percentile interval over the refits."""
        named = [self.fit.form.named(t) for t in self.replicates]
        tail, at_bound = (1 - level) / 2, self.fit.at_bound()
        out = []
        for name, value in self.fit.named().items():
            values = np.asarray([n[name] for n in named])
            low, high = np.quantile(values, [tail, 1 - tail]) if len(values) else (np.nan, np.nan)
            out.append({"parameter": name, "estimate": value, "ci_low": float(low), "ci_high": float(high),
                        "at_bound": at_bound[name]})  # fmt: skip
        return out

    def standard_errors(self, s) -> np.ndarray:
        """Return the standard error a new measurement at steps `s` can expect: the median of the fitted points' at the
        same steps (of all of them at steps never measured)."""
        known = self.points
        return np.asarray([np.median(known.se[known.s == v]) if (known.s == v).any() else np.median(known.se)
                           for v in np.atleast_1d(s)])  # fmt: skip

    def refitted(self, x, s) -> np.ndarray:
        """Return (refits × points) each refit's q at sizes `x` and steps `s`."""
        logx, logs = np.log(np.atleast_1d(np.asarray(x, float))), np.log(np.atleast_1d(np.asarray(s, float)))
        return np.exp(np.stack([self.fit.form.log_predict(t, logx, logs) for t in self.replicates]))

    def samples(self, x, s, se=None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Return (refits × points) at sizes `x` and steps `s` each refit's q, and a new measurement's: the refit's
        plus a resampled standardised residual times the standard error `se` (by default `standard_errors(s)`), never
        past the metric's bound."""
        curves = self.refitted(x, s)
        se = self.standard_errors(s) if se is None else np.atleast_1d(np.asarray(se, float))
        new = curves + np.random.default_rng(seed).choice(self.residuals, size=curves.shape) * se
        bounded = self.points.target.source == "its bound"  # no measurement beats the bound: q ≥ 0
        return curves, np.maximum(new, 0.0) if bounded else new

    def predict(self, x, s, se=None, level: float = LEVEL, seed: int = 0) -> dict[str, np.ndarray]:
        """Return at sizes `x` and steps `s` the predicted q, the band of the law (percentiles of the refits) and the
        prediction interval of a new measurement with standard errors `se` (by default `standard_errors(s)`)."""
        curves, new = self.samples(x, s, se, seed)
        tail = (1 - level) / 2
        band = np.quantile(curves, [tail, 1 - tail], axis=0)
        interval = np.quantile(new, [tail, 1 - tail], axis=0)
        return {
            "q": self.fit.predict(x, s),
            "band_low": band[0],
            "band_high": band[1],
            "pi_low": interval[0],
            "pi_high": interval[1],
        }


def fit_law(points: Points, form: laws.Form) -> Law:
    """Return the law of `form` fitted to `points`, refitted to every resample of them (from the point fit, else from
    every start); `failed` counts the refits that converged from none."""
    point = laws.fit(form, points.x, points.s, points.q, points.se)
    thetas, kept = [], []
    for i, q in enumerate(points.draws):
        refit = laws.fit(form, points.x, points.s, q, points.se, starts=[point.theta])
        if not refit.converged:  # L-BFGS-B's line search can stall near the start: from every start then
            refit = laws.fit(form, points.x, points.s, q, points.se)
        if refit.converged:
            thetas.append(refit.theta)
            kept.append(i)
    n, p = len(points.q), len(form.params)
    residuals = (points.q - point.predict(points.x, points.s)) / points.se
    scale = np.sqrt(n / (n - p)) if n > p else np.inf
    failed = len(points.draws) - len(kept)
    return Law(point, np.asarray(thetas).reshape(-1, p), failed, residuals * scale, points, np.asarray(kept, int))


def leave_one_size_out(points: Points, form: laws.Form, level: float = LEVEL) -> list[dict]:
    """Return, for every model in turn, the law fitted to the others and its prediction of each step count the model
    was swept at: measured and predicted (as the metric), the prediction interval and whether the measurement lies in
    it, the error, and whether the size lies between the others' (interpolation) or beyond them."""
    rows = []
    for model in sorted(set(points.models.tolist())):
        rest, held = points.without(model), points.of(model)
        fitted = fit_law(rest, form)
        prediction = fitted.predict(held.x, held.s, held.se, level)
        position = "interior" if rest.x.min() < held.x[0] < rest.x.max() else (
            "smallest" if held.x[0] <= rest.x.min() else "largest")  # fmt: skip
        goal = points.target
        for i, steps in enumerate(held.s):
            predicted, measured = float(goal.from_q(prediction["q"][i])), float(goal.from_q(held.q[i]))
            low, high = sorted(float(goal.from_q(prediction[k][i])) for k in ("pi_low", "pi_high"))
            rows.append({"form": form.name, "held_out": model, "position": position, "steps": int(steps),
                         "measured": measured, "predicted": predicted, "pi_low": low, "pi_high": high,
                         "inside": low <= measured <= high, "error": predicted - measured,
                         "converged": fitted.fit.converged})  # fmt: skip
    return rows
