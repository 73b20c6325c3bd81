"""The answer: best guidance per (model, sampler, steps), Pareto sets, best configuration per budget, crossovers with
paired-bootstrap intervals, the plain-words summary and the charts."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from . import metrics, scoring

CONFIG_KEYS = ["task", "model", "sampler", "steps", "guidance"]
COST_AXES = {
    "normalised_cost": "normalised sampling cost (UNet FLOPs / reference × steps)",
    "gflops_per_image": "GFLOPs per image (text encoder + UNet calls + VAE decode)",
    "latency_ms_per_image": "ms per image (profiled components)",
}
LEVEL = 0.95  # every interval on the frontier is a 95% interval
BOOTSTRAP_SEED = 0
RESOLVED, NOT_RESOLVED = "resolved", "not resolved"


def _higher_is_better(metric: str) -> bool:
    return scoring.get(metric).higher_is_better


def _finite(*columns: str) -> pl.Expr:
    """Return an expression true where every column holds a finite number (null and NaN are never candidates)."""
    return pl.all_horizontal([pl.col(c).is_finite() for c in columns])


def _ranked(df: pl.DataFrame, metric: str, cost: str | None = None) -> pl.DataFrame:
    """Return the rows with a finite `metric` (and `cost`), best first.

    Ties go to the cheaper configuration, then the smaller model (UNet parameters, then name),
    then sampler name, fewer steps and smaller guidance, so that every choice is deterministic.
    """
    first = [metric] if cost is None else [metric, cost]
    ties = [c for c in ("unet_params", "model", "sampler", "steps", "guidance") if c in df.columns]
    return df.filter(_finite(*first)).sort(
        first + ties, descending=[_higher_is_better(metric)] + [False] * (len(first) + len(ties) - 1), nulls_last=True
    )


def best_guidance(df: pl.DataFrame, metric: str) -> pl.DataFrame:
    """Return one row per (task, model, sampler, steps): the guidance scale with the best `metric`.

    As in the paper, the guidance scale is a free choice per model and step count. Ties go to the
    smaller guidance; rows whose metric is null or NaN are never chosen. `guidance_tried` records
    the scales the choice was made among.
    """
    keys = ["task", "model", "sampler", "steps"]
    ranked = _ranked(df, metric)
    tried = ranked.group_by(keys).agg(pl.col("guidance").sort().cast(pl.String).str.join(", ").alias("guidance_tried"))
    return ranked.group_by(keys, maintain_order=True).first().join(tried, on=keys).sort(keys)


def pareto(df: pl.DataFrame, cost: str, metric: str) -> pl.DataFrame:
    """Return the rows no other row beats on both `cost` (lower) and `metric`, sorted by cost, per task.

    A row is kept only if it is strictly better than every cheaper-or-equal row; among equal
    costs and equal scores only one survives (the smaller model, see `_ranked`).
    """
    sign = 1 if _higher_is_better(metric) else -1
    out = []
    for task in sorted(df["task"].unique()):
        rows = _ranked(df.filter(pl.col("task") == task), metric, cost).sort(cost, maintain_order=True)
        best, keep = -math.inf, []
        for i, value in enumerate(rows[metric]):
            if sign * value > best:
                best = sign * value
                keep.append(i)
        out.append(rows[keep])
    return pl.concat(out) if out else df.clear()


def budget_edges(costs: pl.Series, buckets: int = 8) -> list[float]:
    """Return `buckets` log-spaced budgets from the cheapest to the dearest configuration (positive, finite costs only)."""
    costs = costs.filter(costs.is_finite() & (costs > 0))
    if costs.is_empty():
        return []
    low, high = float(costs.min()), float(costs.max())
    if buckets < 2 or low == high:
        return [high]
    ratio = (high / low) ** (1 / (buckets - 1))
    return [low * ratio**k for k in range(buckets - 1)] + [high]


def _within(df: pl.DataFrame, cost: str, budget: float) -> pl.DataFrame:
    return df.filter(pl.col(cost) <= budget * (1 + 1e-9))


def best_per_budget(df: pl.DataFrame, cost: str, metric: str, edges: list[float]) -> pl.DataFrame:
    """Return, per task and budget, the best configuration whose cost is within the budget."""
    rows = []
    for task in sorted(df["task"].unique()):
        candidates = _ranked(df.filter(pl.col("task") == task), metric, cost)
        for budget in edges:
            within = _within(candidates, cost, budget)
            if not within.is_empty():
                rows.append(
                    {"task": task, "metric": metric, "cost_axis": cost, "budget": budget, **within.row(0, named=True)}
                )
    return pl.DataFrame(rows) if rows else pl.DataFrame()


def crossovers(table: pl.DataFrame) -> pl.DataFrame:
    """Return the budgets at which the best model changes, from a best_per_budget table."""
    rows = []
    for (task,), group in table.sort("budget").group_by(["task"], maintain_order=True):
        models = group["model"].to_list()
        budgets = group["budget"].to_list()
        for i in range(1, len(models)):
            if models[i] != models[i - 1]:
                rows.append({"task": task, "budget": budgets[i], "from_model": models[i - 1], "to_model": models[i]})
    return pl.DataFrame(
        rows, schema={"task": pl.String, "budget": pl.Float64, "from_model": pl.String, "to_model": pl.String}
    )


# --- uncertainty: a paired bootstrap over images --------------------------------------------------------------------


def per_image_values(per_image: pl.DataFrame, metric: str) -> dict[tuple, np.ndarray]:
    """Return {(task, model, sampler, steps, guidance): per-image values in image-index order} for `metric`."""
    rows = per_image.filter(pl.col("metric") == metric).sort([*CONFIG_KEYS, "index"])
    return {key: group["value"].to_numpy() for key, group in rows.group_by(CONFIG_KEYS, maintain_order=True)}


def resample_counts(n: int, reps: int, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """Return (reps, n) counts: how often each image index is drawn in each resample of n images with replacement.

    One set of counts serves every configuration of a task, which pairs the comparisons: image i
    has the same prompt and initial latent in every configuration.
    """
    return np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), size=reps)


def _key(row: dict) -> tuple:
    return tuple(row[k] for k in CONFIG_KEYS)


def compare(a: dict, b: dict, metric: str, values: dict[tuple, np.ndarray], counts: np.ndarray | None) -> dict:
    """Return by how much configuration `a` beats `b` on `metric` (positive: a is better), with a 95% interval.

    With per-image values for both, the interval is a paired bootstrap percentile interval of the
    mean difference and the two are separable when it excludes zero. Set-level metrics (Fréchet
    distances) have no per-image values: then they are separable only when their own intervals do
    not overlap.
    """
    sign = 1 if _higher_is_better(metric) else -1
    margin = sign * (a[metric] - b[metric])
    va, vb = values.get(_key(a)), values.get(_key(b))
    if va is not None and vb is not None and counts is not None and len(va) == len(vb) == counts.shape[1]:
        low, high = metrics.percentile_interval(counts @ (sign * (va - vb)) / len(va), LEVEL)
        return {"margin": margin, "margin_ci_low": low, "margin_ci_high": high, "separable": low > 0 or high < 0,
                "interval": "paired bootstrap over images"}  # fmt: skip
    apart = a[f"{metric}_ci_low"] > b[f"{metric}_ci_high"] or a[f"{metric}_ci_high"] < b[f"{metric}_ci_low"]
    return {"margin": margin, "margin_ci_low": None, "margin_ci_high": None, "separable": bool(apart),
            "interval": "non-overlap of the two scores' intervals"}  # fmt: skip


NO_RUNNER_UP = {"runner_up_model": None, "runner_up": None, "margin": None, "margin_ci_low": None, "margin_ci_high": None,
                "separable": None, "interval": None}  # fmt: skip


def with_margins(
    table: pl.DataFrame, best: pl.DataFrame, cost: str, metric: str, values, counts_by_task: dict
) -> pl.DataFrame:
    """Return a best_per_budget table with, per budget, the best other model within it and the winner's margin over it."""
    rows = []
    for row in table.iter_rows(named=True):
        others = _ranked(
            _within(
                best.filter((pl.col("task") == row["task"]) & (pl.col("model") != row["model"])), cost, row["budget"]
            ),
            metric,
            cost,
        )
        extra = dict(NO_RUNNER_UP)
        if not others.is_empty():
            other = others.row(0, named=True)
            margin = compare(row, other, metric, values, counts_by_task.get(row["task"]))
            extra = {"runner_up_model": other["model"], "runner_up": describe(other), **margin}
        rows.append({**row, **extra})
    return pl.DataFrame(rows, infer_schema_length=None) if rows else table


