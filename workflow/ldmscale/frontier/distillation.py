"""Distilled models against their teachers and against every undistilled model (the study's §3.6 comparison).

A model whose config entry names `distilled_from` is a student of that teacher. Per student configuration (its
best guidance at each sampler and step count), on each cost axis, the table gives:

- the teacher at the same step count (its best sampler and guidance there) and the student's margin over it;
- the cost at which the teacher catches up: its cheapest configuration at least as good as the student's, and the
  acceleration factor, that cost over the student's (null where the teacher never gets there within the sweep);
- the paper's comparison: the best undistilled configuration of any size within the student's cost, and its margin
  over the student.

Margins carry the frontier's paired-bootstrap 95% intervals (`uncertainty.compare`).
"""

from __future__ import annotations

import polars as pl

from ..paths import COST_AXES
from .ranking import _finite, _higher_is_better, _ranked, _within, describe
from .uncertainty import compare

COLUMNS = {
    "task": pl.String, "metric": pl.String, "cost_axis": pl.String, "model": pl.String, "distilled_from": pl.String,
    "sampler": pl.String, "steps": pl.Int64, "guidance": pl.Float64, "cost": pl.Float64, "value": pl.Float64,
    "teacher_same_steps": pl.String, "teacher_value": pl.Float64, "margin_over_teacher": pl.Float64,
    "margin_over_teacher_ci_low": pl.Float64, "margin_over_teacher_ci_high": pl.Float64,
    "teacher_catch_up": pl.String, "teacher_catch_up_cost": pl.Float64, "acceleration": pl.Float64,
    "best_undistilled": pl.String, "best_undistilled_model": pl.String, "best_undistilled_value": pl.Float64,
    "undistilled_margin": pl.Float64, "undistilled_margin_ci_low": pl.Float64,
    "undistilled_margin_ci_high": pl.Float64, "undistilled_separable": pl.Boolean,
}  # fmt: skip


def _at_least_as_good(df: pl.DataFrame, metric: str, value: float) -> pl.DataFrame:
    return df.filter(pl.col(metric) >= value if _higher_is_better(metric) else pl.col(metric) <= value)


def _teacher_columns(row: dict, teacher: pl.DataFrame, cost: str, metric: str, values, counts) -> dict:
    same = _ranked(teacher.filter(pl.col("steps") == row["steps"]), metric, cost)
    out = {"teacher_same_steps": None, "teacher_value": None, "margin_over_teacher": None,
           "margin_over_teacher_ci_low": None, "margin_over_teacher_ci_high": None}  # fmt: skip
    if not same.is_empty():
        t = same.row(0, named=True)
        margin = compare(row, t, metric, values, counts)
        out |= {"teacher_same_steps": describe(t), "teacher_value": t[metric], "margin_over_teacher": margin["margin"],
                "margin_over_teacher_ci_low": margin["margin_ci_low"],
                "margin_over_teacher_ci_high": margin["margin_ci_high"]}  # fmt: skip
    catch = _at_least_as_good(teacher, metric, row[metric]).sort(cost)  # `teacher`: finite rows only
    if catch.is_empty():
        return out | {"teacher_catch_up": None, "teacher_catch_up_cost": None, "acceleration": None}
    first = catch.row(0, named=True)
    ratio = first[cost] / row[cost] if row[cost] > 0 else None
    return out | {"teacher_catch_up": describe(first), "teacher_catch_up_cost": first[cost], "acceleration": ratio}


def _undistilled_columns(row: dict, undistilled: pl.DataFrame, cost: str, metric: str, values, counts) -> dict:
    within = _ranked(_within(undistilled, cost, row[cost]), metric, cost)
    if within.is_empty():
        return {"best_undistilled": None, "best_undistilled_model": None, "best_undistilled_value": None,
                "undistilled_margin": None, "undistilled_margin_ci_low": None, "undistilled_margin_ci_high": None,
                "undistilled_separable": None}  # fmt: skip
    u = within.row(0, named=True)
    margin = compare(u, row, metric, values, counts)
    return {"best_undistilled": describe(u), "best_undistilled_model": u["model"], "best_undistilled_value": u[metric],
            "undistilled_margin": margin["margin"], "undistilled_margin_ci_low": margin["margin_ci_low"],
            "undistilled_margin_ci_high": margin["margin_ci_high"],
            "undistilled_separable": margin["separable"]}  # fmt: skip


def distillation(best: pl.DataFrame, metric: str, values: dict, counts_by_task: dict) -> pl.DataFrame:
    """Return the distillation table of one metric from its best_guidance rows (empty without distilled models)."""
    if "distilled_from" not in best.columns or best["distilled_from"].is_null().all():
        return pl.DataFrame(schema=COLUMNS)
    rows = []
    for cost in (c for c in COST_AXES if c in best.columns):
        scored = best.filter(_finite(cost, metric))
        for row in (
            scored.filter(pl.col("distilled_from").is_not_null()).sort(["task", "model", cost]).iter_rows(named=True)
        ):
            task = scored.filter(pl.col("task") == row["task"])
            counts = counts_by_task.get(row["task"])
            teacher = task.filter(pl.col("model") == row["distilled_from"])
            undistilled = task.filter(pl.col("distilled_from").is_null())
            rows.append({
                "task": row["task"], "metric": metric, "cost_axis": cost, "model": row["model"],
                "distilled_from": row["distilled_from"], "sampler": row["sampler"], "steps": row["steps"],
                "guidance": row["guidance"], "cost": row[cost], "value": row[metric],
                **_teacher_columns(row, teacher, cost, metric, values, counts),
                **_undistilled_columns(row, undistilled, cost, metric, values, counts),
            })  # fmt: skip
    return pl.DataFrame(rows, schema=COLUMNS)
