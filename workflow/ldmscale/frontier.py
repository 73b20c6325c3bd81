"""The answer: best guidance per (model, sampler, steps), Pareto sets, best configuration per budget, charts."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from . import metrics

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
    return metrics.get(metric).higher_is_better


def _finite(*columns: str) -> pl.Expr:
    """Return an expression true where every column holds a finite number (null and NaN are never candidates)."""
    return pl.all_horizontal([pl.col(c).is_finite() for c in columns])


def _ranked(df: pl.DataFrame, metric: str, cost: str | None = None) -> pl.DataFrame:
    """Return the rows with a finite `metric` (and `cost`), best first.

    Ties go to the cheaper configuration, then the smaller model, then the fewer steps and the
    smaller guidance, so that every choice is deterministic.
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
    tried = ranked.group_by(keys).agg(
        pl.col("guidance").sort().cast(pl.String).str.join(", ").alias("guidance_tried")
    )
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
                rows.append({"task": task, "metric": metric, "cost_axis": cost, "budget": budget, **within.row(0, named=True)})
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
    return pl.DataFrame(rows, schema={"task": pl.String, "budget": pl.Float64, "from_model": pl.String, "to_model": pl.String})


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


def with_margins(table: pl.DataFrame, best: pl.DataFrame, cost: str, metric: str, values, counts) -> pl.DataFrame:
    """Return a best_per_budget table with, per budget, the best other model within it and the winner's margin over it."""
    rows = []
    for row in table.iter_rows(named=True):
        others = _ranked(_within(best.filter((pl.col("task") == row["task"]) & (pl.col("model") != row["model"])), cost, row["budget"]), metric, cost)
        extra = dict(NO_RUNNER_UP)
        if not others.is_empty():
            other = others.row(0, named=True)
            extra = {"runner_up_model": other["model"], "runner_up": describe(other), **compare(row, other, metric, values, counts)}
        rows.append({**row, **extra})
    return pl.DataFrame(rows, infer_schema_length=None) if rows else table


def describe(row: dict) -> str:
    """Return a configuration in words: 'toy-c16, ddim, 8 steps, guidance 3'."""
    return f"{row['model']}, {row['sampler']}, {row['steps']} steps, guidance {row['guidance']:g}"


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
            scores = np.stack([sign * (counts @ values[_key(r)]) / counts.shape[1] for r in group.iter_rows(named=True)])
            pick = scores.argmax(0)
            chosen_scores.append(scores[pick, np.arange(scores.shape[1])])
            chosen_costs.append(group[cost].to_numpy()[pick])
        scores, costs = np.stack(chosen_scores), np.stack(chosen_costs)
        out[model] = np.stack([np.where(costs <= b * (1 + 1e-9), scores, -np.inf).max(0) for b in grid])
    return grid, out


def crossover_table(df: pl.DataFrame, best: pl.DataFrame, cost: str, metric: str, values, counts_by_task) -> pl.DataFrame:
    """Return the budgets where the best model changes, each with its interval and whether it is resolved.

    Budgets are every configuration's own cost, so a crossover sits at the cost of the first
    configuration of the new model that wins. It is "resolved" only when the new model's best
    configuration within that budget beats the old model's by a margin whose interval excludes
    zero and, when the new model was already affordable one budget below, the old model's margin
    there excludes zero too; otherwise it is "not resolved" and is not a finding. The budget's
    interval is the percentile interval, over paired resamples of the images, of the first budget
    at which the new model beats the old one (infinite where it never does in enough resamples).
    """
    rows = []
    for task in sorted(best["task"].unique()):
        tbest = best.filter(pl.col("task") == task)
        grid = sorted(set(tbest.filter(_finite(cost))[cost].to_list()))
        exact = best_per_budget(tbest, cost, metric, grid)
        if exact.is_empty():
            continue
        counts = counts_by_task.get(task)
        replicates = None if counts is None else _replicate_best(df.filter(pl.col("task") == task), cost, metric, values, counts)
        for cross in crossovers(exact).iter_rows(named=True):
            i = grid.index(cross["budget"])
            evidence = _crossover_evidence(tbest, cross, grid[i - 1] if i else None, cost, metric, values, counts)
            rows.append({**cross, **_budget_interval(replicates, cross), **evidence})
    schema = {"task": pl.String, "budget": pl.Float64, "from_model": pl.String, "to_model": pl.String, "status": pl.String}
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame(schema=schema)


def _budget_interval(replicates, cross: dict) -> dict:
    """Return the percentile interval of the first budget at which `to_model` beats `from_model`, over resamples."""
    if replicates is None:
        return {"budget_ci_low": None, "budget_ci_high": None}
    grid, best = replicates
    overtakes = best[cross["to_model"]] > best[cross["from_model"]]
    first = np.where(overtakes.any(0), np.asarray(grid)[overtakes.argmax(0)], math.inf)
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