def describe(row: dict) -> str:
    """Return a configuration in words: 'toy-c16, ddim, 8 steps, guidance 3'."""
    steps = f"{row['steps']} step" + ("s" if row["steps"] != 1 else "")
    return f"{row['model']}, {row['sampler']}, {steps}, guidance {row['guidance']:g}"


def _replicate_best(df: pl.DataFrame, cost: str, metric: str, values, counts) -> tuple[list[float], dict] | None:
    """Return (budgets, {model: (len(budgets), reps) best resampled score within each budget}), None without per-image values.

    Budgets are every configuration's cost. Each resample re-makes every choice the estimate
    made: the guidance per (model, sampler, steps), then each model's best configuration within
    each budget. Scores are signed so that higher is better; -inf where a model has nothing within a budget.
    """
    rows = df.filter(_finite(metric, cost))
    if any(_key(r) not in values for r in rows.iter_rows(named=True)):
        return None
    sign = 1 if _higher_is_better(metric) else -1
    grid = sorted(set(rows[cost].to_list()))
    out = {}
    for (model,), model_rows in rows.group_by(["model"]):
        chosen_scores, chosen_costs = [], []
        for _, group in model_rows.group_by(["sampler", "steps"]):
            scores = np.stack(
                [sign * (counts @ values[_key(r)]) / counts.shape[1] for r in group.iter_rows(named=True)]
            )
            pick = scores.argmax(0)
            chosen_scores.append(scores[pick, np.arange(scores.shape[1])])
            chosen_costs.append(group[cost].to_numpy()[pick])
        scores, costs = np.stack(chosen_scores), np.stack(chosen_costs)
        out[model] = np.stack([np.where(costs <= b * (1 + 1e-9), scores, -np.inf).max(0) for b in grid])
    return grid, out


