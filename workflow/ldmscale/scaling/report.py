"""The scaling-law tables (results/{experiment}/frontier/scaling*.csv), the curves the charts draw, and the README section.

Per (task, sampler, metric): every form fitted with its paired-bootstrap intervals, each checked by leaving every size
out, and the form whose held-out predictions of the interior sizes err least chosen (the simpler one on a tie).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..frontier.analysis import best_guidance
from ..frontier.baselines import is_baseline
from ..frontier.summary import _number
from . import law as laws
from .deployment import deployment
from .fits import LEVEL, Law, fit_law, leave_one_size_out
from .optimal import inference_cost, optimal
from .points import points, resampled
from .predicted import Size, compare, configurations

CURVE_STEPS = 32  # points per fitted curve in the charts' table


def _intervals(paired: bool) -> str:
    return "paired bootstrap over images" if paired else "each score's own interval, drawn independently"


def _verdict(rows: list[dict]) -> dict:
    """Return the held-out summary of one form: coverage and median |error| of the interior sizes (all where none)."""
    interior = [r for r in rows if r["position"] == "interior"] or rows
    return {"loso_coverage": float(np.mean([r["inside"] for r in interior])),
            "loso_median_abs_error": float(np.median([abs(r["error"]) for r in interior])),
            "loso_sizes": "interior" if any(r["position"] == "interior" for r in rows) else "all"}  # fmt: skip


def _curves(fitted: Law, scope: dict, sizes: list[Size] = ()) -> list[dict]:
    """Return the law's predicted metric, with its band, on a log grid of steps for every model it was fitted to
    (`kind` "law") and every size nobody trained (`kind` "predicted"); the held-out predictions beside them are `kind`
    "held out", their band the prediction interval."""
    pts, goal = fitted.points, fitted.points.target
    steps = np.unique(np.geomspace(pts.s.min(), pts.s.max(), CURVE_STEPS).round(3))
    sized = [(m, float(pts.x[pts.models == m][0]), "law") for m in sorted(set(pts.models.tolist()))]
    out = []
    for model, x, kind in sized + [(size.name, size.gflops, "predicted") for size in sizes]:
        pred = fitted.predict(np.full_like(steps, x), steps)
        low, high = np.sort([goal.from_q(pred["band_low"]), goal.from_q(pred["band_high"])], axis=0)
        out += [{**scope, "model": model, "unet_gflops": x, "steps": float(s), "predicted": float(goal.from_q(q)),
                 "band_low": float(lo), "band_high": float(hi), "kind": kind}
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


TABLES = ("scaling", "validation", "curves", "optimal", "predicted_scores", "predicted", "deployment", "notes")


def analyse(
    summary: pl.DataFrame,
    per_image: pl.DataFrame,
    metric: str,
    reps: int,
    forms: list[str],
    budgets: dict[str, list[float]] | None = None,
    sizes: list[Size] = (),
    target: float | None = None,
    served: list[float] = (),
) -> dict:
    """Return the tables of one metric: `scaling` (parameters), `validation` (leave one size out), `curves`, `optimal`
    (the inference-optimal size at `budgets`, per cost axis), `predicted_scores` and `predicted` (the `sizes` nobody
    trained, and at each budget the best of them against the best measured), `deployment` (the cheapest size to reach
    `target` for each number of images `served`) and `notes` on what could not be done. Distilled students and
    super-resolution baselines are left out: they are not members of the family."""
    out, budgets = {name: [] for name in TABLES}, budgets or {}
    undistilled = summary.filter(pl.col("distilled_from").is_null()) if "distilled_from" in summary.columns else summary
    undistilled = undistilled.filter(~is_baseline())  # no model size
    for (task, sampler), rows in undistilled.group_by(["task", "sampler"], maintain_order=True):
        scope = {"task": task, "sampler": sampler, "metric": metric}
        rows = rows.filter(pl.col(metric).is_finite()).sort(["model", "steps", "guidance"])
        scoped = per_image.filter((pl.col("task") == task) & (pl.col("sampler") == sampler))
        why = _fittable(rows, metric, forms)
        try:
            pts = None if why else points(rows, scoped, metric, reps)
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
        law, used = results[chosen][0], {**scope, "form": chosen}
        x_ref = _reference_gflops(rows) if "normalised_cost" in rows.columns else None
        best = best_guidance(rows, metric)  # per model and steps: what the law was fitted to, and its costs
        inference = inference_cost(best)
        if x_ref:
            out["optimal"] += [
                {**used, **r}
                for r in optimal(law, budgets.get("normalised_cost", []), lambda b, x_ref=x_ref: b * x_ref)
            ]
        if inference:
            out["optimal"] += [{**used, **r, "cost_model_error": inference.error}
                               for r in optimal(law, budgets.get("gflops_per_image", []), inference.steps_budget,
                                                "gflops_per_image")]  # fmt: skip
        if sizes and x_ref:
            table = configurations(law, best, sizes, x_ref, used)
            out["predicted_scores"] += table.to_dicts()
            scores, _ = resampled(rows, scoped, metric, reps)  # the resamples the law's points were drawn from
            out["predicted"] += [{**used, **r} for r in compare(law, rows, scores, table, budgets)]
        if target is not None and inference:
            deployed, why = deployment(law, best, target, list(served), inference)
            out["deployment"] += [{**used, **r} for r in deployed]
            out["notes"] += [{**scope, "note": why}] if why else []
        out["curves"] += _curves(law, used, sizes)
        out["curves"] += [{**scope, "form": chosen, "model": r["held_out"], "steps": float(r["steps"]),
                           "predicted": r["predicted"], "band_low": r["pi_low"], "band_high": r["pi_high"],
                           "kind": "held out"} for r in results[chosen][1]]  # fmt: skip
    return {name: pl.DataFrame(rows, infer_schema_length=None) for name, rows in out.items()}


def _section(rows: pl.DataFrame, title: str, intro: list[str]):
    """Return a README section's opening lines and its rows grouped per task, sampler, metric and cost axis; nothing
    where there are no rows."""
    if rows.is_empty():
        return [], []
    return ["", f"### {title}", "", *intro], rows.group_by(
        ["task", "sampler", "metric", "cost_axis"], maintain_order=True
    )


def _optimal_lines(rows: pl.DataFrame) -> list[str]:
    """Return the README's table of the inference-optimal size per budget, per task, sampler, metric and cost axis."""
    lines, groups = _section(rows, "The inference-optimal size", [
        "For each budget, the size x* (UNet GFLOPs per call) and steps s* the law used predicts best (x*'s 95%",
        "interval over the refits; *extrapolated*: beyond the sizes measured), and the swept (model, steps) it",
        "predicts best within the budget (scaling_optimal.csv). On GFLOPs per image, a budget C",
        "buys x·s = (C − o) / u, with u and o fitted to the sweep's costs (their largest error is given)."])  # fmt: skip
    for (task, sampler, metric, axis), group in groups:
        fit = ""
        if axis == "gflops_per_image":
            fit = f"; sampling cost fitted within {group['cost_model_error'].max():.1%}"
        lines += ["", f"{metric}, task {task}, sampler {sampler}, budgets of {axis} ({group['form'][0]} law{fit}):", "",
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


def _predicted_lines(rows: pl.DataFrame) -> list[str]:
    """Return the README's words on the sizes nobody trained: per budget, the best of them against the best measured."""
    lines, groups = _section(rows, "Sizes nobody trained", [
        "At each budget, the best configuration of the sizes marked `predict: true` (their scores from the law)",
        "against the best measured configuration, and the predicted margin (positive: the untrained size is better)",
        "with its 95% interval: the prediction interval paired with the measurement's resamples, per budget",
        "(predicted.csv; every predicted configuration: predicted_scores.csv)."])  # fmt: skip
    for (task, sampler, metric, axis), group in groups:
        lines += ["", f"{metric}, task {task}, sampler {sampler}, budgets of {axis}:", ""]
        unfit = group.filter(pl.col("predicted_model").is_null())
        for (verdict,), none in unfit.group_by(["verdict"], maintain_order=True):
            lines.append(f"- {', '.join(_number(b) for b in none['budget'])}: {verdict}.")
        for r in group.filter(pl.col("predicted_model").is_not_null()).iter_rows(named=True):
            steps = f"{r['predicted_steps']} step{'s' if r['predicted_steps'] != 1 else ''}"
            where = " (an extrapolation)" if r["extrapolated"] else ""
            lines.append(
                f"- {_number(r['budget'])}: a {r['predicted_model']}{where} at {steps} would score "
                f"{_number(r['predicted'])} against {r['measured']}'s {_number(r['measured_value'])}: margin "
                f"{r['margin']:+.3g} [{r['margin_ci_low']:+.3g}, {r['margin_ci_high']:+.3g}]; {r['verdict']}."
            )
    return lines


def _deployment_lines(rows: pl.DataFrame) -> list[str]:
    """Return the README's table of the size to deploy for each number of images served."""
    if rows.is_empty():
        return []
    first = rows.row(0, named=True)
    lines = ["", "### The size to deploy", "",
             "For N images served, the (size, steps) the law predicts reaches the target at the least training FLOPs",
             "plus N × sampling FLOPs per image, beside the cheapest measured configuration that reaches it",
             f"(scaling_deployment.csv). Training FLOPs are τ·x with τ = {first['tau']:.3g} FLOPs per",
             f"UNet GFLOP per call, the measured sizes' median (within {first['tau_error']:.1%} of each); x in UNet",
             "GFLOPs per call; the interval is x's over the refits, with the share of refits that reach the target."]  # fmt: skip
    for (task, sampler, metric), group in rows.group_by(["task", "sampler", "metric"], maintain_order=True):
        lines += ["", f"{metric} ≥ {_number(group['target'][0])} (or ≤, lower being better), task {task}, sampler "
                  f"{sampler}:", "", "| images served | law: x [95%], steps | training + sampling FLOPs | "
                  "refits reaching it | measured: configuration, FLOPs |", "|---|---|---|---|---|"]  # fmt: skip
        for r in group.iter_rows(named=True):
            law = "not reached" if r.get("x") is None else (
                f"{_number(r['x'])} [{_number(r['x_ci_low'])}, {_number(r['x_ci_high'])}], {r['steps']}"
                + (" *extrapolated*" if r["extrapolated"] else ""))  # fmt: skip
            total = (
                "–"
                if r.get("x") is None
                else f"{r['train_flops']:.3g} + {r['flops_per_image']:.3g}·N = {r['total_flops']:.3g}"
            )
            measured = "none reaches it" if r.get("measured_model") is None else (
                f"{r['measured_model']}, {r['measured_steps']} steps, guidance {r['measured_guidance']:g}: "
                f"{r['measured_total_flops']:.3g}")  # fmt: skip
            lines.append(f"| {r['images_served']:.0e} | {law} | {total} | {r['reachable_share']:.0%} | {measured} |")
    return lines


def markdown(tables: dict[str, pl.DataFrame]) -> str:
    """Return the "Scaling law" section of results/{experiment}/frontier/README.md from `analyse`'s tables (any may be missing):
    the fits, what could not be done, the inference-optimal size per budget, the sizes nobody trained, and the size to
    deploy."""
    empty = pl.DataFrame()
    scaling, validation, notes = (tables.get(k, empty) for k in ("scaling", "validation", "notes"))
    if scaling.is_empty() and notes.is_empty():
        return ""
    lines = [
        "",
        "## Scaling law",
        "",
        "Per task, sampler and metric, laws of quality in UNet GFLOPs per call x and sampling steps s, fitted to every",
        "model's best-guidance score at every step count (scaling.csv). Intervals are 95%, from refits",
        "to paired bootstrap resamples of the images. Each form is checked by leaving each size out: fitted to the",
        "others, it predicts the held-out size at every step count (scaling_validation.csv); the form",
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
    lines += _optimal_lines(tables.get("optimal", empty))
    lines += _predicted_lines(tables.get("predicted", empty))
    lines += _deployment_lines(tables.get("deployment", empty))
    lines += [
        "",
        "A prediction interval is where a new measurement of that size and step count should fall 95% of the time if",
        "the law holds: it adds the measurements' own noise and the law's misfit to the fit's uncertainty. Beyond the",
        "sizes measured, it rests on the form being right where no size was measured to check it.",
    ]
    return "\n".join(lines) + "\n"
