"""The altair charts of the frontier tables (altair is imported where a chart is drawn), `write_charts`; their
shared axes and layers are in `layers`."""

from __future__ import annotations

import polars as pl

from .analysis import _pooled, best_guidance, pareto, tidy
from .baselines import is_baseline
from .layers import (
    PANEL,
    WINNERS_HEIGHT,
    _cost_title,
    _device,
    _facet,
    _hollow,
    _models_by_size,
    _per_model,
    _predicted,
    _reference_lines,
    _references,
    _tooltip,
    _with_kind,
    _y,
)
from .ranking import _ranked
from .uncertainty import NOT_RESOLVED, RESOLVED


def chart(df: pl.DataFrame, cost: str, metric: str):
    """Return an altair chart of `metric` against `cost` from a summary table (see `cost_chart`)."""
    return cost_chart(
        tidy(best_guidance(df, metric), metric), tidy(pareto(df, cost, metric), metric, cost), cost, metric
    )


def cost_chart(
    guidance: pl.DataFrame, front: pl.DataFrame, cost: str, metric: str, predicted: pl.DataFrame | None = None
):
    """Return quality against sampling cost: one line per model (its best guidance per steps), a panel per sampler,
    and the Pareto front over every configuration ringed where it lies: off the lines where a cheaper guidance wins;
    the sizes nobody trained, as the scaling law predicts them, hollow."""
    import altair as alt

    keys = ["task", "model", "sampler", "steps", "guidance"]
    lines = _references(guidance.filter(pl.col("metric") == metric)).with_columns(front_only=pl.lit(False))
    ring = front.filter((pl.col("metric") == metric) & (pl.col("cost_axis") == cost) & ~is_baseline()).with_columns(
        on_front=pl.lit(True)
    )
    data = pl.concat(
        [
            lines.join(ring.select(*keys, "on_front"), on=keys, how="left").with_columns(
                pl.col("on_front").fill_null(False)
            ),
            ring.join(lines.select(keys), on=keys, how="anti").with_columns(front_only=pl.lit(True)),
            _predicted(predicted, metric, cost),
        ],
        how="diagonal_relaxed",
    ).with_columns(pl.col("^(front_only|on_front|predicted|reference)$").fill_null(False))
    x = alt.X(f"{cost}:Q", scale=alt.Scale(type="log"), title=_cost_title(cost))
    bars, lines, y = _per_model(
        data, x, metric, cost, where="!datum.front_only && !datum.predicted && !datum.reference"
    )
    ring = (
        alt.Chart()
        .transform_filter("datum.on_front")
        .mark_point(size=160, shape="circle", filled=False, color="black", strokeWidth=1.5)
        .encode(x=x, y=y, tooltip=_tooltip(cost))
    )
    colour = alt.Color("model:N", sort=_models_by_size(data), title="model (by size)")
    off_line = (
        alt.Chart().transform_filter("datum.front_only").mark_point(filled=True, size=40).encode(x=x, y=y, color=colour)
    )
    drawn = "predicted" in data.columns and data["predicted"].any()
    hollow = "; hollow: predicted by the scaling law, never trained" if drawn else ""
    title = (
        f"{metric} vs sampling cost (lines: best guidance per model and steps; rings: Pareto front of every "
        f"configuration{hollow}{_device(cost, data)})"
    )
    layers = [bars, lines, off_line, ring] + ([_hollow(x, y, colour, cost)] if drawn else [])
    return _facet(layers + (_reference_lines(y) if data["reference"].any() else []), data, title)


def steps_chart(guidance: pl.DataFrame, metric: str):
    """Return quality against the number of sampling steps: one line per model, a panel per sampler."""
    import altair as alt

    data = _references(guidance.filter(pl.col("metric") == metric))
    x = alt.X("steps:Q", scale=alt.Scale(type="log", base=2), title="sampling steps, log scale")
    bars, lines, y = _per_model(data, x, metric, None, where="!datum.reference")
    references = _reference_lines(y) if data["reference"].any() else []
    return _facet([bars, lines, *references], data, f"{metric} vs sampling steps (best guidance per model and steps)")