def crossover_table(
    df: pl.DataFrame, best: pl.DataFrame, cost: str, metric: str, values, counts_by_task
) -> pl.DataFrame:
    """Return the budgets where the best model changes, each with its interval and whether it is resolved.

    Budgets are every configuration's own cost, so a crossover sits at the cost of the first
    configuration of the new model that wins. It is "resolved" only when the new model's best
    configuration within that budget beats the old model's by a margin whose interval excludes
    zero and, when the new model was already affordable one budget below, the old model's margin
    there excludes zero too; otherwise it is "not resolved" and is not a finding. The budget's
    interval is the percentile interval, over paired resamples of the images, of the budget of this
    crossover (see `_budget_interval`; infinite where it never happens in enough resamples).
    """
    rows = []
    for task in sorted(best["task"].unique()):
        tbest = best.filter(pl.col("task") == task)
        grid = sorted(set(tbest.filter(_finite(cost))[cost].to_list()))
        exact = best_per_budget(tbest, cost, metric, grid)
        if exact.is_empty():
            continue
        counts = counts_by_task.get(task)
        replicates = (
            None if counts is None else _replicate_best(df.filter(pl.col("task") == task), cost, metric, values, counts)
        )
        found = crossovers(exact).to_dicts()
        for k, cross in enumerate(found):
            i = grid.index(cross["budget"])
            evidence = _crossover_evidence(tbest, cross, grid[i - 1] if i else None, cost, metric, values, counts)
            rows.append({**cross, **_budget_interval(replicates, cross, _since(found[:k], cross)), **evidence})
    schema = {
        "task": pl.String,
        "budget": pl.Float64,
        "from_model": pl.String,
        "to_model": pl.String,
        "status": pl.String,
    }
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame(schema=schema)


def _since(earlier: list[dict], cross: dict) -> float:
    """Return the budget of the last earlier crossover between the same two models (either way), else 0.

    The pair can swap the lead more than once; this crossover's event starts there.
    """
    pair = {cross["from_model"], cross["to_model"]}
    return max((c["budget"] for c in earlier if {c["from_model"], c["to_model"]} == pair), default=0.0)


def _budget_interval(replicates, cross: dict, since: float) -> dict:
    """Return the percentile interval, over resamples, of the budget at which this crossover happens.

    In each resample that is the first budget from `since` on at which `to_model` beats
    `from_model` while both fit. Budgets where one of them fits nothing are no contest: counting
    them would date a smaller model's overtaking to before the larger one was affordable, another event.
    """
    if replicates is None:
        return {"budget_ci_low": None, "budget_ci_high": None}
    grid, best = replicates
    new, old = best[cross["to_model"]], best[cross["from_model"]]
    budgets = np.asarray(grid)
    overtakes = (new > old) & np.isfinite(new) & np.isfinite(old) & (budgets >= since * (1 - 1e-9))[:, None]
    first = np.where(overtakes.any(0), budgets[overtakes.argmax(0)], math.inf)
    tail = (1 - LEVEL) / 2
    low, high = (float(np.quantile(first, q, method="inverted_cdf")) for q in (tail, 1 - tail))
    return {"budget_ci_low": low, "budget_ci_high": high}


