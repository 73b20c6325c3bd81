"""The parts of the frontier's charts: axes, encodings and layers shared by the figures (`charts`), and the
reference lines of super-resolution baselines. altair is imported where a layer is made."""

from __future__ import annotations

import polars as pl

from .baselines import is_baseline
from .ranking import _higher_is_better

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


def _with_kind(table: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
    """Return the table with a `kind` column (distilled or not) and the shape encoding that marks distilled models
    with their own marker; no encoding where no model is distilled."""
    import altair as alt

    if "distilled_from" not in table.columns or table["distilled_from"].is_null().all():
        return table, {}
    kind = pl.when(pl.col("distilled_from").is_null()).then(pl.lit("undistilled")).otherwise(pl.lit("distilled"))
    shape = alt.Shape(
        "kind:N", title="kind", scale=alt.Scale(domain=["undistilled", "distilled"], range=["circle", "triangle-up"])
    )
    return table.with_columns(kind=kind), {"shape": shape}


def _per_model(table: pl.DataFrame, x, metric: str, cost: str | None, where: str | None = None):
    """Return layers (interval bars, one line per model, distilled models with their own marker) of `value` against
    `x`, of the rows `where` (a Vega expression) holds."""
    import altair as alt

    y = _y(metric)
    table, shape = _with_kind(table)
    colour = alt.Color("model:N", sort=_models_by_size(table), title="model (by size)")
    base = alt.Chart(table) if where is None else alt.Chart(table).transform_filter(where)
    bars = base.mark_errorbar().encode(x=x, y=alt.Y("ci_low:Q", title=""), y2="ci_high:Q", color=colour)
    if not shape:
        lines = base.mark_line(point=True).encode(x=x, y=y, color=colour, detail="model:N", tooltip=_tooltip(cost))
        return bars, lines, y
    lines = base.mark_line().encode(x=x, y=y, color=colour, detail="model:N") + base.mark_point(
        filled=True, size=60
    ).encode(x=x, y=y, color=colour, tooltip=_tooltip(cost), **shape)
    return bars, lines, y


def _facet(layers, table: pl.DataFrame, title: str):
    import altair as alt

    facet = {"column": alt.Column("sampler:N", title="sampler")}
    if table["task"].n_unique() > 1:
        facet["row"] = alt.Row("task:N", title="task")
    return alt.layer(*layers, data=table).properties(**PANEL).facet(**facet).properties(title=title)


def _predicted(predicted: pl.DataFrame | None, metric: str, cost: str | None = None) -> pl.DataFrame:
    """Return the scaling law's predicted configurations of `metric` as chart rows (`value`, and the prediction
    interval as `ci_low`, `ci_high`), marked `predicted`; empty where there are none (or none on `cost`)."""
    rows = pl.DataFrame() if predicted is None or "metric" not in predicted.columns else predicted
    rows = rows.filter(pl.col("metric") == metric) if "metric" in rows.columns else rows
    if rows.is_empty() or (cost is not None and (cost not in rows.columns or rows[cost].is_null().all())):
        return pl.DataFrame()
    # numbers, even where a CSV column was all empty (read as text)
    numbers = [c for c in (*AXIS_TITLES, "predicted", "pi_low", "pi_high", "unet_gflops") if c in rows.columns]
    named = {"predicted": "value", "pi_low": "ci_low", "pi_high": "ci_high"}
    return rows.with_columns(pl.col(numbers).cast(pl.Float64)).rename(named).with_columns(predicted=pl.lit(True))


def _hollow(x, y, colour, cost: str | None = None):
    """Return the layer of predicted configurations: hollow circles, with their 95% prediction intervals."""
    import altair as alt

    base = alt.Chart().transform_filter("datum.predicted")
    return base.mark_errorbar(opacity=0.5).encode(
        x=x, y=alt.Y("ci_low:Q", title=""), y2="ci_high:Q", color=colour
    ) + base.mark_point(filled=False, size=70, strokeWidth=1.5).encode(x=x, y=y, color=colour, tooltip=_tooltip(cost))


def _references(table: pl.DataFrame) -> pl.DataFrame:
    """Return `table` with each baseline's rows (paths.BASELINE: zero cost and steps, off a log axis) repeated in every
    sampler's panel and flagged `reference`, to be drawn as a horizontal line (`_reference_lines`), not as a point."""
    if "sampler" not in table.columns:
        return table.with_columns(reference=pl.lit(False))
    baseline = is_baseline()
    rest = table.filter(~baseline).with_columns(reference=pl.lit(False))
    panels = sorted(rest["sampler"].unique().to_list())
    copies = [table.filter(baseline).with_columns(sampler=pl.lit(s), reference=pl.lit(True)) for s in panels]
    return pl.concat([rest, *copies], how="diagonal_relaxed")


def _reference_lines(y) -> list:
    """Return the layers of the baselines: a dashed horizontal line at each one's score, named at the panel's left."""
    import altair as alt

    base = alt.Chart().transform_filter("datum.reference")
    line = base.mark_rule(strokeDash=[6, 3], color="gray").encode(
        y=y, tooltip=["model", alt.Tooltip("value:Q", format=".4f")]
    )
    return [
        line,
        base.mark_text(align="left", baseline="bottom", dx=3, dy=-2, color="gray").encode(y=y, text="model:N"),
    ]
