"""Sizes nobody trained (`predict: true`): their configurations' costs from their counted FLOPs and timed components,
their scores from the scaling law, and at each budget the best of them against the best measured configuration.

A predicted configuration is (size, steps) at the guidance the nearest measured size (in log UNet FLOPs) chose at
those steps: the law is fitted to best-guidance scores, and guidance decides whether a step costs one UNet call or
two. Its interval is the 95% prediction interval of a new measurement (`fits.Law.predict`).

The margin over the best measured configuration within a budget is drawn in pairs: in each resample the law was
refitted to, the predicted size's new measurement (the refit's prediction plus a resampled residual) less the measured
configuration's score on the same resampled images. Its interval is a 95% percentile interval per budget, not
simultaneous over budgets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ..frontier.ranking import _higher_is_better, _ranked, _within, describe
from ..image_cost import sampling_flops, sampling_latency_ms
from .fits import LEVEL, Law

AXES = ("normalised_cost", "gflops_per_image", "latency_ms_per_image")


@dataclass(frozen=True)
class Size:
    """A model to predict: its name and cost records (count_flops's, and profile_latency's or None)."""

    name: str
    flops: dict
    latency: dict | None = None

    @property
    def gflops(self) -> float:
        return self.flops["unet"]["flops_b1"] / 1e9


def configurations(law: Law, best: pl.DataFrame, sizes: list[Size], x_ref: float, scope: dict) -> pl.DataFrame:
    """Return every predicted configuration (each size at every step count of the law's points) with its costs, the
    predicted score (`predicted`), the law's band and the prediction interval (as the metric), and `extrapolated`
    where the size lies outside the sizes the law was fitted to. `best`: the measured best-guidance rows (one per
    model and steps), whose guidance and UNet calls the nearest size lends."""
    goal, pts = law.points.target, law.points
    steps = np.unique(pts.s)
    out = []
    for size in sizes:
        x = size.gflops
        pred = law.predict(np.full_like(steps, x), steps)
        for i, s in enumerate(steps):
            at = best.filter(pl.col("steps") == int(s))
            near = at.row(int(np.argmin(np.abs(np.log(at["unet_gflops"].to_numpy() / x)))), named=True)
            nfe, cfg = near["nfe"], near["cfg"]
            pi = sorted(float(goal.from_q(pred[k][i])) for k in ("pi_low", "pi_high"))
            band = sorted(float(goal.from_q(pred[k][i])) for k in ("band_low", "band_high"))
            latency = None if size.latency is None else sampling_latency_ms(size.latency, nfe, cfg)
            out.append({
                **scope, "model": size.name, "steps": int(s), "guidance": near["guidance"], "guidance_of": near["model"],
                "nfe": nfe, "cfg": cfg, "unet_params": size.flops["unet"]["params"], "unet_gflops": x,
                "gflops_per_image": sampling_flops(size.flops, nfe, cfg) / 1e9, "normalised_cost": x * s / x_ref,
                "latency_ms_per_image": latency,
                "latency_device": None if size.latency is None else size.latency["device"],
                "predicted": float(goal.from_q(pred["q"][i])), "pi_low": pi[0], "pi_high": pi[1],
                "band_low": band[0], "band_high": band[1], "extrapolated": not pts.x.min() <= x <= pts.x.max(),
            })  # fmt: skip
    return pl.DataFrame(out, infer_schema_length=None)


def _verdict(low: float, high: float) -> str:
    if low > 0:
        return "predicted to lead: training it should pay at this budget, if the law holds at its size"
    if high < 0:
        return "predicted to trail: training it does not pay at this budget"
    return "not separable: the law cannot say that training it pays at this budget"


def compare(
    law: Law,
    rows: pl.DataFrame,
    scores: np.ndarray,
    predicted: pl.DataFrame,
    budgets: dict[str, list[float]],
    level: float = LEVEL,
) -> list[dict]:
    """Return per cost axis and budget the best predicted configuration against the best measured one within it, and
    the predicted margin (positive: the predicted size is better) with its interval. `scores` (resamples × rows) are
    `rows`' scores in the resamples the law's points were drawn from (`points.resampled`, the same seed)."""
    metric, goal = law.points.target.metric, law.points.target
    sign, tail = (1 if _higher_is_better(metric) else -1), (1 - level) / 2
    _, new = law.samples(predicted["unet_gflops"].to_numpy(), predicted["steps"].to_numpy().astype(float))
    new = np.asarray(goal.from_q(new), float)  # refits × predicted configurations, as the metric
    measured = scores[law.kept]  # the same resamples, in the refits' order
    rows, candidates = rows.with_row_index("_i"), predicted.with_row_index("_i").rename({"predicted": metric})
    out = []
    for axis, edges in budgets.items():
        if axis not in rows.columns or predicted[axis].is_null().all():
            continue
        for budget in edges:
            m = _ranked(_within(rows, axis, budget), metric, axis)
            p = _ranked(_within(candidates, axis, budget), metric, axis)
            base = {"cost_axis": axis, "budget": budget}
            if m.is_empty() or p.is_empty():
                why = "no measured configuration fits" if m.is_empty() else "no predicted configuration fits"
                out.append({**base, "predicted_model": None, "verdict": why})
                continue
            m, p = m.row(0, named=True), p.row(0, named=True)
            draws = sign * (new[:, p["_i"]] - measured[:, m["_i"]])
            low, high = np.quantile(draws, [tail, 1 - tail])
            out.append({
                **base, "predicted_model": p["model"], "predicted_steps": p["steps"], "predicted_guidance": p["guidance"],
                "predicted": p[metric], "predicted_cost": p[axis], "extrapolated": p["extrapolated"],
                "measured": describe(m), "measured_value": m[metric], "measured_cost": m[axis],
                "margin": sign * (p[metric] - m[metric]), "margin_ci_low": float(low), "margin_ci_high": float(high),
                "verdict": _verdict(low, high),
            })  # fmt: skip
    return out