def _crossover_evidence(best, cross: dict, previous: float | None, cost, metric, values, counts) -> dict:
    """Return the margins just after and just before one crossover and whether they make it resolved."""

    def best_of(model, budget):
        rows = _ranked(_within(best.filter(pl.col("model") == model), cost, budget), metric, cost)
        return None if rows.is_empty() else rows.row(0, named=True)

    old, new, budget = cross["from_model"], cross["to_model"], cross["budget"]
    after = compare(best_of(new, budget), best_of(old, budget), metric, values, counts)
    resolved = after["separable"]
    before = {"margin": None, "margin_ci_low": None, "margin_ci_high": None}
    if previous is not None and best_of(new, previous) is not None:
        before = compare(best_of(old, previous), best_of(new, previous), metric, values, counts)
        resolved = resolved and before["separable"]
    return {
        "status": RESOLVED if resolved else NOT_RESOLVED,
        "from_config": describe(best_of(old, budget)), "to_config": describe(best_of(new, budget)),
        **{f"{k.replace('margin', 'margin_after')}": v for k, v in after.items() if k.startswith("margin")},
        **{f"{k.replace('margin', 'margin_before')}": v for k, v in before.items() if k.startswith("margin")},
        "interval": after["interval"],
    }  # fmt: skip


# --- tables ----------------------------------------------------------------------------------------------------------

TABLES = ("best_guidance", "pareto", "best_per_budget", "best_per_cost", "crossovers")
MARGIN_COLUMNS = ["runner_up_model", "runner_up", "margin", "margin_ci_low", "margin_ci_high", "separable", "interval"]
KEEP = ["task", "metric", "cost_axis", "budget", "model", "sampler", "steps", "guidance", "guidance_tried", "cost", "value",
        "ci_low", "ci_high", *MARGIN_COLUMNS, "unet_params", *COST_AXES, "latency_device", "train_flops", "num_images"]  # fmt: skip


def tidy(table: pl.DataFrame, metric: str, cost: str | None = None) -> pl.DataFrame:
    """Return `table` with generic column names (value, ci_low, ci_high, cost), the metric and cost axis in columns."""
    names = {metric: "value", f"{metric}_ci_low": "ci_low", f"{metric}_ci_high": "ci_high"}
    table = table.drop("metric", "cost_axis", strict=False).rename(
        {k: v for k, v in names.items() if k in table.columns}
    )
    table = table.with_columns(metric=pl.lit(metric))
    if cost is not None:
        table = table.with_columns(pl.col(cost).alias("cost"), cost_axis=pl.lit(cost))
    return table.select([c for c in KEEP if c in table.columns])


ALL_SAMPLERS = "all"


def _sampler_scopes(best: pl.DataFrame) -> list[str]:
    """Return where crossovers are looked for: over all samplers, then within each one (when there are several)."""
    samplers = sorted(best["sampler"].unique().to_list())
    return [ALL_SAMPLERS, *samplers] if len(samplers) > 1 else [ALL_SAMPLERS]


def _pooled(crosses: pl.DataFrame) -> pl.DataFrame:
    """Return the crossovers found over all samplers (the frontier's own)."""
    return crosses.filter(pl.col("samplers") == ALL_SAMPLERS) if "samplers" in crosses.columns else crosses


