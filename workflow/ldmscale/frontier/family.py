"""Family-wise control of what the frontier calls resolved.

One run reports many claims per (task, metric, cost axis): a winner's margin at each budget, both margins of each
crossover. Each claim compares two sets of configurations, A and B (the winner model's configurations within the
budget against every other model's, say), and its margin is θ = max_A μ − max_B μ = max_a min_b (μ_a − μ_b).

**Pairs, not re-selected maxima.** θ's interval comes from simultaneous intervals for the pairwise differences
μ_a − μ_b: [d_ab − c·s_ab, d_ab + c·s_ab], d the paired difference of means, s its bootstrap standard error and c the
`level` quantile, over the paired resamples, of the largest standardised deviation |d*_ab − d_ab| / s_ab over the pairs
(the bootstrap max-T of Romano & Wolf 2005, Econometrica 73(4):1237–1282). Where every pair's interval holds, so does
[max_a min_b L_ab, max_a min_b U_ab] for θ, as in Hsu's multiple comparisons with the best (Hsu 1996, *Multiple
Comparisons*, ch. 4): which configuration the data made each side's best does not bias it, since every configuration
that could have been chosen is in it. Re-selecting the two maxima in each resample and taking percentiles, the obvious
alternative, lets a side with many configurations win its resamples by the maximum's own upward bias: on a simulated
sweep where every configuration is equally good and one model has 32 configurations within the budget against another
model's 2, it made a false resolved claim in 54% of runs (`tests/test_family.py`).

**Two steps** (Romano, Shaikh & Wolf 2014, "A practical two-step method for testing moment inequalities",
Econometrica 82(5):1979–2002). Most configurations of a side are plainly not its best (a 1-step configuration next to
its 25-step sibling), and their pairs would only widen c. Step 1, at β = (1 − `level`) / 10: a configuration is dropped
from a side when another of the same side beats it by a one-sided simultaneous bound over every pair of the sweep's
configurations; then, with probability at least 1 − β, no side loses its true best. Step 2 computes c over the pairs
left, at level `level` + β, so that the two steps together err with probability at most 1 − `level`.

A claim is **resolved** when its family-wise interval excludes zero: at most 1 − `level` of runs make any false
resolved claim. Its per-comparison interval is the same construction with c from its own pairs alone. Pairs shared by
several claims (the same configurations at neighbouring budgets) cost the family nothing more. Without per-image values
(Fréchet distances) there are no paired resamples and no screening: each pair's interval is the two scores' own, each
estimate ± 1.96 SE as every set-level metric here reports, widened to the Bonferroni level over the pairs; a difference
beyond z·(SE_a + SE_b) ≥ z·SE(a − b) holds whatever the correlation of the two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from .uncertainty import LEVEL, Sweep

Z95 = float(norm.ppf(0.975))  # the half-width, in SEs, of the set-level metrics' own 95% intervals
SCREEN_SHARE = 0.1  # β = this share of the error rate, Romano, Shaikh & Wolf's (2014) recommendation


@dataclass(frozen=True)
class Claim:
    """That the best of candidates `better` beats the best of candidates `worse` (indices into one `Sweep`)."""

    better: np.ndarray
    worse: np.ndarray

    def margin(self, sweep: Sweep) -> float:
        return float(sweep.draws[self.better, 0].max() - sweep.draws[self.worse, 0].max())


@dataclass(frozen=True)
class Pairs:
    """Every pair's difference of means `d[a, b]` = μ̂_a − μ̂_b and its standard error `s[a, b]` over one sweep."""

    d: np.ndarray
    s: np.ndarray

    @classmethod
    def of(cls, sweep: Sweep) -> Pairs:
        if not sweep.resampled:
            raise ValueError("pairs need paired resamples")
        d = sweep.draws[:, None, 0] - sweep.draws[None, :, 0]
        s = np.stack([(sweep.draws[a, 1:] - sweep.draws[:, 1:]).std(axis=1) for a in range(len(d))])
        return cls(d, s)

    def deviations(self, sweep: Sweep, a: int, others: np.ndarray, signed: bool = False) -> np.ndarray:
        """Return (others × resamples) the standardised deviations (d* − d) / s of the pairs (a, b), |…| unless
        `signed`; 0 for a pair whose difference never varies."""
        diff = sweep.draws[a, 1:] - sweep.draws[others, 1:]
        scale = np.where(self.s[a, others] > 0, self.s[a, others], np.inf)[:, None]
        out = (diff - self.d[a, others][:, None]) / scale
        return out if signed else np.abs(out)

    def bounds(self, claim: Claim, critical: float) -> tuple[float, float]:
        """Return (max_a min_b (d − c·s), max_a min_b (d + c·s)): the claim's margin bounds from its pairs'."""
        d, s = self.d[np.ix_(claim.better, claim.worse)], self.s[np.ix_(claim.better, claim.worse)]
        return float((d - critical * s).min(1).max()), float((d + critical * s).min(1).max())


