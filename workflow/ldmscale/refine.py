"""Adaptive refinement: the decisions a round leaves unresolved, the plan of which configurations get more images,
and the record of the rounds (results/{experiment}/frontier/refinement.csv).

A decision is one choice the frontier reports, with the configurations it rests on:

- the best model within each budget (every configuration's own cost, on every cost axis): the winner and each
  rival, another model's best configuration within the budget, whose margin against it is not separable (the
  frontier's runner-up margins and crossovers compare exactly these);
- the guidance scale chosen per (model, sampler, steps) where that choice wins within some budget: the choice and
  every scale not separable from it (the others may cost more, classifier-free guidance doubles the UNet batch).
  Guidance choices nowhere on the frontier, such as a small model's at its most steps, are not refined.

A crossover's two sides are the winners at two adjacent budgets, each against the other model's best within its
budget, so an unresolved crossover is always an unresolved budget decision: its configurations are planned by the
first rule. Every margin is the frontier's paired bootstrap (`uncertainty.compare`), at the level
`uncertainty.adjusted_level` gives for the number of looks, so that the intervals hold whichever round stops.
"""

from __future__ import annotations

import polars as pl

from .frontier.ranking import _key, _ranked, _within, describe
from .frontier.uncertainty import adjusted_level, compare, per_image_values, task_counts
from .paths import COST_AXES
from .rounds import key


def decisions(
    summary: pl.DataFrame, per_image: pl.DataFrame, metric: str, reps: int, level: float, tolerance: float | None = None
) -> list[dict]:
    """Return every decision on `metric` that is not resolved, each with the configurations it rests on. With a
    `tolerance` ε, a rival the chosen configuration is provably within ε of (its margin's lower bound above −ε) no
    longer keeps a decision open: the decision is settled when every rival is either separable or so."""
    values = per_image_values(per_image, metric)
    counts = task_counts(summary, values, reps, level)
    separable: dict[tuple, bool] = {}

    def apart(a: dict, b: dict) -> bool:
        """Whether a's margin over b is separable from zero, or, with a tolerance, above −ε: nothing to refine."""
        pair = (_key(a), _key(b))
        if pair not in separable:
            margin = compare(a, b, metric, values, counts.get(a["task"]))
            low = margin["margin_ci_low"]
            separable[pair] = margin["separable"] or bool(tolerance and low is not None and low > -tolerance)
        return separable[pair]

    def decision(kind: str, chosen: dict, rivals: list[dict], **where) -> dict:
        return {"task": chosen["task"], "metric": metric, "decision": kind, **where, "chosen": describe(chosen),
                "configurations": [key(r) for r in (chosen, *rivals)]}  # fmt: skip

    out = []
    for task in sorted(summary["task"].unique()):
        rows, winners = summary.filter(pl.col("task") == task), set()
        for cost in (c for c in COST_AXES if c in rows.columns):
            ranked = _ranked(rows, metric, cost)
            for budget in sorted(set(ranked[cost].to_list())):
                within = _within(ranked, cost, budget)
                winner = within.row(0, named=True)
                winners.add(_key(winner)[1:4])
                bests = within.group_by("model", maintain_order=True).first().to_dicts()  # each model's best
                rivals = [r for r in bests if r["model"] != winner["model"] and not apart(winner, r)]
                if rivals:
                    out.append(decision("best within budget", winner, rivals, cost_axis=cost, budget=budget))
        for _, group in _ranked(rows, metric).group_by(["model", "sampler", "steps"], maintain_order=True):
            chosen, *others = group.to_dicts()
            rivals = [r for r in others if not apart(chosen, r)]
            if rivals and _key(chosen)[1:4] in winners:
                out.append(decision("guidance", chosen, rivals, cost_axis=None, budget=None))
    return out


def plan(
    summary: pl.DataFrame,
    per_image: pl.DataFrame,
    metrics: list[str],
    images: dict[str, int],
    caps: dict[str, int],
    reps: int,
    looks: int,
    round_: int,
    tolerance: dict | None = None,
) -> dict:
    """Return round `round_`'s plan: its images per configuration, the unresolved decisions, and the configurations
    below their cap (`caps`: the task's num_images) that any of them rests on, which get their next level;
    `tolerance` (config refine.tolerance, per metric) settles decisions whose choice is provably within it."""
    level = adjusted_level(looks)
    unresolved = [d for m in metrics if m in summary.columns
                  for d in decisions(summary, per_image, m, reps, level, (tolerance or {}).get(m))]  # fmt: skip
    wanted = {name for d in unresolved for name in d["configurations"]}
    return {
        "round": round_,
        "looks": looks,
        "level": level,
        "images": dict(sorted(images.items())),
        "refine": sorted(name for name in wanted if images[name] < caps[name]),
        "unresolved": unresolved,
    }


REFINEMENT_SCHEMA = {
    "round": pl.Int64, "configurations": pl.Int64, "configurations_grown": pl.Int64, "images_spent": pl.Int64,
    "images_total": pl.Int64, "uniform_images": pl.Int64, "unresolved_decisions": pl.Int64,
    "unresolved_at_cap": pl.Int64, "refined_next": pl.Int64, "refined_next_configurations": pl.String,
    "looks": pl.Int64, "level": pl.Float64,
}  # fmt: skip


def refinement_table(plans: list[dict], caps: dict[str, int]) -> pl.DataFrame:
    """Return one row per round: the images it spent and in all, the configurations that grew, the decisions left
    unresolved (and how many of those rest only on configurations at their cap), the configurations refined next,
    the images of the uniform design that gives every configuration its cap, and the looks and interval level."""
    rows, before = [], {}
    for plan in plans:
        images = plan["images"]
        at_cap = [d for d in plan["unresolved"] if all(images[c] >= caps[c] for c in d["configurations"])]
        rows.append({
            "round": plan["round"], "configurations": len(images),
            "configurations_grown": sum(n > before.get(c, 0) for c, n in images.items()),
            "images_spent": sum(n - before.get(c, 0) for c, n in images.items()),
            "images_total": sum(images.values()), "uniform_images": sum(caps[c] for c in images),
            "unresolved_decisions": len(plan["unresolved"]), "unresolved_at_cap": len(at_cap),
            "refined_next": len(plan["refine"]), "refined_next_configurations": " ".join(plan["refine"]),
            "looks": plan["looks"], "level": plan["level"],
        })  # fmt: skip
        before = images
    return pl.DataFrame(rows, schema=REFINEMENT_SCHEMA)