def analyse(
    df: pl.DataFrame, per_image: pl.DataFrame, metric: str, edges: dict, buckets: int, reps: int
) -> dict[str, pl.DataFrame]:
    """Return the frontier tables of one metric over every cost axis, tidy (see `tidy`), keyed by TABLES.

    `edges` maps a cost axis to the user's budgets; other axes get `buckets` log-spaced budgets.
    """
    best = best_guidance(df, metric)
    values = per_image_values(per_image, metric)
    counts = {}
    for task in best["task"].unique().to_list():
        lengths = {len(v) for key, v in values.items() if key[0] == task}
        if len(lengths) == 1:  # every configuration scored on the same images: paired resamples
            counts[task] = resample_counts(lengths.pop(), reps)
    out = {name: [] for name in TABLES}
    out["best_guidance"].append(tidy(best, metric))
    for cost in (c for c in COST_AXES if c in best.columns):
        out["pareto"].append(tidy(pareto(best, cost, metric), metric, cost))
        exact = sorted(set(best.filter(_finite(cost))[cost].to_list()))
        for name, grid in (
            ("best_per_budget", edges.get(cost) or budget_edges(best[cost], buckets)),
            ("best_per_cost", exact),
        ):
            table = best_per_budget(best, cost, metric, grid)
            if not table.is_empty():
                out[name].append(tidy(with_margins(table, best, cost, metric, values, counts), metric, cost))
        for sampler in _sampler_scopes(best):
            pick = pl.lit(True) if sampler == ALL_SAMPLERS else pl.col("sampler") == sampler
            crosses = crossover_table(df.filter(pick), best.filter(pick), cost, metric, values, counts)
            out["crossovers"].append(
                crosses.with_columns(metric=pl.lit(metric), cost_axis=pl.lit(cost), samplers=pl.lit(sampler))
            )
    return {
        name: pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame() for name, frames in out.items()
    }


# --- charts ----------------------------------------------------------------------------------------------------------

PANEL = {"width": 320, "height": 240}
WINNERS_HEIGHT = 320


def _y(metric: str, prefix: str = ""):
    """Return the quality axis, reversed for lower-is-better metrics so that up is always better."""
    import altair as alt

    higher = _higher_is_better(metric)
    direction = "higher is better" if higher else "lower is better, drawn upwards"
    title = f"{prefix}{metric} ({direction}; bars: 95% interval)"
    return alt.Y("value:Q", title=title, scale=alt.Scale(zero=False, reverse=not higher))


AXIS_TITLES = {"normalised_cost": "normalised cost (UNet FLOPs ÷ reference's, × steps)", "gflops_per_image": "GFLOPs per image",
               "latency_ms_per_image": "ms per image"}  # fmt: skip


def _cost_title(cost: str) -> str:
    return f"{AXIS_TITLES[cost]}, log scale"


def _device(cost: str, table: pl.DataFrame) -> str:
    """Return ', latency on <device>' for the latency axis (for a chart's title), else ''."""
    if cost != "latency_ms_per_image" or "latency_device" not in table.columns:
        return ""
    return f"; latency on {', '.join(sorted(table['latency_device'].drop_nulls().unique()))}"


def _models_by_size(table: pl.DataFrame) -> list[str]:
    return table.group_by("model").agg(pl.col("unet_params").first()).sort(["unet_params", "model"])["model"].to_list()


def _tooltip(cost: str | None = None) -> list:
    import altair as alt

    extra = [alt.Tooltip(f"{cost}:Q", format=".4g")] if cost else []
    return ["model", "sampler", "steps", "guidance", alt.Tooltip("value:Q", format=".4f"),
            alt.Tooltip("ci_low:Q", format=".4f"), alt.Tooltip("ci_high:Q", format=".4f"), *extra]  # fmt: skip


def _per_model(table: pl.DataFrame, x, metric: str, cost: str | None):
    """Return layers (interval bars, one line per model) of `value` against `x`."""
    import altair as alt

    y = _y(metric)
    colour = alt.Color("model:N", sort=_models_by_size(table), title="model (by size)")
    base = alt.Chart(table)
    bars = base.mark_errorbar().encode(x=x, y=alt.Y("ci_low:Q", title=""), y2="ci_high:Q", color=colour)
    lines = base.mark_line(point=True).encode(x=x, y=y, color=colour, detail="model:N", tooltip=_tooltip(cost))
    return bars, lines, y


def _facet(layers, table: pl.DataFrame, title: str):
    import altair as alt

    facet = {"column": alt.Column("sampler:N", title="sampler")}
    if table["task"].n_unique() > 1:
        facet["row"] = alt.Row("task:N", title="task")
    return alt.layer(*layers, data=table).properties(**PANEL).facet(**facet).properties(title=title)


def chart(df: pl.DataFrame, cost: str, metric: str):
    """Return an altair chart of `metric` against `cost` from a summary table (see `cost_chart`)."""
    best = best_guidance(df, metric)
    return cost_chart(tidy(best, metric), tidy(pareto(best, cost, metric), metric, cost), cost, metric)


