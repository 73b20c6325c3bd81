"""The plain-words summary (results/{experiment}/frontier/README.md) and `write_all`, which writes it with the frontier tables."""

from __future__ import annotations

import math

import polars as pl

from ..image_cost import devices_note
from ..paths import COST_AXES, DISTILLATION
from .analysis import ALL_SAMPLERS, TABLES, _pooled, analyse
from .baselines import BASELINES, first_model_budgets
from .baselines import COLUMNS as BASELINE_COLUMNS
from .distillation import COLUMNS
from .ranking import _higher_is_better, describe
from .refined import looks_of, refinement_lines
from .uncertainty import LEVEL, RESOLVED, TIED, adjusted_level


def _number(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return "∞" if x == math.inf else f"{x:.3g}"


def _interval(low, high) -> str:
    return "" if low is None else f" [{_number(low)}, {_number(high)}]"


def summary_markdown(
    tables: dict[str, pl.DataFrame],
    reps: int,
    refinement: pl.DataFrame | None = None,
    open_decisions: pl.DataFrame | None = None,
) -> str:
    """Return results/{experiment}/frontier/README.md: per metric and cost axis, who wins at each budget, by how much, how sure;
    and, for an adaptively refined sweep, what its rounds spent (`refinement`, see `refine.refinement_table`) and what
    the decisions it left open at their cap would need (`open_decisions`, see `refine.open_decisions`)."""
    lines = [
        "# What the frontier says",
        "",
        "Written by the `frontier` rule from `../summary.parquet`. Each budget is a cap on the sampling cost of one",
        "image; the winner is the best configuration (model, sampler, steps, guidance) that fits. Every configuration",
        "competes, guidance included: on GFLOPs and latency classifier-free guidance doubles the UNet batch.",
        "'ahead of' compares it with the best configuration of any *other* model that fits.",
        f"Intervals are {'95%' if refinement is None else 'as the adaptive refinement below says'}: a paired bootstrap "
        f"over images ({reps} resamples; image i has the same prompt and seed in",
        "every configuration) where the metric has per-image values, otherwise the scores' own intervals. A margin is a",
        "best configuration of one side against the best of the other, and its interval covers every configuration",
        "either side could have chosen (simultaneous intervals for every pair, as in multiple comparisons with the",
        "best). The first interval is the margin's own (per comparison). A margin is **resolved** only if its",
        "family-wise interval, simultaneous over every claim of the same metric and cost axis, excludes zero (the",
        "second interval): at most 5% of runs make any false resolved claim. A change of winner is resolved only if",
        "the margins after and before it both are. Anything else is reported, never claimed.",
        *([] if refinement is None else ["", *refinement_lines(refinement, open_decisions)]),
    ]
    budgets, crosses = tables["best_per_budget"], tables["crossovers"]
    if budgets.is_empty():
        return "\n".join(lines + ["", "No configuration has a finite score: nothing to report.", ""])
    for (task, metric, cost), rows in budgets.group_by(["task", "metric", "cost_axis"], maintain_order=True):
        direction = "higher is better" if _higher_is_better(metric) else "lower is better"
        lines += ["", f"## {metric} ({direction}) by {cost}, task {task}", "", f"Cost: {COST_AXES[cost]}.", ""]
        note = devices_note(tables["best_guidance"].filter(pl.col("task") == task)) if (
            cost == "latency_ms_per_image" and "best_guidance" in tables) else ""  # fmt: skip
        lines += [note.strip(), ""] if note else []
        for run in _runs(rows.sort("budget").to_dicts()):
            lines.append(_budget_sentence(run, metric))
        lines += ["", *_crossover_sentences(crosses, task, metric, cost)]
        lines += _family_lines(rows, crosses, task, metric, cost)
    return "\n".join(lines) + "\n"


def _runs(rows: list[dict]) -> list[dict]:
    """Return consecutive budgets with the same winner, runner-up and verdict merged into one row with `budget_from`."""
    runs: list[dict] = []

    def same(a: dict, b: dict) -> bool:
        return (describe(a), a.get("runner_up"), a.get("resolved"), a.get("tied_models")) == (
            describe(b),
            b.get("runner_up"),
            b.get("resolved"),
            b.get("tied_models"),
        )

    for r in rows:
        if runs and same(runs[-1], r):
            runs[-1] = {**r, "budget_from": runs[-1]["budget_from"]}
        else:
            runs.append({**r, "budget_from": r["budget"]})
    return runs


def _fw(r: dict, prefix: str = "margin") -> str:
    """Return ' (family-wise [low, high])' for a margin with a simultaneous interval, else ''."""
    low = r.get(f"{prefix}_fw_low")
    return "" if low is None else f" (family-wise{_interval(low, r[f'{prefix}_fw_high'])})"


def _budget_sentence(r: dict, metric: str) -> str:
    budgets = (
        f"Budget ≤ {_number(r['budget'])}"
        if r["budget_from"] == r["budget"]
        else f"Budgets {_number(r['budget_from'])} to {_number(r['budget'])}"
    )
    head = f"- {budgets}: **{describe(r)}** (cost {_number(r['cost'])}), {metric} {_number(r['value'])}{_interval(r['ci_low'], r['ci_high'])}"
    if r.get("runner_up_model") is None:
        return head + "; the only model that fits."
    verdict = "resolved" if r["resolved"] else "**not resolved**"
    if r.get("status") == TIED:
        tolerance, tied = _number(r["tolerance"]), r["tied_models"]
        verdict = (f"**tied within {tolerance}**: any of {tied} is fine" if ", " in tied else
                   f"**tied within {tolerance}**: no other model is better by {tolerance} or more")  # fmt: skip
    margin = f"{_number(r['margin'])}{_interval(r['margin_ci_low'], r['margin_ci_high'])}{_fw(r)}"
    return head + f"; ahead of {r['runner_up']} by {margin}: {verdict}."


def _family_lines(rows: pl.DataFrame, crosses: pl.DataFrame, task: str, metric: str, cost: str) -> list[str]:
    """Return the line that says how many claims "resolved" is controlled over, at what pointwise tail, and the
    Monte Carlo error of the simultaneous bounds ([] where no budget has a runner-up)."""
    claims = rows.filter(pl.col("family_size").is_not_null()) if "family_size" in rows.columns else rows.clear()
    if claims.is_empty():
        return []
    first = claims.row(0, named=True)
    size = f"{first['family_size']} claims (the margins above and both margins of every crossover), {first['family_pairs']} pairs of configurations"
    if first["resamples"] is None:
        return ["", f"Family-wise: {size}; each pair's score intervals widened to {first['family_critical']:.3g} SE, the "
                "Bonferroni level over the pairs (no per-image values, so no paired resamples)."]  # fmt: skip
    mine = (
        crosses.filter((pl.col("task") == task) & (pl.col("metric") == metric) & (pl.col("cost_axis") == cost))
        if "task" in crosses.columns
        else crosses
    )
    errors = claims["margin_fw_mc_error"].to_list()
    for column in ("margin_after_fw_mc_error", "margin_before_fw_mc_error"):
        errors += mine[column].drop_nulls().to_list() if column in mine.columns else []
    return ["", f"Family-wise: {size}; every pair's interval is ±{first['family_critical']:.3g} bootstrap SEs, the 95% "
            f"quantile of the largest standardised deviation over {first['resamples']} paired resamples; Monte Carlo "
            f"error of the bounds at most {_number(max(errors))}."]  # fmt: skip


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
    """Return one crossover in words, with its intervals and whether it is resolved, and if not, which margin is not."""
    where = f"at {_number(c['budget'])}{_interval(c['budget_ci_low'], c['budget_ci_high'])}"
    if c.get("happens_in") is not None and c["happens_in"] < 1:
        where += f", in {100 * c['happens_in']:.3g}% of resamples"
    after = f"{_number(c['margin_after'])}{_interval(c['margin_after_ci_low'], c['margin_after_ci_high'])}"
    change = f"{c['from_model']} → {c['to_model']} ({c['to_config']} beats {c['from_config']} by {after}{_fw(c, 'margin_after')})"
    if c["status"] == RESOLVED:
        return f"- {where}: {change}. Resolved."
    failed = [
        side
        for side, ok in (("after the change", c["after_resolved"]), ("one budget before", c.get("before_resolved")))
        if ok is False
    ]
    which = " and the margin ".join(failed) + (" are" if len(failed) > 1 else " is")
    return f"- {where}: {change}. **Not resolved**: the margin {which} not; not a finding."


def distillation_markdown(table: pl.DataFrame) -> str:
    """Return the README section on distilled models ('' without any): per student, on the normalised cost axis."""
    rows = table.filter(pl.col("cost_axis") == "normalised_cost") if not table.is_empty() else table
    if rows.is_empty():
        return ""
    lines = [
        "",
        "## Distilled models",
        "",
        "Per student configuration, on the normalised cost axis (distillation.csv has every axis):",
        "its score, the teacher's at the same step count, the cost at which the teacher catches up (the acceleration",
        "factor is that cost over the student's, with its 95% interval over resamples that re-make the choice), and the",
        "best undistilled configuration of any size within the student's cost, with its margin over the student [95%",
        "interval per comparison]; resolved: its sign holds family-wise over every margin of the table.",
        "",
        "| metric | student | teacher | student score | teacher, same steps | teacher catches up at | acceleration "
        "| best undistilled within the student's cost | its margin |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows.iter_rows(named=True):
        student = f"{describe(r)} (cost {_number(r['cost'])})"
        same = "–" if r["teacher_value"] is None else f"{_number(r['teacher_value'])} ({r['teacher_same_steps']})"
        catch = (
            "never, within the sweep"
            if r["teacher_catch_up_cost"] is None
            else (f"{_number(r['teacher_catch_up_cost'])} ({r['teacher_catch_up']})")
        )
        accel = "–" if r["acceleration"] is None else f"{_number(r['acceleration'])}×"
        accel += _interval(r["acceleration_ci_low"], r["acceleration_ci_high"]) if r["acceleration"] is not None else ""
        undistilled = (
            "none fits"
            if r["best_undistilled"] is None
            else (f"{r['best_undistilled']}: {_number(r['best_undistilled_value'])}")
        )
        margin = (
            "–"
            if r["undistilled_margin"] is None
            else (
                _number(r["undistilled_margin"])
                + _interval(r["undistilled_margin_ci_low"], r["undistilled_margin_ci_high"])
                + ("; resolved" if r["undistilled_resolved"] else "; not resolved")
            )
        )
        lines.append(
            f"| {r['metric']} | {student} | {r['distilled_from']} | {_number(r['value'])} | {same} | {catch} | {accel} "
            f"| {undistilled} | {margin} |"
        )
    return "\n".join(lines) + "\n"


def baselines_markdown(table: pl.DataFrame, best_per_budget: pl.DataFrame) -> str:
    """Return the README section on the baselines ('' without any)."""
    if table.is_empty():
        return ""
    names = sorted(table["baseline"].unique().to_list())
    firsts = {(r["task"], r["metric"], r["cost_axis"]): r
              for r in first_model_budgets(best_per_budget, names).iter_rows(named=True)}  # fmt: skip
    lines = ["", "## Against the baselines", "",
             f"The baselines ({', '.join(names)}) upscale each input without a model, at zero sampling cost: they fit",
             "every budget, and a model wins a budget only where it beats them. Each model's best configuration",
             "against each baseline: its margin (positive: the model is better) [95% paired interval over images, per",
             "comparison]; separable when the interval excludes zero.", ""]  # fmt: skip
    for (task, metric), rows in table.group_by(["task", "metric"], maintain_order=True):
        rows = rows.sort(["baseline", "margin"], descending=[False, True])
        lines += [f"### {metric}, task {task}", ""]
        axes = best_per_budget.filter((pl.col("task") == task) & (pl.col("metric") == metric))["cost_axis"]
        for cost in sorted(axes.unique().to_list()):
            first = firsts.get((task, metric, cost))
            lines.append(
                f"- by {cost}: a model beats {' and '.join(names)} from budget {_number(first['budget'])} "
                f"({first['model']}, {first['steps']} step{'s' if first['steps'] != 1 else ''})"
                if first
                else f"- by {cost}: a baseline wins every budget"
            )
        lines += ["", "| model | best configuration | score | baseline | its score | margin | separable |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in rows.iter_rows(named=True):
            margin = _number(r["margin"]) + _interval(r["margin_ci_low"], r["margin_ci_high"])
            verdict = ("yes, the model is better" if r["margin"] > 0 else "yes, the baseline is better") if (
                r["separable"]) else "no"  # fmt: skip
            lines.append(f"| {r['model']} | {r['config']} | {_number(r['value'])} | {r['baseline']} "
                         f"| {_number(r['baseline_value'])} | {margin} | {verdict} |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)


def write_all(
    summary_path: str,
    per_image_path: str,
    outputs,
    metric_names: list[str],
    edges: dict,
    buckets: int,
    reps: int,
    refinement_path: str | None = None,
    open_path: str | None = None,
    scaling_path: str | None = None,
    provenance: dict | None = None,
    tolerance: dict | None = None,
) -> None:
    """Write the frontier tables (CSV and parquet) and README.md for every metric of the summary; with the rounds of
    an adaptively refined sweep (`refinement_path`, and `open_path`: the decisions it leaves open), its paired
    intervals at the level its looks call for; the scaling law's section (`scaling_path`, written by the `scaling`
    rule) at the end of the README, then what made it (`provenance`, `files.provenance`). `tolerance` (config
    frontier.tolerance) gives each budget of its metrics a status: resolved, tied within the tolerance, or not
    resolved."""
    from pathlib import Path

    from .. import files
    from ..refine import OPEN_SCHEMA

    df, per_image = pl.read_parquet(summary_path), pl.read_parquet(per_image_path)
    refinement = pl.read_csv(refinement_path) if refinement_path else None
    open_decisions = pl.read_csv(open_path, schema=OPEN_SCHEMA) if open_path else None
    level = LEVEL if refinement is None else adjusted_level(looks_of(refinement))
    results = [
        analyse(df, per_image, metric, edges, buckets, reps, level, (tolerance or {}).get(metric))
        for metric in metric_names
        if metric in df.columns
    ]
    tables = {
        name: pl.concat(
            [r[name] for r in results if not r[name].is_empty()] or [pl.DataFrame()], how="diagonal_relaxed"
        )
        for name in TABLES
    }
    distilled = pl.concat([r[DISTILLATION] for r in results] or [pl.DataFrame(schema=COLUMNS)])
    baselines = pl.concat([r[BASELINES] for r in results] or [pl.DataFrame(schema=BASELINE_COLUMNS)])
    for path in map(Path, [*outputs.tables, *outputs.parquet, *getattr(outputs, DISTILLATION, [])]):
        table = distilled if path.stem == DISTILLATION else tables[path.stem]
        with files.atomic_path(path) as tmp:
            if path.suffix == ".parquet":
                table.write_parquet(tmp)
            else:
                table.write_csv(tmp)
    with files.atomic_path(outputs.readme) as tmp:
        scaling = Path(scaling_path).read_text() if scaling_path else ""
        text = summary_markdown(tables, reps, refinement, open_decisions)
        text += baselines_markdown(baselines, tables["best_per_budget"]) + distillation_markdown(distilled) + scaling
        Path(tmp).write_text(text + provenance_markdown(provenance))


def provenance_markdown(provenance: dict | None) -> str:
    """Return the README's last lines: the config (its SHA-256, as resolved) and the ldmscale commit that made it."""
    if not provenance:
        return ""
    named = ", ".join(provenance["configfiles"]) or "no file"
    commit = provenance["commit"] or "unknown (not a git checkout)"
    return (f"\n---\nMade from the config {named} (SHA-256 of the config as resolved, files and --config edits "
            f"together: {provenance['config_sha256']}) by ldmscale at commit {commit}.\n")  # fmt: skip