def _quantile(maxima: np.ndarray, level: float) -> tuple[float, float, float]:
    """Return the `level` quantile of `maxima` (an order statistic) and the order statistics ±1.96 binomial standard
    deviations of rank away: a distribution-free 95% interval for it from a finite number of resamples."""
    ordered, reps = np.sort(maxima), len(maxima)
    k = math.ceil(level * reps)
    d = math.ceil(Z95 * math.sqrt(reps * level * (1 - level)))
    return float(ordered[k - 1]), float(ordered[max(k - 1 - d, 0)]), float(ordered[min(k - 1 + d, reps - 1)])


def _beaten(sweep: Sweep, pairs: Pairs, beta: float) -> np.ndarray:
    """Return beaten[a, b]: a surely beats b, by the one-sided simultaneous bound at level 1 − β over every pair of
    the sweep (depends on the sweep alone, so every family of it shares it)."""
    everyone = np.arange(len(pairs.d))
    maxima = np.max([pairs.deviations(sweep, a, everyone, signed=True).max(0) for a in everyone], axis=0)
    return pairs.d - _quantile(maxima, 1 - beta)[0] * pairs.s > 0


def screen(claims: list[Claim], sweep: Sweep, pairs: Pairs, beta: float) -> list[Claim]:
    """Return the claims with every configuration dropped that another of its side beats by the one-sided simultaneous
    bound at level 1 − β over every pair of the sweep (step 1): no side keeps a configuration that cannot be its best."""
    beaten = sweep.memo(("beaten", beta), lambda: _beaten(sweep, pairs, beta))

    def keep(side: np.ndarray) -> np.ndarray:
        return side[~beaten[np.ix_(side, side)].any(0)]

    return [Claim(keep(c.better), keep(c.worse)) for c in claims]


def _max_deviation(sweep: Sweep, pairs: Pairs, claim: Claim) -> np.ndarray:
    """Return per resample the largest standardised deviation over the claim's pairs."""
    return np.max([pairs.deviations(sweep, a, claim.worse).max(0) for a in claim.better], axis=0)


@dataclass(frozen=True)
class Family:
    """A family of claims on one sweep, screened (step 1), with each claim's own deviations' maxima per resample and
    the family's critical value (step 2) and its Monte Carlo interval."""

    pairs: Pairs
    screened: list[Claim]
    maxima: list[np.ndarray]
    beta: float
    critical: tuple[float, float, float]

    @classmethod
    def of(cls, claims: list[Claim], sweep: Sweep, level: float) -> Family:
        """Return the family of `claims` at `level`, computed once per sweep (`judge` and `weakest` share it)."""
        key = ("family", level, tuple((c.better.tobytes(), c.worse.tobytes()) for c in claims))
        return sweep.memo(key, lambda: cls._of(claims, sweep, level))

    @classmethod
    def _of(cls, claims: list[Claim], sweep: Sweep, level: float) -> Family:
        pairs = sweep.memo("pairs", lambda: Pairs.of(sweep))
        beta = SCREEN_SHARE * (1 - level)
        screened = screen(claims, sweep, pairs, beta)
        maxima, cache = [], {}
        for c in screened:
            key = (c.better.tobytes(), c.worse.tobytes())
            if key not in cache:
                cache[key] = _max_deviation(sweep, pairs, c)
            maxima.append(cache[key])
        return cls(pairs, screened, maxima, beta, _quantile(np.max(maxima, axis=0), level + beta))


