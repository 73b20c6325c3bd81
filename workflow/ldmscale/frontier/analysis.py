"""The analysis: best guidance per (model, sampler, steps), Pareto sets, best configuration per budget, crossovers,
and the tidy frontier tables of one metric (`analyse`).

Every configuration competes within a budget on every cost axis: guidance is one more setting, because on GFLOPs
and latency classifier-free guidance doubles the UNet batch, and a cheaper guidance-1 configuration can win a budget
that the better guidance-3 one does not fit. `best_guidance` (the paper's "best guidance per model and step count")
is a descriptive table; on an axis whose cost does not depend on guidance it makes the same choices.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..paths import BASELINE, COST_AXES, DISTILLATION, TABLES
from .baselines import BASELINES, against_baselines
from .distillation import distillation
from .family import Claim, judge
from .ranking import _finite, _ranked, describe
from .uncertainty import (
    LEVEL,
    NO_RUNNER_UP,
    NOT_RESOLVED,
    RESOLVED,
    TIED,
    Sweep,
    event_interval,
    nearest_event,
    per_image_values,
    task_counts,
)


def best_guidance(df: pl.DataFrame, metric: str) -> pl.DataFrame:
    """Return one row per (task, model, sampler, steps): the guidance scale with the best `metric`.

    As in the paper, the guidance scale is a free choice per model and step count. Ties go to the
    smaller guidance; rows whose metric is null or NaN are never chosen. `guidance_tried` records
    the scales the choice was made among. Descriptive: budgets choose among every configuration.
    """
    keys = ["task", "model", "sampler", "steps"]
    ranked = _ranked(df, metric)
    tried = ranked.group_by(keys).agg(pl.col("guidance").sort().cast(pl.String).str.join(", ").alias("guidance_tried"))
    return ranked.group_by(keys, maintain_order=True).first().join(tried, on=keys).sort(keys)


def _tasks(df: pl.DataFrame) -> list[str]:
    return sorted(df["task"].unique().to_list())


def pareto(df: pl.DataFrame, cost: str, metric: str) -> pl.DataFrame:
    """Return the rows no other row beats on both `cost` (lower) and `metric`, sorted by cost, per task.

    These are the winners of every budget: a row is kept only if it is strictly better than every
    cheaper-or-equal row; among equal costs and equal scores only one survives (see `ranking._ranked`).
    """
    out = []
    for task in _tasks(df):
        sweep = Sweep.of(df.filter(pl.col("task") == task), cost, metric, {}, None)
        front = sorted({int(sweep.leader(b)[0][0]) for b in sweep.budgets()})
        out.append(sweep.frame[front])
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


def _winners(sweep: Sweep, task: str, metric: str, cost: str, edges: list[float]) -> list[tuple[dict, Claim | None]]:
    """Return per budget with a candidate: the best configuration within it, the best configuration of any other
    model within it (the runner-up), and the claim that the winner's model beats the others there: the best of its
    configurations within the budget against the best of every other model's (`family.Claim`)."""
    out = []
    for budget in edges:
        index, _ = sweep.leader(budget)
        if index[0] < 0:
            continue
        row = sweep.row(index[0])
        mine = sweep.of_model(row["model"])
        rival, _ = sweep.leader(budget, ~mine)
        entry = {"task": task, "metric": metric, "cost_axis": cost, "budget": budget, **row}
        if rival[0] < 0:
            out.append(({**entry, **NO_RUNNER_UP}, None))
            continue
        entry |= {"runner_up_model": sweep.row(rival[0])["model"], "runner_up": describe(sweep.row(rival[0]))}
        out.append((entry, Claim(sweep.within(budget, mine), sweep.within(budget, ~mine))))
    return out


def best_per_budget(df: pl.DataFrame, cost: str, metric: str, edges: list[float]) -> pl.DataFrame:
    """Return, per task and budget, the best configuration whose cost is within the budget, and the runner-up."""
    rows = [
        row
        for task in _tasks(df)
        for row, _ in _winners(
            Sweep.of(df.filter(pl.col("task") == task), cost, metric, {}, None), task, metric, cost, edges
        )
    ]
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


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