def winners_chart(per_cost: pl.DataFrame, crosses: pl.DataFrame, cost: str, metric: str):
    """Return the frontier: the best score within each budget, coloured by the winning model, crossovers marked."""
    import altair as alt

    # a baseline's own cost, 0, is no budget on a log axis: it wins every budget below the first model's anyway
    data = per_cost.filter((pl.col("metric") == metric) & (pl.col("cost_axis") == cost) & (pl.col("budget") > 0))
    if not crosses.is_empty():
        crosses = _pooled(crosses).filter((pl.col("metric") == metric) & (pl.col("cost_axis") == cost))
    x = alt.X("budget:Q", scale=alt.Scale(type="log"), title=f"budget: {_cost_title(cost)}")
    y = _y(metric, "best ")
    colour = alt.Color("model:N", sort=_models_by_size(data), title="winning model")
    charts = []
    for task in sorted(data["task"].unique()):
        rows, shape = _with_kind(data.filter(pl.col("task") == task))
        base = alt.Chart(rows)
        layers = [
            base.mark_line(interpolate="step-after", color="lightgray").encode(x=x, y=y),
            base.mark_errorbar().encode(x=x, y=alt.Y("ci_low:Q", title=""), y2="ci_high:Q", color=colour),
            base.mark_point(filled=True, size=70).encode(
                x=x,
                y=y,
                color=colour,
                tooltip=[*_tooltip(), "runner_up", alt.Tooltip("margin:Q", format=".4f"), "resolved"],
                **shape,
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
    """Return quality against training compute: one point per model, its best configuration at its largest steps.

    A distilled model's training compute is its teacher's plus the distillation's; it is drawn with its own marker.
    """
    import altair as alt

    data = guidance.filter((pl.col("metric") == metric) & pl.col("train_flops").is_not_null())
    if data.is_empty():
        raise ValueError("no model has train_flops in the summary; the training-compute chart needs it")
    largest = data.group_by(["task", "model"]).agg(pl.col("steps").max().alias("largest"))
    data = _ranked(
        data.join(largest, on=["task", "model"]).filter(pl.col("steps") == pl.col("largest")).rename({"value": metric}),
        metric,
    )
    data, shape = _with_kind(data.group_by(["task", "model"], maintain_order=True).first().rename({metric: "value"}))
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
            x=x, y=y, color=colour, tooltip=[*_tooltip(), alt.Tooltip("train_flops:Q", format=".3g")], **shape
        ),
        base.mark_text(dx=8, align="left").encode(x=x, y=y, text="model:N"),
    )
    steps = "/".join(str(s) for s in sorted(data["steps"].unique()))
    title = f"{metric} vs training compute (each model's best sampler and guidance at its largest steps, {steps})"
    return layers.properties(**PANEL).facet(column=alt.Column("task:N", title="task")).properties(title=title)


def scaling_chart(guidance: pl.DataFrame, curves: pl.DataFrame, metric: str, predicted: pl.DataFrame | None = None):
    """Return quality against steps with the scaling law: measured points (best guidance, 95% intervals), the law's
    curve and band per model, each model's prediction from the law fitted without it (hollow diamonds), and the sizes
    nobody trained (dashed curves; hollow circles with their prediction intervals at the swept steps)."""
    import altair as alt

    data = guidance.filter((pl.col("metric") == metric) & ~is_baseline())  # sizes only
    if "distilled_from" in data.columns:
        data = data.filter(pl.col("distilled_from").is_null())
    law = curves.filter(pl.col("metric") == metric) if "metric" in curves.columns else pl.DataFrame()
    measured = data.with_columns(kind=pl.lit("measured"))
    data = (
        measured
        if law.is_empty()
        else pl.concat(
            [measured, law.rename({"predicted": "value"}), _predicted(predicted, metric).drop("kind", strict=False)],
            how="diagonal_relaxed",
        )
    ).with_columns(pl.col("^predicted$").fill_null(False))
    x = alt.X("steps:Q", scale=alt.Scale(type="log", base=2), title="sampling steps, log scale")
    y = _y(metric)
    colour = alt.Color("model:N", sort=_models_by_size(data.filter(pl.col("unet_params").is_not_null())),
                       title="model (by size)")  # fmt: skip
    base = alt.Chart()
    layers = [
        base.transform_filter("datum.kind == 'law'").mark_area(opacity=0.15)
        .encode(x=x, y=alt.Y("band_low:Q", title=""), y2="band_high:Q", color=colour),
        base.transform_filter("datum.kind == 'law'").mark_line().encode(x=x, y=y, color=colour),
        base.transform_filter("datum.kind == 'predicted'").mark_line(strokeDash=[4, 3]).encode(x=x, y=y, color=colour),
        base.transform_filter("datum.kind == 'measured'").mark_errorbar()
        .encode(x=x, y=alt.Y("ci_low:Q", title=""), y2="ci_high:Q", color=colour),
        base.transform_filter("datum.kind == 'measured'").mark_point(filled=True, size=40)
        .encode(x=x, y=y, color=colour, tooltip=_tooltip()),
        base.transform_filter("datum.kind == 'held out'").mark_point(shape="diamond", filled=False, size=70, strokeWidth=1.5)
        .encode(x=alt.X("steps:Q", scale=alt.Scale(type="log", base=2)), y=y, color=colour,
                tooltip=["model", "steps", alt.Tooltip("value:Q", format=".4f"), alt.Tooltip("band_low:Q", format=".4f"),
                         alt.Tooltip("band_high:Q", format=".4f")]),
    ]  # fmt: skip
    fitted = "" if law.is_empty() else f" and its {law['form'][0]} law"
    never = (
        "; dashed, hollow circles: sizes never trained"
        if "predicted" in data.columns and data["predicted"].any()
        else ""
    )
    title = (
        f"{metric} vs steps{fitted} (band: 95%; hollow diamonds: predicted with the model held out{never})"
        if fitted
        else f"{metric} vs steps (no scaling law fitted: the README beside this chart says why)"
    )
    return _facet(layers + ([_hollow(x, y, colour)] if never else []), data, title)


