"""Family-wise control of what the frontier calls resolved.

One run reports many claims per (task, metric, cost axis): a winner's margin at each budget, both margins of each
crossover. At 95% each, some of them would be "resolved" by chance alone. Every claim is a margin oriented so that
positive means it holds, with its estimate and its value in each paired resample (the whole choice re-made per
resample, see `uncertainty.Sweep`). A claim is **resolved** when its *simultaneous* interval excludes zero: the sup-t
band, calibrated on the bootstrap draws as pointwise quantiles at one common tail probability τ, the largest τ for
which at least `level` of the resamples lie inside the band on every claim at once (Montiel Olea & Plagborg-Møller
2019, "Simultaneous confidence bands: theory, implementation, and an application to SVARs", J. Appl. Econometrics
34(1):1–17, the quantile-based implementation of their sup-t band). Claims that move together (the same winner and
runner-up at neighbouring budgets) cost the family almost nothing, unlike Holm or Bonferroni, which count them as
independent. Each claim's own interval at `level` stays beside it: the per-comparison interval, labelled so.

Without per-image values (Fréchet distances) there are no paired draws: a claim is resolved when the two scores'
intervals, each estimate ± 1.96 SE as every set-level metric here reports, widened to the Bonferroni level
z(1 - α/2K) over the K claims of the family, do not overlap. Non-overlap implies a difference beyond z·(SE_a + SE_b) ≥
z·SE(a - b), so the test holds its level whatever the correlation of the two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from .uncertainty import LEVEL, percentile

Z95 = float(norm.ppf(0.975))  # the half-width, in SEs, of the set-level metrics' own 95% intervals


@dataclass(frozen=True)
class Claim:
    """A margin the frontier reports: `draws[0]` its estimate, `draws[1:]` its resamples (none without per-image
    values), positive where the claim holds; `better` and `worse` the two configurations the estimate compares."""

    draws: np.ndarray
    better: dict
    worse: dict


def calibrated_tail(draws: np.ndarray, level: float) -> float:
    """Return τ: the largest tail probability at which the band of every claim's τ and 1 - τ quantiles holds all
    claims at once in at least `level` of the resamples (`draws`: claims × resamples)."""
    reps = draws.shape[1]
    ordered = np.sort(draws, axis=1)
    at_most = np.stack([np.searchsorted(o, d, side="right") for o, d in zip(ordered, draws)]) / reps
    at_least = np.stack([reps - np.searchsorted(o, d, side="left") for o, d in zip(ordered, draws)]) / reps
    extreme = np.minimum(at_most, at_least).min(0)  # per resample: how far in a tail its most extreme claim lies
    return float(np.sort(extreme)[::-1][math.ceil(level * reps) - 1])


def quantile_bounds(draws: np.ndarray, tail: float) -> tuple[float, float, float]:
    """Return the tail and 1 - tail order statistics of `draws` and their Monte Carlo error: the larger distance to
    the order statistics ±1.96 binomial standard deviations of rank away (a distribution-free 95% interval of a
    quantile from a finite number of resamples, for the given tail)."""
    ordered, reps = np.sort(draws), len(draws)
    k = max(math.ceil(tail * reps), 1)
    d = math.ceil(Z95 * math.sqrt(reps * tail * (1 - tail)))
    low, high = ordered[k - 1], ordered[reps - k]
    error = max(low - ordered[max(k - 1 - d, 0)], ordered[min(k - 1 + d, reps - 1)] - low,
                high - ordered[max(reps - k - d, 0)], ordered[min(reps - k + d, reps - 1)] - high)  # fmt: skip
    return float(low), float(high), float(error)


def judge(claims: list[Claim], metric: str, level: float = LEVEL) -> list[dict]:
    """Return per claim: its margin, its per-comparison interval at `level` and whether that excludes zero
    (`separable`), its simultaneous interval over the family at `level` with the bounds' Monte Carlo error, and
    whether it is `resolved` (family-wise); the level's common tail probability τ in `family_tail`."""
    if not claims:
        return []
    if all(len(c.draws) > 1 for c in claims):
        return _bootstrap(claims, level)
    return [_set_level(c, metric, len(claims), level) for c in claims]


def _bootstrap(claims: list[Claim], level: float) -> list[dict]:
    draws = np.stack([c.draws[1:] for c in claims])
    tail = calibrated_tail(draws, level)
    out = []
    for claim, resamples in zip(claims, draws):
        low, high = percentile(resamples, level)
        fw_low, fw_high, error = quantile_bounds(resamples, tail)
        out.append({"margin": float(claim.draws[0]), "margin_ci_low": low, "margin_ci_high": high,
                    "separable": low > 0 or high < 0, "margin_fw_low": fw_low, "margin_fw_high": fw_high,
                    "margin_fw_mc_error": error, "resolved": fw_low > 0, "family_tail": tail,
                    "family_size": len(claims), "resamples": draws.shape[1],
                    "interval": "paired bootstrap over images"})  # fmt: skip
    return out


def _set_level(claim: Claim, metric: str, size: int, level: float) -> dict:
    """Return the verdicts on a claim without paired draws, from the two scores' own intervals."""

    def apart(z: float) -> bool:
        a, b = claim.better, claim.worse
        half_a, half_b = ((r[f"{metric}_ci_high"] - r[f"{metric}_ci_low"]) / 2 * z / Z95 for r in (a, b))
        return abs(a[metric] - b[metric]) > half_a + half_b

    z = float(norm.ppf(1 - (1 - level) / (2 * size)))
    return {"margin": float(claim.draws[0]), "margin_ci_low": None, "margin_ci_high": None, "separable": apart(Z95),
            "margin_fw_low": None, "margin_fw_high": None, "margin_fw_mc_error": None, "resolved": apart(z),
            "family_tail": (1 - level) / (2 * size), "family_size": size, "resamples": None,
            "interval": "non-overlap of the two scores' intervals"}  # fmt: skip
