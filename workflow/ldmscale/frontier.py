"""The answer: best guidance per (model, sampler, steps), Pareto sets, best configuration per budget, charts."""

from __future__ import annotations

import math

import polars as pl

from . import metrics

CONFIG_KEYS = ["task", "model", "sampler", "steps", "guidance"]
COST_AXES = {
    "normalised_cost": "normalised sampling cost (UNet FLOPs / reference × steps)",
    "gflops_per_image": "GFLOPs per image (text encoder + UNet calls + VAE decode)",
    "latency_ms_per_image": "ms per image (profiled components)",
}


def _higher_is_better(metric: str) -> bool:
    return metrics.get(metric).higher_is_better


def best_guidance(df: pl.DataFrame, metric: str) -> pl.DataFrame:
    """Return one row per (task, model, sampler, steps): the guidance scale with the best `metric`.

    As in the paper, the guidance scale is a free choice per model and step count. Ties go to the
    smaller guidance; rows whose metric is null are never chosen.
    """
    descending = _higher_is_better(metric)
    return (
        df.filter(pl.col(metric).is_not_null() & pl.col(metric).is_not_nan())
        .sort([metric, "guidance"], descending=[descending, False])
        .group_by(["task", "model", "sampler", "steps"], maintain_order=True)
        .first()
        .sort(["task", "model", "sampler", "steps"])
    )


def pareto(df: pl.DataFrame, cost: str, metric: str) -> pl.DataFrame:
    """Return the rows no other row beats on both `cost` (lower) and `metric`, sorted by cost, per task.

    A row is kept only if it is strictly better than every cheaper-or-equal row; among equal
    costs only the best survives.
    """
    higher = _higher_is_better(metric)
    sign = 1 if higher else -1
    out = []
    for task in sorted(df["task"].unique()):
        rows = (
            df.filter((pl.col("task") == task) & pl.col(metric).is_not_null() & pl.col(metric).is_not_nan())
            .sort([cost, metric], descending=[False, higher])
        )
        best = -math.inf
        keep = []
        for i, value in enumerate(rows[metric]):
            if sign * value > best:
                best = sign * value
                keep.append(i)
        out.append(rows[keep])
    return pl.concat(out) if out else df.clear()


def budget_edges(costs: pl.Series, buckets: int = 8) -> list[float]:
    """Return `buckets` log-spaced budgets from the cheapest to the dearest configuration."""
    low, high = float(costs.min()), float(costs.max())
    if buckets < 2 or low == high:
        return [high]
    ratio = (high / low) ** (1 / (buckets - 1))
    return [low * ratio**k for k in range(buckets - 1)] + [high]


def best_per_budget(df: pl.DataFrame, cost: str, metric: str, edges: list[float]) -> pl.DataFrame:
    """Return, per task and budget, the best configuration whose cost is within the budget."""
    higher = _higher_is_better(metric)
    rows = []
    for task in sorted(df["task"].unique()):
        candidates = df.filter((pl.col("task") == task) & pl.col(metric).is_not_null() & pl.col(metric).is_not_nan())
        for budget in edges:
            within = candidates.filter(pl.col(cost) <= budget * (1 + 1e-9))
            if within.is_empty():
                continue
            best = within.sort([metric, cost], descending=[higher, False]).row(0, named=True)
            rows.append({"task": task, "metric": metric, "cost_axis": cost, "budget": budget, **best})
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