def _winning_models(sweep: Sweep, grid: list[float], scope: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Return (budgets × columns) the code of the model whose configuration in `scope` wins each budget, in the
    estimate and every resample, and the models the codes index."""
    names = sorted(set(sweep.models.tolist()))
    codes = np.asarray([names.index(m) for m in sweep.models])
    index, _ = sweep.best(scope)
    return np.stack([codes[index[sweep.fits(b) - 1]] for b in grid]), names


def _duel(sweep: Sweep, budget: float, better: str, worse: str, scope: np.ndarray) -> Claim | None:
    """Return the claim that model `better`'s best configuration in `scope` within `budget` beats model `worse`'s;
    None where either fits nothing there."""
    claim = Claim(*(sweep.within(budget, scope & sweep.of_model(m)) for m in (better, worse)))
    return claim if len(claim.better) and len(claim.worse) else None


def _takeovers(winners: np.ndarray, old: int, new: int) -> np.ndarray:
    """Return (budgets × columns) where model `new` wins a budget and, of the two, `old` won last below it."""
    either = np.where(winners == old, 1, np.where(winners == new, 2, 0))
    latest = np.maximum.accumulate(np.where(either > 0, np.arange(len(winners))[:, None], 0), axis=0)
    last = np.take_along_axis(either, latest, axis=0)
    return np.vstack([np.zeros((1, winners.shape[1]), bool), (either[1:] == 2) & (last[:-1] == 1)])


def _crossovers(sweep: Sweep, task: str, scope: np.ndarray) -> list[tuple[dict, Claim, Claim | None]]:
    """Return each change of the best model (among the candidates in `scope`) over every candidate's own cost, with
    the claims it rests on.

    A change from A to B at budget b (the cost of the first configuration of B that wins) rests on B's best
    configuration beating A's within b (after) and, when B was affordable one budget below, on A's beating B's
    there (before). The budget's interval is over
    the resamples, each of which re-makes every choice: the winner of every budget, then, of the changes from A to B
    it shows (`_takeovers`), the one nearest this one between the estimate's neighbouring changes between A and B,
    either way (`uncertainty.nearest_event`); ∞ where there is none.
    """
    grid = sorted(set(sweep.costs[scope].tolist()))
    winners, names = _winning_models(sweep, grid, scope)
    changes = [(int(i), names[winners[i - 1, 0]], names[winners[i, 0]])
               for i in np.flatnonzero(winners[1:, 0] != winners[:-1, 0]) + 1]  # fmt: skip
    out = []
    for i, old, new in changes:
        pair = [j for j, a, b in changes if {a, b} == {old, new}]
        k = pair.index(i)
        between = (pair[k - 1] if k else 0, pair[k + 1] if k + 1 < len(pair) else len(grid))
        budget = {}
        if sweep.resampled:
            events = _takeovers(winners, names.index(old), names.index(new))
            budget = event_interval(nearest_event(events, np.asarray(grid), i, between), sweep.level)
        after, before = _duel(sweep, grid[i], new, old, scope), _duel(sweep, grid[i - 1], old, new, scope)
        best_of = {m: sweep.row(sweep.leader(grid[i], scope & sweep.of_model(m))[0][0]) for m in (old, new)}
        row = {"task": task, "budget": grid[i], "from_model": old, "to_model": new,
               "from_config": describe(best_of[old]), "to_config": describe(best_of[new]),
               "budget_ci_low": budget.get("ci_low"), "budget_ci_high": budget.get("ci_high"),
               "budget_ci_extended": budget.get("extended"), "happens_in": budget.get("happens")}  # fmt: skip
        out.append((row, after, before))
    return out


def _rival_claims(sweep: Sweep, budgets: list) -> list[tuple[int, str, Claim]]:
    """Return (budget row, model, claim) for every model other than the winner that fits each budget: the claim that
    its best configuration within the budget beats every other model's."""
    out = []
    for i, (row, claim) in enumerate(budgets):
        if claim is None:
            continue
        within = sweep.within(row["budget"], sweep.of_all())
        for model in sorted(set(sweep.models[within].tolist()) - {row["model"]}):
            mine = sweep.of_model(model)
            out.append((i, model, Claim(sweep.within(row["budget"], mine), sweep.within(row["budget"], ~mine))))
    return out


def _tied(rows: list[dict], rivals: list, verdicts: list[dict], tolerance: float) -> list[dict]:
    """Return the budget rows with their status: resolved (the winner's margin excludes zero, family-wise); tied within
    ε (it does not, but its lower bound is above −ε: no other model beats the winner by ε or more), naming every model
    that is, like the winner, within ε of the best of the rest, any of which is fine; otherwise not resolved."""
    good: dict[int, list[str]] = {}
    for (i, model, _), verdict in zip(rivals, verdicts):
        if verdict["margin_fw_low"] > -tolerance:
            good.setdefault(i, []).append(model)
    out = []
    for i, row in enumerate(rows):
        status, tied = NOT_RESOLVED, None
        if row.get("resolved"):
            status = RESOLVED
        elif row.get("margin_fw_low") is not None and row["margin_fw_low"] > -tolerance:
            status, tied = TIED, ", ".join([row["model"], *good.get(i, [])])
        elif row.get("runner_up_model") is None:
            status = None  # the only model that fits: nothing to decide
        out.append({**row, "status": status, "tied_models": tied, "tolerance": tolerance})
    return out


MARGIN_COLUMNS = ["runner_up_model", "runner_up", "margin", "margin_ci_low", "margin_ci_high", "separable",
                  "margin_fw_low", "margin_fw_high", "margin_fw_mc_error", "resolved", "family_size", "family_pairs",
                  "family_critical", "resamples", "interval"]  # fmt: skip


KEEP = ["task", "metric", "cost_axis", "budget", "model", "sampler", "steps", "guidance", "guidance_tried", "cost", "value",
        "ci_low", "ci_high", *MARGIN_COLUMNS, "unet_params", "unet_gflops", *COST_AXES, "latency_device", "train_flops", "num_images",
        "distilled_from", "status", "tied_models", "tolerance"]  # fmt: skip


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


def _sampler_scopes(df: pl.DataFrame) -> list[str]:
    """Return where crossovers are looked for: over all samplers, then within each one (when there are several)."""
    samplers = sorted(set(df["sampler"].unique().to_list()) - {BASELINE})  # a baseline competes in every scope
    return [ALL_SAMPLERS, *samplers] if len(samplers) > 1 else [ALL_SAMPLERS]


def _pooled(crosses: pl.DataFrame) -> pl.DataFrame:
    """Return the crossovers found over all samplers (the frontier's own)."""
    return crosses.filter(pl.col("samplers") == ALL_SAMPLERS) if "samplers" in crosses.columns else crosses


def _margins(verdict: dict, prefix: str) -> dict:
    keys = ("margin", "margin_ci_low", "margin_ci_high", "margin_fw_low", "margin_fw_high", "margin_fw_mc_error")
    return {k.replace("margin", prefix): verdict.get(k) for k in keys}


CROSSOVER_SCHEMA = {"task": pl.String, "budget": pl.Float64, "from_model": pl.String, "to_model": pl.String,
                    "status": pl.String, "samplers": pl.String}  # fmt: skip


def _frame(rows: list[dict], schema: dict | None = None) -> pl.DataFrame:
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame(schema=schema)


def readme_claims(
    sweep: Sweep, df: pl.DataFrame, metric: str, cost: str, edges: list[float], tolerance: float | None = None
) -> tuple[list, list, list, list[Claim]]:
    """Return one task's README claims on one cost axis: each budget's (row, claim), each crossover's (row, after,
    before) in every sampler scope, with a `tolerance` the rival claims (budget row, model, claim), and the family
    they form, judged together: the budgets' and crossovers' claims, then the rivals'."""
    task = df["task"][0]
    budgets = _winners(sweep, task, metric, cost, edges)
    crosses = []
    for scope in _sampler_scopes(df):
        samplers = np.asarray(sweep.frame["sampler"].to_list())
        mask = (samplers == scope) | (samplers == BASELINE) if scope != ALL_SAMPLERS else sweep.of_all()
        crosses += [
            ({**row, "samplers": scope}, after, before) for row, after, before in _crossovers(sweep, task, mask)
        ]
    claims = [c for _, c in budgets if c] + [c for _, a, b in crosses for c in (a, b) if c]
    rivals = _rival_claims(sweep, budgets) if tolerance else []
    return budgets, crosses, rivals, claims + [c for _, _, c in rivals]


def axis_tables(
    df: pl.DataFrame, cost: str, metric: str, values: dict, counts, edges: list[float], tolerance: float | None = None
) -> dict:
    """Return one task's best_per_budget, best_per_cost and crossovers on one cost axis, each claim judged.

    The claims of the README (each budget's winner margin, both margins of every crossover, in every sampler scope)
    are one family; those of best_per_cost (every candidate's own cost, the charts' table) another (`family.judge`).
    With a `tolerance` ε, each budget's rows get a status (`_tied`): resolved, tied within ε, or not resolved; the
    claims that every other model within the budget beats the rest join the family.
    """
    task = df["task"][0]
    sweep = Sweep.of(df, cost, metric, values, counts)
    level = sweep.level
    budgets, crosses, rivals, family = readme_claims(sweep, df, metric, cost, edges, tolerance)
    per_cost = _winners(sweep, task, metric, cost, sweep.budgets())
    judged = judge(family, sweep, metric, level)
    claims = family[: len(family) - len(rivals)]
    verdicts = iter(judged[: len(claims)])
    budget_rows = [{**row, **(next(verdicts) if claim else {})} for row, claim in budgets]
    if tolerance:
        budget_rows = _tied(budget_rows, rivals, judged[len(claims) :], tolerance)
    cross_rows = []
    for row, _, before in crosses:
        a = next(verdicts)
        b = next(verdicts) if before else {}
        resolved = a["resolved"] and (before is None or b["resolved"])
        cross_rows.append({**row, "status": RESOLVED if resolved else NOT_RESOLVED, **_margins(a, "margin_after"),
                           "after_resolved": a["resolved"], **_margins(b, "margin_before"),
                           "before_resolved": b.get("resolved"), "family_size": a["family_size"],
                           "family_pairs": a["family_pairs"], "family_critical": a["family_critical"],
                           "resamples": a["resamples"],
                           "interval": a["interval"]})  # fmt: skip
    cost_verdicts = iter(judge([c for _, c in per_cost if c], sweep, metric, level))
    cost_rows = [{**row, **(next(cost_verdicts) if claim else {})} for row, claim in per_cost]
    return {
        "best_per_budget": _frame(budget_rows),
        "best_per_cost": _frame(cost_rows),
        "crossovers": _frame(cross_rows, CROSSOVER_SCHEMA),
    }


def analyse(
    df: pl.DataFrame,
    per_image: pl.DataFrame,
    metric: str,
    edges: dict,
    buckets: int,
    reps: int,
    level: float = LEVEL,
    tolerance: float | None = None,
) -> dict[str, pl.DataFrame]:
    """Return the frontier tables of one metric over every cost axis, tidy (see `tidy`), keyed by TABLES, and the
    distillation table (`distillation.distillation`).

    `edges` maps a cost axis to the user's budgets; other axes get `buckets` log-spaced budgets. The paired intervals
    are at `level` (`uncertainty.adjusted_level` for an adaptively refined sweep), each claim's own and the family's,
    from `reps` paired resamples; `tolerance` (config frontier.tolerance of this metric) adds each budget's status.
    """
    best = best_guidance(df, metric)
    values = per_image_values(per_image, metric)
    counts = task_counts(df, values, reps, level)
    out = {name: [] for name in TABLES}
    out["best_guidance"].append(tidy(best, metric))
    for cost in (c for c in COST_AXES if c in df.columns):
        out["pareto"].append(tidy(pareto(df, cost, metric), metric, cost))
        grid = edges.get(cost) or budget_edges(df.filter(_finite(metric))[cost], buckets)
        for task in _tasks(df.filter(_finite(metric, cost))):
            rows = df.filter(pl.col("task") == task)
            tables = axis_tables(rows, cost, metric, values, counts.get(task), grid, tolerance)
            for name in ("best_per_budget", "best_per_cost"):
                if not tables[name].is_empty():
                    out[name].append(tidy(tables[name], metric, cost))
            if not tables["crossovers"].is_empty():
                out["crossovers"].append(
                    tables["crossovers"].with_columns(metric=pl.lit(metric), cost_axis=pl.lit(cost))
                )
    result = {
        name: pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame() for name, frames in out.items()
    }
    return result | {DISTILLATION: distillation(df, best, metric, values, counts),
                     BASELINES: against_baselines(df, metric, values, counts)}  # fmt: skip