def optimal_size_chart(optimal: pl.DataFrame, per_cost: pl.DataFrame, metric: str):
    """Return the inference-optimal size x* against the budget of normalised cost, with its 95% band, and the measured
    winner's size at every budget beside it (best_per_cost), log-log, a panel per task and sampler's law."""
    import altair as alt

    law = optimal.filter(pl.col("metric") == metric) if "metric" in optimal.columns else pl.DataFrame()
    if "cost_axis" in law.columns:
        law = law.filter(pl.col("cost_axis") == "normalised_cost")
    won = per_cost.filter(
        (pl.col("metric") == metric) & (pl.col("cost_axis") == "normalised_cost") & (pl.col("budget") > 0)
    )
    if "unet_gflops" not in won.columns:  # a summary without FLOPs per call: no size to draw the winners at
        won = won.clear().with_columns(unet_gflops=pl.lit(None, pl.Float64))
    won = won.select("task", "budget", "model", "unet_gflops", "steps", "guidance", "value").with_columns(
        kind=pl.lit("measured winner"), x_star=pl.col("unet_gflops")
    )
    data = won if law.is_empty() else pl.concat([law.with_columns(kind=pl.lit("law")), won], how="diagonal_relaxed")
    x = alt.X("budget:Q", scale=alt.Scale(type="log"), title=f"budget: {_cost_title('normalised_cost')}")
    y = alt.Y("x_star:Q", scale=alt.Scale(type="log"), title="UNet GFLOPs per call, log scale")
    colour = alt.Color("model:N", sort=_models_by_size(per_cost), title="measured winner")
    base = alt.Chart()
    layers = [
        base.transform_filter("datum.kind == 'law'").mark_area(opacity=0.2, color="gray")
        .encode(x=x, y=alt.Y("x_star_ci_low:Q", title=""), y2="x_star_ci_high:Q"),
        base.transform_filter("datum.kind == 'law'").mark_line(color="black").encode(
            x=x, y=y, tooltip=["budget:Q", alt.Tooltip("x_star:Q", format=".4g"), alt.Tooltip("s_star:Q", format=".3g"),
                               "grid_model:N", "grid_steps:Q", "extrapolated:N"]),
        base.transform_filter("datum.kind == 'measured winner'").mark_point(filled=True, size=50)
        .encode(x=x, y=y, color=colour, tooltip=["model:N", "steps:Q", "guidance:Q", alt.Tooltip("value:Q", format=".4f")]),
    ]  # fmt: skip
    title = (
        f"The size the scaling law predicts best for {metric} at each budget (line, 95% band) and the measured winners"
        if not law.is_empty()
        else f"The measured winners' sizes for {metric} (no scaling law fitted: the README beside this chart says why)"
    )
    return alt.layer(*layers, data=data).properties(**PANEL).facet(column=alt.Column("task:N")).properties(title=title)


def save(figure, paths) -> None:
    """Write `figure` to each path by its extension: HTML with the Vega libraries inlined, PNG and SVG through vl-convert."""
    from pathlib import Path

    from .. import files

    for path in map(Path, paths):
        with files.atomic_path(path) as tmp:
            options = {".html": {"inline": True}, ".png": {"scale_factor": 2}}.get(path.suffix, {})
            figure.save(str(tmp), format=path.suffix[1:], **options)


CHARTS = {
    "cost": lambda t, metric, cost: cost_chart(t["best_guidance"], t["pareto"], cost, metric, t.get("predicted")),
    "winners": lambda t, metric, cost: winners_chart(t["best_per_cost"], t["crossovers"], cost, metric),
    "steps": lambda t, metric, cost: steps_chart(t["best_guidance"], metric),
    "train": lambda t, metric, cost: train_chart(t["best_guidance"], metric),
    "scaling": lambda t, metric, cost: scaling_chart(
        t["best_guidance"], t["scaling_curves"], metric, t.get("predicted")
    ),
    "optimal": lambda t, metric, cost: optimal_size_chart(t["scaling_optimal"], t["best_per_cost"], metric),
}


def _read(path) -> pl.DataFrame:
    """Return a table from parquet or CSV; an empty CSV (a table with no rows and no columns) as an empty frame."""
    if str(path).endswith(".parquet"):
        return pl.read_parquet(path)
    try:
        return pl.read_csv(path)
    except pl.exceptions.NoDataError:
        return pl.DataFrame()


def write_charts(table_paths: dict[str, str], metric: str, charts: dict[tuple[str, str | None], list]) -> None:
    """Draw each chart (kind, cost) → paths of `metric` from the frontier tables, read once, in one process (the
    first chart pays vl-convert's start-up, about 3 s here; each further one about 0.4 s)."""
    unknown = sorted({kind for kind, _ in charts} - CHARTS.keys())
    if unknown:
        raise ValueError(f"unknown chart {unknown[0]!r}; valid charts: {', '.join(CHARTS)}")
    # A column that is all null (no runner-up when one model is swept) has no type altair can infer: make it text.
    tables = {name: _read(path).with_columns(pl.col(pl.Null).cast(pl.String)) for name, path in table_paths.items()}
    for (kind, cost), paths in charts.items():
        save(CHARTS[kind](tables, metric, cost), paths)
