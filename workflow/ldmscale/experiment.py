"""Can a sweep answer the study's question? Its non-degeneracy conditions, each with a paired 95% interval.

A sweep where steps do not matter, or where size does not, answers "which size wins at my budget" by
construction. These conditions concern the experiment, not its answer (which model wins where):

- at the largest step count, the largest model beats the median-size one and the smallest one;
- no model's best configuration reaches what real images score (the metric's real-data floor);
- every model's lowest step count is worse than its largest;
- the largest model still improves from the second-lowest step count to the largest.

Checked per task and sampler, guidance chosen per (model, sampler, steps) as on the frontier:

    python -m ldmscale.experiment results/default/summary.parquet results/default/per_image.parquet --metric attr_acc

`--by-steps` prints instead the best model at each step count, with its paired margin over the runner-up. Exit
status: 0 when every condition checked holds, 1 when one does not, 2 when nothing could be checked (no metric with a
real-data floor and no --metric, an unknown metric, or no condition decided).
"""

from __future__ import annotations

import argparse
import sys

import polars as pl

from . import scoring
from .frontier.analysis import best_guidance
from .frontier.baselines import is_baseline
from .frontier.ranking import _ranked, describe
from .frontier.uncertainty import compare, per_image_values, task_counts

REPS = 1000


def conditions(summary: pl.DataFrame, per_image: pl.DataFrame, metric: str, reps: int = REPS) -> list[dict]:
    """Return one row per condition and (task, sampler): what was compared, the margin with its interval, and whether it holds."""
    best = best_guidance(summary, metric)
    values = per_image_values(per_image, metric)
    rows, counts_by_task = [], task_counts(best, values, reps)
    for (task, sampler), group in best.group_by(["task", "sampler"], maintain_order=True):
        counts = counts_by_task.get(task)
        scope = {"task": task, "sampler": sampler}
        rows += [{**scope, **row} for row in _group_conditions(group, metric, values, counts)]
    return rows