def cost_chart(guidance: pl.DataFrame, front: pl.DataFrame, cost: str, metric: str):
    """Return quality against sampling cost: one line per model, a panel per sampler, the Pareto front ringed."""
    import altair as alt

    data = (
        guidance.filter(pl.col("metric") == metric)
        .join(
            front.filter((pl.col("metric") == metric) & (pl.col("cost_axis") == cost))
            .select(["task", "model", "sampler", "steps"])
            .with_columns(on_front=pl.lit(True)),
            on=["task", "model", "sampler", "steps"],
            how="left",
        )
        .with_columns(pl.col("on_front").fill_null(False))
    )
    x = alt.X(f"{cost}:Q", scale=alt.Scale(type="log"), title=_cost_title(cost))
    bars, lines, y = _per_model(data, x, metric, cost)
    ring = (
        alt.Chart()
        .transform_filter("datum.on_front")
        .mark_point(size=160, shape="circle", filled=False, color="black", strokeWidth=1.5)
        .encode(x=x, y=y, tooltip=_tooltip(cost))
    )
    title = f"{metric} vs sampling cost (best guidance per model and steps; ringed: Pareto front over all samplers{_device(cost, data)})"
    return _facet([bars, lines, ring], data, title)


def steps_chart(guidance: pl.DataFrame, metric: str):
    """Return quality against the number of sampling steps: one line per model, a panel per sampler."""
    import altair as alt

    data = guidance.filter(pl.col("metric") == metric)
    x = alt.X("steps:Q", scale=alt.Scale(type="log", base=2), title="sampling steps, log scale")
    bars, lines, _ = _per_model(data, x, metric, None)
    return _facet([bars, lines], data, f"{metric} vs sampling steps (best guidance per model and steps)")


def winners_chart(per_cost: pl.DataFrame, crosses: pl.DataFrame, cost: str, metric: str):
    """Return the frontier: the best score within each budget, coloured by the winning model, crossovers marked."""
    import altair as alt

    data = per_cost.filter((pl.col("metric") == metric) & (pl.col("cost_axis") == cost))
    if not crosses.is_empty():
        crosses = _pooled(crosses).filter((pl.col("metric") == metric) & (pl.col("cost_axis") == cost))
    x = alt.X("budget:Q", scale=alt.Scale(type="log"), title=f"budget: {_cost_title(cost)}")
    y = _y(metric, "best ")
    colour = alt.Color("model:N", sort=_models_by_size(data), title="winning model")
    charts = []
    for task in sorted(data["task"].unique()):
        rows = data.filter(pl.col("task") == task)
        base = alt.Chart(rows)
        layers = [
            base.mark_line(interpolate="step-after", color="lightgray").encode(x=x, y=y),
            base.mark_errorbar().encode(x=x, y=alt.Y("ci_low:Q", title=""), y2="ci_high:Q", color=colour),
            base.mark_point(filled=True, size=70).encode(
                x=x, y=y, color=colour, tooltip=[*_tooltip(), "runner_up", alt.Tooltip("margin:Q", format=".4f")]
            ),
        ]
        task_crosses = crosses.filter(pl.col("task") == task) if not crosses.is_empty() else crosses
        if not task_crosses.is_empty():
            marks = task_crosses.sort("budget").with_columns(
                label=pl.col("from_model") + " → " + pl.col("to_model") + " (" + pl.col("status") + ")",
                label_y=WINNERS_HEIGHT
                - 12
                - 14 * pl.int_range(pl.len()),  # pixels: one line each, bottom right (up is better)
            )
            dash = alt.StrokeDash(
                "status:N", title="crossover", scale=alt.Scale(domain=[RESOLVED, NOT_RESOLVED], range=[[1, 0], [5, 4]])
            )
            rule = (
                alt.Chart(marks)
                .mark_rule(color="black")
                .encode(x="budget:Q", strokeDash=dash, tooltip=["label", "budget", "budget_ci_low", "budget_ci_high"])
            )
            text = (
                alt.Chart(marks)
                .mark_text(align="left", dx=4, baseline="top", fontSize=11)
                .encode(x="budget:Q", y=alt.Y("label_y:Q", scale=None), text="label")
            )
            layers += [rule, text]
        charts.append(alt.layer(*layers).properties(width=560, height=WINNERS_HEIGHT, title=f"task {task}"))
    title = f"Best {metric} within each {cost} budget (winning model coloured; dashed: crossover not resolved{_device(cost, data)})"
    return alt.vconcat(*charts).properties(title=title)


