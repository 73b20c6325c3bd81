"""Distilled models against their teachers and against every undistilled model (the study's §3.6 comparison).

A model whose config entry names `distilled_from` is a student of that teacher. Per student configuration (its
best guidance at each sampler and step count), on each cost axis, the table gives:

- the teacher at the same step count (its best sampler and guidance there) and the student's margin over it;
- the cost at which the teacher catches up: its cheapest configuration, any guidance, at least as good as the
  student's, and the acceleration factor, that cost over the student's (null where the teacher never gets there
  within the sweep). Scores tie when they are equal to `ranking.SIGNIFICANT` digits, so two configurations with the
  same count of attributes right tie however their per-image fractions were summed. Both carry a paired-bootstrap
  interval: each resample re-makes the choice (`uncertainty.event_interval`; ∞ where the teacher never catches up);
- the paper's comparison: the best undistilled configuration of any size, any guidance, within the student's cost,
  and its margin over the student.

Each margin is a difference of maxima over configurations (the teacher's at those steps, every undistilled one within
the student's cost) with the frontier's intervals (`family`): its per-comparison interval, and a verdict, `*_resolved`,
that its sign holds family-wise over every margin of the table's (task, metric, cost axis).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from ..paths import CONFIG_KEYS, COST_AXES
from .family import Claim, judge
from .ranking import _finite, _key, describe
from .uncertainty import Sweep, event_interval

COLUMNS = {
    "task": pl.String, "metric": pl.String, "cost_axis": pl.String, "model": pl.String, "distilled_from": pl.String,
    "sampler": pl.String, "steps": pl.Int64, "guidance": pl.Float64, "cost": pl.Float64, "value": pl.Float64,
    "teacher_same_steps": pl.String, "teacher_value": pl.Float64, "margin_over_teacher": pl.Float64,
    "margin_over_teacher_ci_low": pl.Float64, "margin_over_teacher_ci_high": pl.Float64,
    "margin_over_teacher_resolved": pl.Boolean,
    "teacher_catch_up": pl.String, "teacher_catch_up_cost": pl.Float64, "teacher_catch_up_cost_ci_low": pl.Float64,
    "teacher_catch_up_cost_ci_high": pl.Float64, "acceleration": pl.Float64, "acceleration_ci_low": pl.Float64,
    "acceleration_ci_high": pl.Float64, "best_undistilled": pl.String, "best_undistilled_model": pl.String,
    "best_undistilled_value": pl.Float64, "undistilled_margin": pl.Float64, "undistilled_margin_ci_low": pl.Float64,
    "undistilled_margin_ci_high": pl.Float64, "undistilled_separable": pl.Boolean, "undistilled_resolved": pl.Boolean,
}  # fmt: skip


def _oriented(sweep: Sweep, better: np.ndarray, worse: np.ndarray) -> tuple[Claim, int]:
    """Return the claim that the margin max(better) − max(worse) has the sign of its estimate, and that sign."""
    claim = Claim(better, worse)
    return (claim, 1) if claim.margin(sweep) >= 0 else (Claim(worse, better), -1)


def _verdict(verdict: dict, sign: int, prefix: str, separable: bool = False) -> dict:
    """Return a judged claim's margin, per-comparison interval and verdicts, in the margin's own direction."""
    low, high = verdict["margin_ci_low"], verdict["margin_ci_high"]
    if sign < 0 and low is not None:
        low, high = -high, -low
    out = {prefix: sign * verdict["margin"], f"{prefix}_ci_low": low, f"{prefix}_ci_high": high,
           f"{prefix.removesuffix('_margin')}_resolved": verdict["resolved"]}  # fmt: skip
    return out | ({f"{prefix.removesuffix('_margin')}_separable": verdict["separable"]} if separable else {})


def _catch_up(student: int, sweep: Sweep, teacher: str) -> dict:
    """Return the teacher's cheapest configuration at least as good as candidate `student`, its cost and the
    acceleration, with intervals over the resamples (each re-makes the choice)."""
    rows = np.flatnonzero(sweep.of_model(teacher))  # cheapest first
    caught = sweep.draws[rows] >= sweep.draws[student]
    costs = np.where(caught.any(0), sweep.costs[rows][caught.argmax(0)], math.inf)
    none = {"teacher_catch_up": None, "teacher_catch_up_cost": None, "teacher_catch_up_cost_ci_low": None,
            "teacher_catch_up_cost_ci_high": None, "acceleration": None, "acceleration_ci_low": None,
            "acceleration_ci_high": None}  # fmt: skip
    own = sweep.costs[student]
    if not math.isfinite(costs[0]):
        return none
    out = {"teacher_catch_up": describe(sweep.row(rows[caught[:, 0].argmax()])), "teacher_catch_up_cost": costs[0],
           "acceleration": costs[0] / own if own > 0 else None}  # fmt: skip
    if not sweep.resampled:
        return {**none, **out}
    cost = event_interval(costs, sweep.level)
    speed = event_interval(costs / own, sweep.level) if own > 0 else {"ci_low": None, "ci_high": None}
    return out | {"teacher_catch_up_cost_ci_low": cost["ci_low"], "teacher_catch_up_cost_ci_high": cost["ci_high"],
                  "acceleration_ci_low": speed["ci_low"], "acceleration_ci_high": speed["ci_high"]}  # fmt: skip


def _margins(row: dict, student: int, sweep: Sweep, teacher: str, undistilled: np.ndarray) -> tuple[dict, list]:
    """Return the teacher-at-the-same-steps and best-undistilled columns of one student row, and their claims
    (column prefix, oriented claim, sign) for the family."""
    out, claims = {"teacher_same_steps": None, "teacher_value": None, "best_undistilled": None,
                   "best_undistilled_model": None, "best_undistilled_value": None}, []  # fmt: skip
    same = sweep.of_model(teacher) & (sweep.frame["steps"].to_numpy() == row["steps"])
    index, _ = sweep.leader(math.inf, same)
    if index[0] >= 0:
        t = sweep.row(index[0])
        out |= {"teacher_same_steps": describe(t), "teacher_value": t[row["metric"]]}
        claims.append(("margin_over_teacher", *_oriented(sweep, np.array([student]), np.flatnonzero(same))))
    index, _ = sweep.leader(row["cost"], undistilled)
    if index[0] >= 0:
        u = sweep.row(index[0])
        out |= {
            "best_undistilled": describe(u),
            "best_undistilled_model": u["model"],
            "best_undistilled_value": u[row["metric"]],
        }
        claims.append(
            ("undistilled_margin", *_oriented(sweep, sweep.within(row["cost"], undistilled), np.array([student])))
        )
    return out, claims


def distillation(df: pl.DataFrame, best: pl.DataFrame, metric: str, values: dict, counts_by_task: dict) -> pl.DataFrame:
    """Return the distillation table of one metric: a row per student's best_guidance row (`best`), compared with
    every configuration of the sweep (`df`); empty without distilled models."""
    if "distilled_from" not in best.columns or best["distilled_from"].is_null().all():
        return pl.DataFrame(schema=COLUMNS)
    rows = []
    for cost in (c for c in COST_AXES if c in best.columns):
        students = best.filter(_finite(cost, metric) & pl.col("distilled_from").is_not_null()).sort(
            ["task", "model", cost]
        )
        for task in students["task"].unique(maintain_order=True).to_list():
            scored = df.filter((pl.col("task") == task) & _finite(cost, metric))
            sweep = Sweep.of(scored, cost, metric, values, counts_by_task.get(task))
            keys = [_key(r) for r in sweep.frame.select(CONFIG_KEYS).iter_rows(named=True)]
            undistilled = np.asarray(sweep.frame["distilled_from"].is_null().to_list())
            family, table = [], []
            for row in students.filter(pl.col("task") == task).iter_rows(named=True):
                student = keys.index(_key(row))
                entry = {"task": task, "metric": metric, "cost_axis": cost, "model": row["model"],
                         "distilled_from": row["distilled_from"], "sampler": row["sampler"], "steps": row["steps"],
                         "guidance": row["guidance"], "cost": row[cost], "value": row[metric]}  # fmt: skip
                columns, claims = _margins(entry, student, sweep, row["distilled_from"], undistilled)
                table.append(entry | columns | _catch_up(student, sweep, row["distilled_from"]))
                family += [(len(table) - 1, *claim) for claim in claims]
            verdicts = judge([c for _, _, c, _ in family], sweep, metric, sweep.level)
            for (i, prefix, _, sign), verdict in zip(family, verdicts):
                table[i] |= _verdict(verdict, sign, prefix, separable=prefix == "undistilled_margin")
            rows += table
    return pl.DataFrame(rows, schema=COLUMNS)