def _group_conditions(group: pl.DataFrame, metric: str, values: dict, counts) -> list[dict]:
    """Return the conditions of one task and sampler (best guidance rows of every model and step count)."""
    sizes = group.group_by("model").agg(pl.col("unet_params").first()).sort(["unet_params", "model"])["model"].to_list()
    steps = sorted(group["steps"].unique().to_list())
    smallest, median, largest = sizes[0], sizes[len(sizes) // 2], sizes[-1]

    def at(model, n):
        return group.filter((pl.col("model") == model) & (pl.col("steps") == n)).row(0, named=True)

    def check(condition, a, b):
        margin = compare(a, b, metric, values, counts)
        holds = bool(margin["separable"] and margin["margin"] > 0)
        return {
            "condition": condition,
            "better": describe(a),
            "worse": describe(b),
            **margin,
            "holds": holds,
        }

    rows = [
        check(f"largest beats {'median-size' if other == median else 'smallest'} model at {steps[-1]} steps",
              at(largest, steps[-1]), at(other, steps[-1]))
        for other in dict.fromkeys([median, smallest])
    ]  # fmt: skip
    rows += [
        check(f"{model}: {steps[-1]} steps beat {steps[0]}", at(model, steps[-1]), at(model, steps[0]))
        for model in sizes
    ]
    rows.append(
        check(f"largest improves from {steps[1]} to {steps[-1]} steps", at(largest, steps[-1]), at(largest, steps[1]))
    )
    return rows + [_below_floor(group.filter(pl.col("model") == m), metric) for m in sizes]


def _below_floor(model_rows: pl.DataFrame, metric: str) -> dict:
    """Return whether a model's best configuration stays clear of its metric's real-data floor (the best real images score)."""
    top = _ranked(model_rows, metric).row(0, named=True)
    floor = top.get(f"{metric}_floor")
    higher = scoring.get(metric).higher_is_better
    bound = top[f"{metric}_ci_high"] if higher else top[f"{metric}_ci_low"]
    holds = None if floor is None else bool(bound < floor if higher else bound > floor)
    return {"condition": f"{top['model']}'s best is clear of the real-data floor {floor if floor is None else round(floor, 4)}",
            "better": None, "worse": describe(top), "margin": None if floor is None else abs(floor - top[metric]),
            "margin_ci_low": None if floor is None else abs(floor - bound), "margin_ci_high": None, "separable": holds,
            "interval": "the score's own 95% interval", "holds": holds}  # fmt: skip


def by_steps(summary: pl.DataFrame, per_image: pl.DataFrame, metric: str, reps: int = REPS) -> list[dict]:
    """Return, per task, sampler and step count, the best model and its paired margin over the best other model
    at the same steps (guidance chosen per model as on the frontier): who wins when steps, not cost, are equal."""
    best = best_guidance(summary, metric)
    values = per_image_values(per_image, metric)
    rows, counts_by_task = [], task_counts(best, values, reps)
    for (task, sampler, steps), group in best.sort("steps").group_by(["task", "sampler", "steps"], maintain_order=True):
        counts = counts_by_task.get(task)
        ranked = _ranked(group, metric).rows(named=True)
        if len(ranked) < 2:
            continue
        winner, runner_up = ranked[0], ranked[1]
        margin = compare(winner, runner_up, metric, values, counts)
        rows.append({"task": task, "sampler": sampler, "steps": steps, "winner": winner["model"],
                     "value": winner[metric], "runner_up": runner_up["model"], **margin})  # fmt: skip
    return rows


def steps_table(rows: list[dict], metric: str) -> str:
    """Return the per-step-count winners as a Markdown table."""
    lines = [f"| task | sampler | steps | best model ({metric}) | runner-up | margin [95% interval] |", "|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        verdict = "" if r["separable"] else ", not separable"
        lines.append(
            f"| {r['task']} | {r['sampler']} | {r['steps']} | {r['winner']}: {r['value']:.4g} | {r['runner_up']} | "
            f"{r['margin']:+.3g} [{r['margin_ci_low']:.3g}, {r['margin_ci_high']:.3g}]{verdict} |"
        )
    return "\n".join(lines)


def table(rows: list[dict], metric: str) -> str:
    """Return the conditions as a Markdown table."""

    def number(x):
        return "–" if x is None else f"{x:.4g}"

    lines = [f"| task | sampler | condition ({metric}) | margin [95% interval] | holds |", "|---|---|---|---|---|"]
    for r in rows:
        interval = (
            "" if r["margin_ci_low"] is None else f" [{number(r['margin_ci_low'])}, {number(r['margin_ci_high'])}]"
        )
        verdict = {True: "yes", False: "**no**", None: "no floor"}[r["holds"]]
        lines.append(
            f"| {r['task']} | {r['sampler']} | {r['condition']} | {number(r['margin'])}{interval} | {verdict} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ldmscale.experiment", description=__doc__.splitlines()[0])
    parser.add_argument("summary", nargs="?", default="results/default/summary.parquet")
    parser.add_argument("per_image", nargs="?", default="results/default/per_image.parquet")
    parser.add_argument(
        "--metric", action="append", help="metric(s) to check (default: every metric of the summary with a floor)"
    )
    parser.add_argument("--by-steps", action="store_true", help="instead: the best model at each step count")
    args = parser.parse_args(argv)
    summary, per_image = pl.read_parquet(args.summary), pl.read_parquet(args.per_image)
    summary = summary.filter(~is_baseline())  # conditions on model sizes and steps: no baseline
    scored = sorted(m for m in scoring.METRICS if m in summary.columns)
    names = args.metric or [c.removesuffix("_floor") for c in summary.columns if c.endswith("_floor")]
    unknown = [m for m in names if m not in summary.columns]
    if not names or unknown:
        why = (
            f"--metric {unknown[0]}: not in {args.summary}" if unknown else f"no metric with a floor in {args.summary}"
        )
        print(f"{why}; pass --metric with one of: {', '.join(scored)}", file=sys.stderr)
        return 2
    if args.by_steps:
        print("\n\n".join(steps_table(by_steps(summary, per_image, metric), metric) for metric in names))
        return 0
    failed = checked = 0
    for metric in names:
        rows = conditions(summary, per_image, metric)
        print(table(rows, metric), end="\n\n")
        failed += sum(r["holds"] is False for r in rows)
        checked += sum(r["holds"] is not None for r in rows)
    if not checked:  # a check that cannot fail is no check
        print(f"nothing was checked: no condition of {', '.join(names)} could be decided", file=sys.stderr)
        return 2
    print(f"{failed} of {checked} condition(s) do not hold" if failed else f"all {checked} conditions checked hold")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