def train_chart(guidance: pl.DataFrame, metric: str):
    """Return quality against training compute: one point per model, its best configuration at the largest steps."""
    import altair as alt

    data = guidance.filter((pl.col("metric") == metric) & pl.col("train_flops").is_not_null())
    if data.is_empty():
        raise ValueError("no model has train_flops in the summary; the training-compute chart needs it")
    largest = data.group_by("task").agg(pl.col("steps").max().alias("largest"))
    data = _ranked(
        data.join(largest, on="task").filter(pl.col("steps") == pl.col("largest")).rename({"value": metric}), metric
    )
    data = data.group_by(["task", "model"], maintain_order=True).first().rename({metric: "value"})
    x = alt.X(
        "train_flops:Q",
        scale=alt.Scale(type="log"),
        axis=alt.Axis(format="~s"),
        title="training compute (FLOPs, counted; T = 10¹²), log scale",
    )
    y = _y(metric)
    colour = alt.Color("model:N", sort=_models_by_size(data), title="model (by size)")
    base = alt.Chart(data)
    layers = alt.layer(
        base.mark_errorbar().encode(x=x, y=alt.Y("ci_low:Q", title=""), y2="ci_high:Q", color=colour),
        base.mark_point(filled=True, size=80).encode(
            x=x, y=y, color=colour, tooltip=[*_tooltip(), alt.Tooltip("train_flops:Q", format=".3g")]
        ),
        base.mark_text(dx=8, align="left").encode(x=x, y=y, text="model:N"),
    )
    steps = ", ".join(str(s) for s in sorted(data["steps"].unique()))
    return (
        layers.properties(**PANEL)
        .facet(column=alt.Column("task:N", title="task"))
        .properties(title=f"{metric} vs training compute (each model's best sampler and guidance at {steps} steps)")
    )


def save(figure, paths) -> None:
    """Write `figure` to each path by its extension: HTML with the Vega libraries inlined, PNG and SVG through vl-convert."""
    from pathlib import Path

    from . import io

    for path in map(Path, paths):
        with io.atomic_path(path) as tmp:
            options = {".html": {"inline": True}, ".png": {"scale_factor": 2}}.get(path.suffix, {})
            figure.save(str(tmp), format=path.suffix[1:], **options)


# --- the plain-words summary -----------------------------------------------------------------------------------------


