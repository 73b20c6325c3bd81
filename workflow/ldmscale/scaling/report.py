"""The scaling-law tables (results/frontier/scaling*.csv), the curves the charts draw, and the README section.

Per (task, sampler, metric): every form fitted with its paired-bootstrap intervals, each checked by leaving every size
out, and the form whose held-out predictions of the interior sizes err least chosen (the simpler one on a tie).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..frontier.summary import _number
from . import law as laws
from .fits import LEVEL, Law, fit_law, leave_one_size_out
from .optimal import optimal
from .points import points

CURVE_STEPS = 32  # points per fitted curve in the charts' table


def _intervals(paired: bool) -> str:
    return "paired bootstrap over images" if paired else "each score's own interval, drawn independently"


def _verdict(rows: list[dict]) -> dict:
    """Return the held-out summary of one form: coverage and median |error| of the interior sizes (all where none)."""
    interior = [r for r in rows if r["position"] == "interior"] or rows
    return {"loso_coverage": float(np.mean([r["inside"] for r in interior])),
            "loso_median_abs_error": float(np.median([abs(r["error"]) for r in interior])),
            "loso_sizes": "interior" if any(r["position"] == "interior" for r in rows) else "all"}  # fmt: skip


def _curves(fitted: Law, scope: dict) -> list[dict]:
    """Return the law's predicted metric, with its band, on a log grid of steps for every model it was fitted to
    (`kind` "law"; the held-out predictions beside them are `kind` "held out", their band the prediction interval)."""
    pts, goal = fitted.points, fitted.points.target
    steps = np.unique(np.geomspace(pts.s.min(), pts.s.max(), CURVE_STEPS).round(3))
    out = []
    for model in sorted(set(pts.models.tolist())):
        x = float(pts.x[pts.models == model][0])
        pred = fitted.predict(np.full_like(steps, x), steps)
        low, high = np.sort([goal.from_q(pred["band_low"]), goal.from_q(pred["band_high"])], axis=0)
        out += [{**scope, "model": model, "unet_gflops": x, "steps": float(s), "predicted": float(goal.from_q(q)),
                 "band_low": float(lo), "band_high": float(hi), "kind": "law"}
                for s, q, lo, hi in zip(steps, pred["q"], low, high)]  # fmt: skip
    return out


MIN_SIZES = 3  # a size term needs two sizes to fit and a third to check it


def _fittable(rows: pl.DataFrame, metric: str, forms: list[str]) -> str | None:
    """Return why a law cannot be fitted to these rows, or None."""
    sizes, steps = rows["unet_gflops"].n_unique(), rows["steps"].n_unique()
    points_needed = max(len(laws.form(f).params) for f in forms) + 2
    if sizes < MIN_SIZES or steps < 2:
        return f"{sizes} model size(s) and {steps} step count(s): a law needs {MIN_SIZES} sizes and 2 step counts"
    if rows.select(["model", "steps"]).unique().height < points_needed:
        return f"fewer than {points_needed} (model, steps) points"
    return None


def _reference_gflops(rows: pl.DataFrame) -> float | None:
    """Return the reference model's UNet GFLOPs per call: normalised cost = x·s / x_ref."""
    known = rows.filter(pl.col("normalised_cost").is_finite() & (pl.col("normalised_cost") > 0))
    return None if known.is_empty() else float((known["unet_gflops"] * known["steps"] / known["normalised_cost"])[0])


def analyse(
    summary: pl.DataFrame, per_image: pl.DataFrame, metric: str, reps: int, forms: list[str], budgets: list[float] = ()
) -> dict:
    """Return the tables of one metric: `scaling` (parameters), `validation` (leave one size out), `curves`, `optimal`
    (the inference-optimal size at each of `budgets`, normalised cost) and `notes` on what could not be fitted.
    Distilled students are left out: they are not members of the family."""
    out = {"scaling": [], "validation": [], "curves": [], "optimal": [], "notes": []}
    undistilled = summary.filter(pl.col("distilled_from").is_null()) if "distilled_from" in summary.columns else summary
    for (task, sampler), rows in undistilled.group_by(["task", "sampler"], maintain_order=True):
        scope = {"task": task, "sampler": sampler, "metric": metric}
        rows = rows.filter(pl.col(metric).is_finite())
        why = _fittable(rows, metric, forms)
        try:
            pts = (
                None
                if why
                else points(
                    rows, per_image.filter((pl.col("task") == task) & (pl.col("sampler") == sampler)), metric, reps
                )
            )
        except ValueError as err:
            why = str(err)
        if why:
            out["notes"].append({**scope, "note": f"no law fitted: {why}"})
            continue
        results = {}
        for name in forms:
            form = laws.form(name)
            fitted, held = fit_law(pts, form), leave_one_size_out(pts, form)
            results[name] = (fitted, held, _verdict(held))
            out["validation"] += [{**scope, **r} for r in held]
        usable = [n for n in forms if results[n][0].fit.converged] or forms
        chosen = min(usable, key=lambda n: (results[n][2]["loso_median_abs_error"], len(laws.form(n).params)))
        for name, (fitted, _, verdict) in results.items():
            common = {**scope, "target": pts.target.description, "form": name, "formula": fitted.fit.form.formula,
                      "chosen": name == chosen, "converged": fitted.fit.converged, "refits": len(fitted.replicates),
                      "refits_failed": fitted.failed, **verdict, "intervals": _intervals(pts.paired),
                      "residuals": "standardised by each point's bootstrap standard error"}  # fmt: skip
            out["scaling"] += [{**common, **p} for p in fitted.parameters()]
        x_ref = _reference_gflops(rows) if "normalised_cost" in rows.columns else None
        if x_ref:
            out["optimal"] += [{**scope, "form": chosen, **r} for r in optimal(results[chosen][0], budgets, x_ref)]
        out["curves"] += _curves(results[chosen][0], {**scope, "form": chosen})
        out["curves"] += [{**scope, "form": chosen, "model": r["held_out"], "steps": float(r["steps"]),
                           "predicted": r["predicted"], "band_low": r["pi_low"], "band_high": r["pi_high"],
                           "kind": "held out"} for r in results[chosen][1]]  # fmt: skip
    return {name: pl.DataFrame(rows, infer_schema_length=None) for name, rows in out.items()}