def chart(df: pl.DataFrame, cost: str, metric: str):
    """Return an altair chart of `metric` against `cost`: one line per model, a panel per sampler, Pareto ringed."""
    best = best_guidance(df, metric)
    return _chart(best, pareto(best, cost, metric), cost, metric)


def _chart(best: pl.DataFrame, front: pl.DataFrame, cost: str, metric: str):
    import altair as alt

    direction = "higher is better" if _higher_is_better(metric) else "lower is better"
    x = alt.X(f"{cost}:Q", scale=alt.Scale(type="log"), title=COST_AXES[cost])
    y = alt.Y(f"{metric}:Q", title=f"{metric} ({direction})", scale=alt.Scale(zero=False))
    colour = alt.Color("model:N", sort=_models_by_size(best), title="model")
    tooltip = ["model", "sampler", "steps", "guidance", alt.Tooltip(f"{metric}:Q", format=".4f"), alt.Tooltip(f"{cost}:Q", format=".4g")]
    data = best.join(
        front.select(["task", "model", "sampler", "steps"]).with_columns(pl.lit(True).alias("on_front")),
        on=["task", "model", "sampler", "steps"],
        how="left",
    )
    data = data.with_columns(pl.col("on_front").fill_null(False))
    base = alt.Chart(data)
    lines = base.mark_line(point=True).encode(x=x, y=y, color=colour, detail="model:N", tooltip=tooltip)
    bars = base.mark_errorbar().encode(x=x, y=alt.Y(f"{metric}_ci_low:Q", title=""), y2=f"{metric}_ci_high:Q", color=colour)
    ring = (
        base.transform_filter("datum.on_front")
        .mark_point(size=160, shape="circle", filled=False, color="black", strokeWidth=1.5)
        .encode(x=x, y=y, tooltip=tooltip)
    )
    facet = {"column": alt.Column("sampler:N", title="sampler")}
    if data["task"].n_unique() > 1:
        facet["row"] = alt.Row("task:N", title="task")
    return (
        alt.layer(bars, lines, ring)
        .properties(width=320, height=260)
        .facet(**facet)
        .properties(title=f"{metric} vs {cost} (best guidance per model and steps; ringed: Pareto front over all samplers)")
    )


def _models_by_size(df: pl.DataFrame) -> list[str]:
    return df.group_by("model").agg(pl.col("unet_params").first()).sort("unet_params")["model"].to_list()


def write_all(summary_path: str, outputs, buckets: int) -> None:
    """Write every chart named in `outputs.plots` and the best-per-budget, Pareto and crossover tables."""
    from pathlib import Path

    from . import io

    df = pl.read_parquet(summary_path)
    plots: dict[tuple[str, str], list[Path]] = {}
    for plot in outputs.plots:
        plots.setdefault(tuple(Path(plot).stem.split("__")), []).append(Path(plot))
    best_tables, fronts, crosses = [], [], []
    for (metric, cost), paths in plots.items():
        best = best_guidance(df, metric)
        front = pareto(best, cost, metric)
        table = best_per_budget(best, cost, metric, budget_edges(best[cost], buckets))
        best_tables.append(_tidy(table, metric, cost))
        fronts.append(_tidy(front, metric, cost))
        crosses.append(crossovers(table).with_columns(metric=pl.lit(metric), cost_axis=pl.lit(cost)))
        figure = _chart(best, front, cost, metric)
        for path in paths:
            with io.atomic_path(path) as tmp:
                # vl-convert renders PNG offline; inline=True embeds the Vega libraries so the HTML opens offline too.
                kwargs = {"inline": True} if path.suffix == ".html" else {"scale_factor": 2}
                figure.save(str(tmp), format=path.suffix[1:], **kwargs)
    for frames, out in ((best_tables, outputs.best), (fronts, outputs.pareto), (crosses, outputs.crossovers)):
        with io.atomic_path(out) as tmp:
            pl.concat(frames, how="diagonal_relaxed").write_csv(tmp)


def _tidy(table: pl.DataFrame, metric: str, cost: str) -> pl.DataFrame:
    """Return the columns a reader needs from a best-per-budget or Pareto table, with generic names."""
    names = {cost: "cost", metric: "value", f"{metric}_ci_low": "ci_low", f"{metric}_ci_high": "ci_high"}
    columns = ["task", "metric", "cost_axis", "budget", *CONFIG_KEYS[1:], *names.values()]
    table = table.rename(names).with_columns(metric=pl.lit(metric), cost_axis=pl.lit(cost))
    return table.select([c for c in columns if c in table.columns])