def _number(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return "∞" if x == math.inf else f"{x:.3g}"


def _interval(low, high) -> str:
    return "" if low is None else f" [{_number(low)}, {_number(high)}]"


def summary_markdown(tables: dict[str, pl.DataFrame], reps: int) -> str:
    """Return results/frontier/README.md: per metric and cost axis, who wins at each budget, by how much, how sure."""
    lines = [
        "# What the frontier says",
        "",
        "Written by the `frontier` rule from `results/summary.parquet`. Each budget is a cap on the sampling cost of one",
        "image; the winner is the best configuration (model, sampler, steps, guidance) that fits, with guidance chosen per",
        "model and steps as in the paper. 'ahead of' compares it with the best configuration of any *other* model that fits.",
        f"Intervals are 95%: a paired bootstrap over images ({reps} resamples; image i has the same prompt and seed in",
        "every configuration) where the metric has per-image values, otherwise the scores' own intervals. A margin whose",
        "interval includes zero is **not separable**, and a change of winner that rests on one is **not resolved**: it is",
        "reported, never claimed.",
    ]
    budgets, crosses = tables["best_per_budget"], tables["crossovers"]
    if budgets.is_empty():
        return "\n".join(lines + ["", "No configuration has a finite score: nothing to report.", ""])
    for (task, metric, cost), rows in budgets.group_by(["task", "metric", "cost_axis"], maintain_order=True):
        direction = "higher is better" if _higher_is_better(metric) else "lower is better"
        lines += ["", f"## {metric} ({direction}) by {cost}, task {task}", "", f"Cost: {COST_AXES[cost]}.", ""]
        for run in _runs(rows.sort("budget").to_dicts()):
            lines.append(_budget_sentence(run, metric))
        lines += ["", *_crossover_sentences(crosses, task, metric, cost)]
    return "\n".join(lines) + "\n"


def _runs(rows: list[dict]) -> list[dict]:
    """Return consecutive budgets with the same winner and runner-up merged into one row with `budget_from`."""
    runs: list[dict] = []
    for r in rows:
        if runs and (describe(runs[-1]), runs[-1].get("runner_up")) == (describe(r), r.get("runner_up")):
            runs[-1] = {**r, "budget_from": runs[-1]["budget_from"]}
        else:
            runs.append({**r, "budget_from": r["budget"]})
    return runs


def _budget_sentence(r: dict, metric: str) -> str:
    budgets = (
        f"Budget ≤ {_number(r['budget'])}"
        if r["budget_from"] == r["budget"]
        else f"Budgets {_number(r['budget_from'])} to {_number(r['budget'])}"
    )
    head = f"- {budgets}: **{describe(r)}** (cost {_number(r['cost'])}), {metric} {_number(r['value'])}{_interval(r['ci_low'], r['ci_high'])}"
    if r.get("runner_up_model") is None:
        return head + "; the only model that fits."
    verdict = "separable" if r["separable"] else "**not separable**"
    return (
        head
        + f"; ahead of {r['runner_up']} by {_number(r['margin'])}{_interval(r['margin_ci_low'], r['margin_ci_high'])}: {verdict}."
    )


def _crossover_sentences(crosses: pl.DataFrame, task: str, metric: str, cost: str) -> list[str]:
    if crosses.is_empty():
        return ["The best model never changes with the budget."]
    rows = crosses.filter((pl.col("task") == task) & (pl.col("metric") == metric) & (pl.col("cost_axis") == cost))
    pooled = [_crossover_sentence(c) for c in _pooled(rows).iter_rows(named=True)]
    out = (
        ["Where the best model changes (budgets at every configuration's own cost):", *pooled]
        if pooled
        else ["The best model never changes with the budget."]
    )
    for sampler in sorted(set(rows["samplers"].to_list()) - {ALL_SAMPLERS}) if "samplers" in rows.columns else []:
        out += [
            "",
            f"Within sampler {sampler} alone:",
            *map(_crossover_sentence, rows.filter(pl.col("samplers") == sampler).iter_rows(named=True)),
        ]
    return out


def _crossover_sentence(c: dict) -> str:
    """Return one crossover in words, with its intervals and whether it is resolved."""
    where = f"at {_number(c['budget'])}{_interval(c['budget_ci_low'], c['budget_ci_high'])}"
    change = f"{c['from_model']} → {c['to_model']} ({c['to_config']} beats {c['from_config']} by {_number(c['margin_after'])}{_interval(c['margin_after_ci_low'], c['margin_after_ci_high'])})"
    if c["status"] == RESOLVED:
        return f"- {where}: {change}. Resolved."
    return f"- {where}: {change}. **Not resolved**: the two models' scores are not separable here; not a finding."


def write_all(
    summary_path: str, per_image_path: str, outputs, metric_names: list[str], edges: dict, buckets: int, reps: int
) -> None:
    """Write the frontier tables (CSV and parquet) and README.md for every metric of the summary."""
    from pathlib import Path

    from . import io

    df, per_image = pl.read_parquet(summary_path), pl.read_parquet(per_image_path)
    results = [analyse(df, per_image, metric, edges, buckets, reps) for metric in metric_names if metric in df.columns]
    tables = {
        name: pl.concat(
            [r[name] for r in results if not r[name].is_empty()] or [pl.DataFrame()], how="diagonal_relaxed"
        )
        for name in TABLES
    }
    for path in map(Path, [*outputs.tables, *outputs.parquet]):
        with io.atomic_path(path) as tmp:
            if path.suffix == ".parquet":
                tables[path.stem].write_parquet(tmp)
            else:
                tables[path.stem].write_csv(tmp)
    with io.atomic_path(outputs.readme) as tmp:
        Path(tmp).write_text(summary_markdown(tables, reps))


CHARTS = {
    "cost": lambda t, metric, cost: cost_chart(t["best_guidance"], t["pareto"], cost, metric),
    "winners": lambda t, metric, cost: winners_chart(t["best_per_cost"], t["crossovers"], cost, metric),
    "steps": lambda t, metric, cost: steps_chart(t["best_guidance"], metric),
    "train": lambda t, metric, cost: train_chart(t["best_guidance"], metric),
}


def write_chart(kind: str, table_paths: dict[str, str], metric: str, cost: str | None, paths) -> None:
    """Draw chart `kind` (see CHARTS) of `metric` (and `cost`) from the frontier tables and write it to `paths`."""
    if kind not in CHARTS:
        raise ValueError(f"unknown chart {kind!r}; valid charts: {', '.join(CHARTS)}")
    # A column that is all null (no runner-up when one model is swept) has no type altair can infer: make it text.
    tables = {
        name: pl.read_parquet(path).with_columns(pl.col(pl.Null).cast(pl.String)) for name, path in table_paths.items()
    }
    save(CHARTS[kind](tables, metric, cost), paths)
