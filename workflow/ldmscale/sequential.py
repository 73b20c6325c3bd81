"""Anytime-valid intervals for a mean of bounded values, and for a paired difference: valid at every sample size at
once, so an adaptive design may stop whenever it likes. The refinement (issue 34) chooses between this and a
Bonferroni correction over a fixed set of looks (`frontier.uncertainty.adjusted_level`);
`workflow/benchmarks/sequential_widths.py` measures both on the default run.

The confidence sequence is the predictable plug-in empirical-Bernstein one (PrPl-EB) of Waudby-Smith & Ramdas,
"Estimating means of bounded random variables by betting", JRSS B 86(1), 2024, §3.3 (equations 13-15): for x_i in
[0, 1],

    C_t = Σ λ_i x_i / Σ λ_i  ±  (log(2/α) + Σ v_i ψ_E(λ_i)) / Σ λ_i,

with v_i = 4 (x_i - μ̂_{i-1})², ψ_E(λ) = (-log(1 - λ) - λ) / 4, and the predictable bets
λ_t = min(sqrt(2 log(2/α) / (σ̂²_{t-1} t log(1 + t))), c), where μ̂_t = (1/2 + Σ_{i≤t} x_i) / (t + 1) and
σ̂²_t = (1/4 + Σ_{i≤t} (x_i - μ̂_i)²) / (t + 1). Numpy only.
"""

from __future__ import annotations

import numpy as np


def eb_sequence(x: np.ndarray, alpha: float = 0.05, c: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Return (lower, upper), each (..., n): the PrPl-EB confidence sequence for the mean of the values `x` in [0, 1]
    along their last axis, after 1, 2, ..., n of them; with probability 1 - alpha it holds at every n at once."""
    x = np.asarray(x, dtype=float)
    if x.size and (x.min() < 0 or x.max() > 1):
        raise ValueError("eb_sequence: values must lie in [0, 1]; rescale them first")
    t = np.arange(1, x.shape[-1] + 1)
    mean = (0.5 + np.cumsum(x, -1)) / (t + 1)  # μ̂_t
    variance = (0.25 + np.cumsum((x - mean) ** 2, -1)) / (t + 1)  # σ̂²_t
    before = lambda a, first: np.concatenate([np.full(a.shape[:-1] + (1,), first), a[..., :-1]], -1)  # noqa: E731
    log_term = np.log(2 / alpha)
    bet = np.minimum(np.sqrt(2 * log_term / (before(variance, 0.25) * t * np.log1p(t))), c)  # λ_t
    v = 4 * (x - before(mean, 0.5)) ** 2
    psi = (-np.log1p(-bet) - bet) / 4
    total = np.cumsum(bet, -1)
    centre = np.cumsum(bet * x, -1) / total
    half = (log_term + np.cumsum(v * psi, -1)) / total
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def paired_sequence(a: np.ndarray, b: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Return (lower, upper): a confidence sequence for the mean of a - b, image by image, for paired values in
    [0, 1] (their differences, in [-1, 1], mapped onto [0, 1] and back)."""
    low, high = eb_sequence((np.asarray(a, float) - np.asarray(b, float) + 1) / 2, alpha)
    return 2 * low - 1, 2 * high - 1