def weakest(claims: list[Claim], sweep: Sweep, metric: str, level: float = LEVEL) -> list[dict]:
    """Return per claim the pairs its family-wise lower bound rests on: the configuration `a` of its better side that
    attains max_a min_b (d − c·s), and against each configuration `b` of its worse side after screening, the
    difference `d` and the family-wise half-width `reach` = c·s (c the critical value `judge` uses). A claim settles
    only when these pairs do: refinement gives their configurations images (`refine.decisions`)."""
    if not claims:
        return []
    if sweep.resampled:
        family = Family.of(claims, sweep, level)
        pairs, screened, critical = family.pairs, family.screened, family.critical[0]
    else:
        pairs, critical = _set_level_pairs(claims, sweep, metric, level)
        screened = claims
    out = []
    for kept in screened:
        d, s = pairs.d[np.ix_(kept.better, kept.worse)], pairs.s[np.ix_(kept.better, kept.worse)]
        a = int(np.argmax((d - critical * s).min(1)))
        out.append({"a": int(kept.better[a]), "b": kept.worse, "d": d[a], "reach": critical * s[a]})
    return out


def judge(claims: list[Claim], sweep: Sweep, metric: str, level: float = LEVEL) -> list[dict]:
    """Return per claim: its margin, its per-comparison interval and whether that excludes zero (`separable`), its
    family-wise interval with the Monte Carlo error of its bounds, and whether it is `resolved`; the family's size
    (claims, pairs after screening), critical value and resamples."""
    if not claims:
        return []
    if not sweep.resampled:
        return _set_level(claims, sweep, metric, level)
    family = Family.of(claims, sweep, level)
    pairs, screened, maxima, beta = family.pairs, family.screened, family.maxima, family.beta
    critical, low_c, high_c = family.critical
    size = len({(a, b) for c in screened for a in c.better for b in c.worse})
    out = []
    for claim, kept, own in zip(claims, screened, maxima):
        low, high = pairs.bounds(kept, _quantile(own, level + beta)[0])
        fw_low, fw_high = pairs.bounds(kept, critical)
        error = max(abs(x - y) for c in (low_c, high_c) for x, y in zip(pairs.bounds(kept, c), (fw_low, fw_high)))
        out.append({"margin": claim.margin(sweep), "margin_ci_low": low, "margin_ci_high": high,
                    "separable": low > 0 or high < 0, "margin_fw_low": fw_low, "margin_fw_high": fw_high,
                    "margin_fw_mc_error": error, "resolved": fw_low > 0, "family_size": len(claims),
                    "family_pairs": size, "family_critical": critical, "resamples": sweep.draws.shape[1] - 1,
                    "interval": "paired bootstrap over images, simultaneous over pairs"})  # fmt: skip
    return out


def _set_level_pairs(claims: list[Claim], sweep: Sweep, metric: str, level: float) -> tuple[Pairs, float]:
    """Return the pairs of a sweep without paired resamples (each score's own SE, summed) and the family's critical
    value (Bonferroni over the claims' pairs)."""
    rows = sweep.frame.iter_rows(named=True)
    se = np.asarray([(r[f"{metric}_ci_high"] - r[f"{metric}_ci_low"]) / (2 * Z95) for r in rows])
    pairs = Pairs(sweep.draws[:, None, 0] - sweep.draws[None, :, 0], se[:, None] + se[None, :])
    size = len({(a, b) for c in claims for a in c.better for b in c.worse})
    return pairs, float(norm.ppf(1 - (1 - level) / (2 * size)))


def _set_level(claims: list[Claim], sweep: Sweep, metric: str, level: float) -> list[dict]:
    """Return the verdicts on claims without paired resamples, from the scores' own intervals (Bonferroni)."""
    pairs, family = _set_level_pairs(claims, sweep, metric, level)
    size = len({(a, b) for c in claims for a in c.better for b in c.worse})
    out = []
    for claim in claims:
        low, high = pairs.bounds(claim, float(norm.ppf(1 - (1 - level) / (2 * len(claim.better) * len(claim.worse)))))
        fw_low, fw_high = pairs.bounds(claim, family)
        out.append({"margin": claim.margin(sweep), "margin_ci_low": low, "margin_ci_high": high,
                    "separable": low > 0 or high < 0, "margin_fw_low": fw_low, "margin_fw_high": fw_high,
                    "margin_fw_mc_error": None, "resolved": fw_low > 0, "family_size": len(claims),
                    "family_pairs": size, "family_critical": family, "resamples": None,
                    "interval": "the scores' own intervals, Bonferroni over pairs"})  # fmt: skip
    return out