def _optimal_lines(rows: pl.DataFrame) -> list[str]:
    """Return the README's table of the inference-optimal size per budget, per task, sampler and metric."""
    if rows.is_empty():
        return []
    lines = ["", "### The inference-optimal size", "",
             "For each budget of normalised cost, the size x* (UNet GFLOPs per call) and steps s* the law used predicts",
             "best (x*'s 95% interval over the refits; *extrapolated*: beyond the sizes measured), and the swept",
             "(model, steps) it predicts best within the budget (results/frontier/scaling_optimal.csv)."]  # fmt: skip
    for (task, sampler, metric), group in rows.group_by(["task", "sampler", "metric"], maintain_order=True):
        lines += ["", f"{metric}, task {task}, sampler {sampler} ({group['form'][0]} law):", "",
                  f"| budget | x* [95%] | s* | {metric} predicted there | best swept within it |", "|---|---|---|---|---|"]  # fmt: skip
        for r in group.iter_rows(named=True):
            note = " *extrapolated*" if r["extrapolated"] else ""
            steps = "1 (the whole budget in one step)" if r["one_step"] else _number(r["s_star"])
            swept = "none fits" if r["grid_model"] is None else (
                f"{r['grid_model']}, {r['grid_steps']} step{'s' if r['grid_steps'] != 1 else ''}: "
                f"{_number(r['grid_predicted'])}")  # fmt: skip
            lines.append(f"| {_number(r['budget'])} | {_number(r['x_star'])} [{_number(r['x_star_ci_low'])}, "
                         f"{_number(r['x_star_ci_high'])}]{note} | {steps} | {_number(r['predicted_at_optimum'])} | {swept} |")  # fmt: skip
    return lines


def markdown(
    scaling: pl.DataFrame, validation: pl.DataFrame, notes: pl.DataFrame | None = None, optimal_rows=None
) -> str:
    """Return the "Scaling law" section of results/frontier/README.md: the fits, what could not be fitted, and the
    inference-optimal size per budget."""
    notes = pl.DataFrame() if notes is None else notes
    if scaling.is_empty() and notes.is_empty():
        return ""
    lines = [
        "",
        "## Scaling law",
        "",
        "Per task, sampler and metric, laws of quality in UNet GFLOPs per call x and sampling steps s, fitted to every",
        "model's best-guidance score at every step count (results/frontier/scaling.csv). Intervals are 95%, from refits",
        "to paired bootstrap resamples of the images. Each form is checked by leaving each size out: fitted to the",
        "others, it predicts the held-out size at every step count (results/frontier/scaling_validation.csv); the form",
        "whose interior predictions err least is the one used. A size outside the others' range is an extrapolation.",
    ]
    groups = [] if scaling.is_empty() else scaling.group_by(["task", "sampler", "metric"], maintain_order=True)
    for (task, sampler, metric), rows in groups:
        lines += ["", f"### {metric}, task {task}, sampler {sampler}", "", f"Fitted quantity: {rows['target'][0]}."]
        for (form,), frows in rows.group_by(["form"], maintain_order=True):
            first = frows.row(0, named=True)
            params = ", ".join(
                f"{r['parameter']} {_number(r['estimate'])} [{_number(r['ci_low'])}, {_number(r['ci_high'])}]"
                for r in frows.iter_rows(named=True)
            )
            status = "" if first["converged"] else " **The fit did not converge: do not use it.**"
            chosen = " (used)" if first["chosen"] else ""
            bound = [r["parameter"] for r in frows.iter_rows(named=True) if r["at_bound"]]
            if bound:
                status += f" At a bound of its range: {', '.join(bound)} (the data do not pin it down)."
            lines.append(f"- {form}{chosen}: {first['formula']}; {params}.{status}")
            held = validation.filter(
                (pl.col("task") == task) & (pl.col("sampler") == sampler) & (pl.col("metric") == metric)
                & (pl.col("form") == form)
            )  # fmt: skip
            for (position,), prows in held.group_by(["position"], maintain_order=True):
                lines.append(
                    f"  - held out, {position} sizes ({', '.join(sorted(set(prows['held_out'].to_list())))}): "
                    f"measured inside the {LEVEL:.0%} prediction interval at {prows['inside'].mean():.0%} of "
                    f"{prows.height} step counts, median |error| {_number(prows['error'].abs().median())}."
                )
    for r in notes.iter_rows(named=True):
        lines += [
            "",
            f"### {r['metric']}, task {r['task']}, sampler {r['sampler']}",
            "",
            r["note"][0].upper() + r["note"][1:] + ".",
        ]
    lines += _optimal_lines(optimal_rows if optimal_rows is not None else pl.DataFrame())
    lines += [
        "",
        "A prediction interval is where a new measurement of that size and step count should fall 95% of the time if",
        "the law holds: it adds the measurements' own noise and the law's misfit to the fit's uncertainty. Beyond the",
        "sizes measured, it rests on the form being right where no size was measured to check it.",
    ]
    return "\n".join(lines) + "\n"
