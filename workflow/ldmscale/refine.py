"""Adaptive refinement: the decisions a round leaves unresolved, the plan of which configurations get more images,
and the record of the rounds (results/{experiment}/frontier/refinement.csv).

A decision is one choice the frontier reports, with the configurations it rests on:

- the best model within each budget the frontier README reports, on every cost axis (in the workflow; the library
  defaults to every configuration's own cost, the charts' winners), judged as the frontier judges it: the claim that
  the winner's model beats every other within the budget, family-wise among the claims of its table
  (`frontier.family`). While it is neither resolved nor, with a tolerance, tied within ε, it rests on the pairs its
  family-wise bound rests on: the winner and every configuration of another model within the budget whose pair with
  it is neither separable nor provably within ε, at the family's critical value. A rival configuration left on few
  images is noisy, and keeps the claim open until it has enough: the frontier's verdict, not a weaker pairwise one,
  decides when refinement stops;
- the configuration the frontier reports within each of those budgets, against every other configuration of its
  model within the budget, pairwise: the budget's claim is about the model (its best configuration, whichever that
  is), so it says nothing of which of the model's configurations is best, and where one model fits there is no claim
  at all. Without this, a configuration left on 32 images that happens to score well is reported as the budget's
  choice (on the toy at a cap of 1,024, in 7% of replays one such choice was worse than the best by more than ε);
- the guidance scale chosen per (model, sampler, steps) where that choice wins within some budget: the choice and
  every scale it does not provably beat (the others may cost more, classifier-free guidance doubles the UNet batch).
  Guidance choices nowhere on the frontier, such as a small model's at its most steps, are not refined.

A crossover's two sides are the winners at two adjacent budgets, each against the other model's best within its
budget, so an unresolved crossover is always an unresolved budget decision: its configurations are planned by the
first rule. Every interval is the frontier's paired bootstrap, at the level `uncertainty.adjusted_level` gives for
the number of looks, so that the intervals hold whichever round stops.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl

from .frontier.analysis import _winners, budget_edges, readme_claims
from .frontier.family import judge, weakest
from .frontier.ranking import _finite, _key, _ranked, describe
from .frontier.uncertainty import Sweep, adjusted_level, compare, per_image_values, task_counts
from .paths import COST_AXES, num_shards
from .rounds import key, task_of


def decisions(
    summary: pl.DataFrame,
    per_image: pl.DataFrame,
    metric: str,
    reps: int,
    level: float,
    tolerance: float | None = None,
    tally: dict | None = None,
    budgets: dict | None = None,
) -> list[dict]:
    """Return every decision on `metric` that is not resolved, each with the configurations it rests on.

    A budget decision is judged as the frontier reports it (`_budget_decisions`): its claim, family-wise, among the
    claims of its table. `budgets` ({"edges": config frontier.budgets, "buckets": frontier.buckets}) makes them the
    frontier README's budgets, in the README's family (budgets, crossovers and, with a tolerance, rivals); without it,
    every configuration's own cost, in the charts' family. A configuration decision compares the configuration a
    budget reports with its model's others within the budget, and a guidance decision its choice with each other
    scale, both pairwise. With a `tolerance` ε, a comparison provably within ε (its lower bound above −ε) keeps nothing
    open: a budget decision is settled when its claim's family-wise lower bound is above −ε (tied within ε).

    `tally`, when given, counts every decision with at least one rival: `resolved`, `settled` (tied within ε),
    `open`, and `eliminated`, the rival configurations their decision's choice provably beats."""
    values = per_image_values(per_image, metric)
    counts = task_counts(summary, values, reps, level)
    margins: dict[tuple, dict] = {}

    def margin(a: dict, b: dict) -> dict:
        pair = (_key(a), _key(b))
        if pair not in margins:
            m = compare(a, b, metric, values, counts.get(a["task"]))
            low = m["margin_ci_low"]
            # a rival provably better than the choice keeps it open (the choice's mean rests on fewer images)
            m["beaten"] = bool(m["separable"] and m["margin"] > 0)
            m["apart"] = m["beaten"] or bool(tolerance and low is not None and low > -tolerance)
            both = [values.get(k) for k in pair]
            m["images"] = min(len(v) for v in both) if all(v is not None for v in both) else None
            margins[pair] = m
        return margins[pair]

    def apart(a: dict, b: dict) -> bool:
        """Whether a provably beats b, or, with a tolerance, is provably within ε of it: nothing to refine."""
        return margin(a, b)["apart"]

    def decision(kind: str, chosen: dict, rivals: list[dict], **where) -> dict:
        # the images each configuration needs for this decision: each rival its pair's, the choice the most of them
        need = {key(r): needed_images(margin(chosen, r), tolerance) for r in rivals}
        need[key(chosen)] = max(need.values())
        need = {k: None if math.isinf(n) else math.ceil(n) for k, n in need.items()}  # None: no count will do
        return {"task": chosen["task"], "metric": metric, "decision": kind, **where, "chosen": describe(chosen),
                "configurations": [key(r) for r in (chosen, *rivals)], "needed_images": need}  # fmt: skip

    def counted(kind: str, chosen: dict, others: list[dict], **where) -> list[dict]:
        """Count the decision of `chosen` against `others` and return it in a list when it is open."""
        rivals = [r for r in others if not apart(chosen, r)]
        if tally is not None and others:
            eliminated = sum(margin(chosen, r)["beaten"] for r in others)
            tally["eliminated"] += eliminated
            tally["open" if rivals else "resolved" if eliminated == len(others) else "settled"] += 1
        return [decision(kind, chosen, rivals, **where)] if rivals else []

    out, seen = [], set()
    for task in sorted(summary["task"].unique()):
        rows, winners = summary.filter(pl.col("task") == task), set()
        for cost in (c for c in COST_AXES if c in rows.columns):
            sweep = Sweep.of(rows, cost, metric, values, counts.get(task))
            if sweep.frame.is_empty():
                continue
            if budgets is None:  # the charts' family: every configuration's own cost
                found = _winners(sweep, task, metric, cost, sweep.budgets())
                family = [c for _, c in found if c]
            else:  # the README's family: its budgets, crossovers and (with a tolerance) rivals, judged together
                edges = budgets["edges"].get(cost) or budget_edges(summary.filter(_finite(metric))[cost],
                                                                   budgets["buckets"])  # fmt: skip
                found, _, _, family = readme_claims(sweep, rows, metric, cost, edges, tolerance)
            winners.update(_key(row)[1:4] for row, _ in found)
            out += _budget_decisions(sweep, found, family, metric, values, tolerance, tally)
            for row, _ in found:  # the configuration reported within the budget, against its model's others there
                mine = [sweep.row(i) for i in sweep.within(row["budget"], sweep.of_model(row["model"]))]
                others = [r for r in mine if _key(r) != _key(row)]
                name = (_key(row), tuple(sorted(_key(r) for r in others)))
                if name not in seen:
                    seen.add(name)
                    out += counted("configuration within budget", row, others, cost_axis=cost, budget=row["budget"])
        for _, group in _ranked(rows, metric).group_by(["model", "sampler", "steps"], maintain_order=True):
            chosen, *others = group.to_dicts()
            if _key(chosen)[1:4] in winners:
                out += counted("guidance", chosen, others, cost_axis=None, budget=None)
    return out


def _budget_decisions(
    sweep: Sweep, found: list, family: list, metric: str, values: dict, tolerance: float | None, tally: dict | None
) -> list[dict]:
    """Return the budget decisions of one task and cost axis that the frontier does not settle, judged as the
    frontier judges them: each budget's claim in its `family` (`found`'s claims first), family-wise. A claim is
    settled when it is resolved, or with a tolerance ε when its family-wise lower bound is above −ε (tied within ε).
    An open one rests on the pairs of its bound (`family.weakest`): the configuration that attains it and each rival
    configuration that it neither provably beats nor, with ε, is provably within ε of (a rival provably better keeps
    it open too: its mean rests on more images than the choice's); those get images, each as many as its pair needs
    (`needed_images`), the chosen one the most."""
    verdicts, weakest_pairs = judge(family, sweep, metric, sweep.level), weakest(family, sweep, metric, sweep.level)
    out, claims = [], iter(zip(verdicts, weakest_pairs))
    for row, claim in found:
        if claim is None:  # one model fits: nothing to decide
            continue
        verdict, w = next(claims)
        low = w["d"] - w["reach"]
        settled = verdict["resolved"] or bool(tolerance and verdict["margin_fw_low"] > -tolerance)
        if tally is not None:
            tally["eliminated"] += int((low > 0).sum())
            tally["resolved" if verdict["resolved"] else "settled" if settled else "open"] += 1
        chosen = sweep.row(w["a"])
        rivals = [(sweep.row(b), d, r) for b, d, r in zip(w["b"], w["d"], w["reach"])
                  if not (d - r > 0 or (tolerance and d - r > -tolerance))]  # fmt: skip
        if settled or not rivals:
            continue
        need = {}
        for rival, d, r in rivals:
            both = [values.get(_key(x)) for x in (chosen, rival)]
            n = min(len(v) for v in both) if all(v is not None for v in both) else None
            margin = {"margin": float(d), "margin_ci_low": float(d - r), "margin_ci_high": float(d + r), "images": n}
            need[key(rival)] = needed_images(margin, tolerance)
        need[key(chosen)] = max(need.values())
        need = {k: None if math.isinf(n) else math.ceil(n) for k, n in need.items()}  # None: no count will do
        out.append({"task": row["task"], "metric": metric, "decision": "best within budget",
                    "cost_axis": row["cost_axis"], "budget": row["budget"], "chosen": describe(chosen),
                    "configurations": [key(chosen), *(key(r) for r, _, _ in rivals)], "needed_images": need})  # fmt: skip
    return out


def needed_images(margin: dict, tolerance: float | None) -> float:
    """Return how many common images would settle this comparison if its margin and the spread of its per-image
    differences stayed as they are, the interval's half-width shrinking as 1/√n: separable (the interval excludes
    zero) or, with a tolerance ε, provably within ε (its lower bound above −ε). inf where neither can happen (a zero
    margin and no tolerance); 0 where it cannot be told (a set-level metric has no per-image values): the next level.
    """
    m, low, high, n = margin["margin"], margin["margin_ci_low"], margin["margin_ci_high"], margin["images"]
    if low is None or n is None:
        return 0
    below, above = max(m - low, 0.0), max(high - m, 0.0)  # the interval's reach on each side of the margin
    targets = []
    if m > 0:
        targets.append(n * (below / m) ** 2)
    if m < 0:
        targets.append(n * (above / -m) ** 2)
    if tolerance and m + tolerance > 0:
        targets.append(n * (below / (m + tolerance)) ** 2)
    return min(targets, default=math.inf)


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
    budgets: dict | None = None,
) -> dict:
    """Return round `round_`'s plan: its images per configuration, the unresolved decisions, and the configurations
    below their cap (`caps`: the task's num_images) that any of them rests on, which get their next level;
    `tolerance` (config refine.tolerance, per metric) settles decisions whose choice is provably within it;
    `budgets` puts the budget decisions at the frontier README's budgets (`decisions`)."""
    level = adjusted_level(looks)
    tally = dict.fromkeys(("resolved", "settled", "open", "eliminated"), 0)
    unresolved = [d for m in metrics if m in summary.columns
                  for d in decisions(summary, per_image, m, reps, level, (tolerance or {}).get(m), tally, budgets)]  # fmt: skip
    wanted = {name for d in unresolved for name in d["configurations"]}
    refined = sorted(name for name in wanted if images[name] < caps[name])
    need = {name: max(caps[name] if d["needed_images"][name] is None else d["needed_images"][name]
                      for d in unresolved if name in d["needed_images"]) for name in refined}  # fmt: skip
    return {
        "round": round_,
        "looks": looks,
        "level": level,
        "images": dict(sorted(images.items())),
        "refine": refined,
        # the images each refined configuration's decisions need, at most its cap: rounds.advance takes the first
        # level that holds them (at least the next one)
        "needed_images": {name: min(n, caps[name]) for name, n in need.items()},
        "decisions": tally,
        "unresolved": unresolved,
    }


REFINEMENT_SCHEMA = {
    "round": pl.Int64, "configurations": pl.Int64, "configurations_grown": pl.Int64, "images_spent": pl.Int64,
    "images_total": pl.Int64, "uniform_images": pl.Int64, "unresolved_decisions": pl.Int64,
    "unresolved_at_cap": pl.Int64, "decisions_resolved": pl.Int64, "decisions_settled": pl.Int64,
    "rivals_eliminated": pl.Int64, "refined_next": pl.Int64, "refined_next_configurations": pl.String,
    "looks": pl.Int64, "level": pl.Float64, "generate_jobs": pl.Int64, "uniform_generate_jobs": pl.Int64,
    "generate_seconds": pl.Float64, "uniform_generate_seconds": pl.Float64,
    "uniform_generate_seconds_one_shard": pl.Float64,
}  # fmt: skip
SAMPLING_COLUMNS = [c for c in REFINEMENT_SCHEMA if c.startswith(("generate_", "uniform_generate_"))]


OPEN_SCHEMA = {
    "task": pl.String, "metric": pl.String, "decision": pl.String, "cost_axis": pl.String, "budget": pl.Float64,
    "chosen": pl.String, "rivals": pl.Int64, "images": pl.Int64, "at_cap": pl.Boolean, "needed_images": pl.Int64,
}  # fmt: skip


def _at_cap(decision: dict, images: dict[str, int], caps: dict[str, int]) -> bool:
    """Whether every configuration an open decision rests on holds its cap: no more images can settle it."""
    return all(images[c] >= caps[c] for c in decision["configurations"])


def open_decisions(plan: dict, caps: dict[str, int]) -> pl.DataFrame:
    """Return one row per decision the round of `plan` leaves open: what it decides (a budget's model, its
    configuration, or a guidance scale), its choice and how many rival configurations keep it open, the fewest images
    any of its configurations holds, whether every one of them is at its cap (`caps`), and the images per
    configuration its comparisons would need to settle if their margins and spreads stayed as they are (`needed_images`, the choice's: the most of its rivals'; null where no
    count will do, a zero margin without a tolerance, or where it cannot be told, a metric without per-image values).
    Those at their cap say what more images, or a coarser tolerance, would buy."""
    images, rows = plan["images"], []
    for d in plan["unresolved"]:
        chosen, *rivals = d["configurations"]
        need = d["needed_images"][chosen]
        rows.append({"task": d["task"], "metric": d["metric"], "decision": d["decision"], "cost_axis": d["cost_axis"],
                     "budget": d["budget"], "chosen": d["chosen"], "rivals": len(rivals),
                     "images": min(images[c] for c in d["configurations"]),
                     "at_cap": _at_cap(d, images, caps),
                     "needed_images": need or None})  # fmt: skip
    return pl.DataFrame(rows, schema=OPEN_SCHEMA)


def refinement_table(
    plans: list[dict],
    caps: dict[str, int],
    shard_sizes: dict[str, int] | None = None,
    seconds: dict[str, dict[int, float]] | None = None,
) -> pl.DataFrame:
    """Return one row per round: the images it spent and in all, the configurations that grew, the decisions left
    unresolved (and how many of those rest only on configurations at their cap), resolved and settled within the
    tolerance, the rivals eliminated (their decision's choice provably beats them), the configurations refined next,
    the images of the uniform design that gives every configuration its cap, and the looks and interval level.

    With `shard_sizes` (per task, its shard_size) each row also counts the generate jobs made so far, one per round
    that gave a configuration more images, against the uniform design's (its cap in shards of shard_size); with
    `seconds` ({configuration: {shard: wall seconds}}, the generate jobs' benchmark records), their wall time so
    far, against an estimate of the uniform design's from the same records (`job_cost`: a fixed cost per job and each
    configuration's seconds per image), in shards of shard_size and in one shard per configuration (None where a
    record is missing)."""
    rows, before, visits = [], {}, {}
    for plan in plans:
        images = plan["images"]
        for c, n in images.items():
            if not visits.get(c) or n > visits[c][-1]:
                visits.setdefault(c, []).append(n)
        at_cap = [d for d in plan["unresolved"] if _at_cap(d, images, caps)]
        tally = plan.get("decisions", {})  # a plan written before 0.4.0 has no tally: its columns are null
        rows.append({
            "round": plan["round"], "configurations": len(images),
            "configurations_grown": sum(n > before.get(c, 0) for c, n in images.items()),
            "images_spent": sum(n - before.get(c, 0) for c, n in images.items()),
            "images_total": sum(images.values()), "uniform_images": sum(caps[c] for c in images),
            "unresolved_decisions": len(plan["unresolved"]), "unresolved_at_cap": len(at_cap),
            "decisions_resolved": tally.get("resolved"), "decisions_settled": tally.get("settled"),
            "rivals_eliminated": tally.get("eliminated"),
            "refined_next": len(plan["refine"]), "refined_next_configurations": " ".join(plan["refine"]),
            "looks": plan["looks"], "level": plan["level"], **_sampling(visits, caps, shard_sizes, seconds),
        })  # fmt: skip
        before = images
    return pl.DataFrame(rows, schema=REFINEMENT_SCHEMA)


def _sampling(visits: dict[str, list[int]], caps: dict, shard_sizes: dict | None, seconds: dict | None) -> dict:
    """The generate jobs and their wall seconds that each configuration's image counts so far (`visits`, shard k
    holding the images from count k − 1 to count k) took, and the uniform design's (see refinement_table)."""
    out = dict.fromkeys(SAMPLING_COLUMNS)
    if shard_sizes is None:
        return out
    jobs = {c: num_shards(caps[c], shard_sizes[task_of(c)]) for c in visits}
    out["generate_jobs"] = sum(len(v) for v in visits.values())
    out["uniform_generate_jobs"] = sum(jobs.values())
    if seconds is None or any(k not in seconds.get(c, {}) for c, v in visits.items() for k in range(len(v))):
        return out
    shards = {c: [(n - (v[k - 1] if k else 0), seconds[c][k]) for k, n in enumerate(v)] for c, v in visits.items()}
    out["generate_seconds"] = sum(s for c in shards for _, s in shards[c])
    fixed, per_image = job_cost(shards)
    out["uniform_generate_seconds"] = sum(fixed * jobs[c] + per_image[c] * caps[c] for c in visits)
    out["uniform_generate_seconds_one_shard"] = sum(fixed + per_image[c] * caps[c] for c in visits)
    return out


def job_cost(shards: dict[str, list[tuple[int, float]]]) -> tuple[float, dict[str, float]]:
    """Return a generate job's fixed seconds (process start, imports, loading the model: the median intercept of the
    configurations with shards of two sizes, their smallest and largest; 0 where none has) and each configuration's
    seconds per image (its largest shard's, less the fixed seconds), from {configuration: [(images, seconds)]}."""
    intercepts = []
    for sizes in shards.values():
        (n0, s0), (n1, s1) = min(sizes), max(sizes)
        if n1 > n0:
            intercepts.append(s0 - (s1 - s0) / (n1 - n0) * n0)
    fixed = max(float(np.median(intercepts)), 0.0) if intercepts else 0.0
    return fixed, {c: max(max(sizes)[1] - fixed, 0.0) / max(sizes)[0] for c, sizes in shards.items()}


def generate_seconds(benchmarks: str | Path, configurations) -> dict[str, dict[int, float]]:
    """Return {configuration: {shard: wall seconds}} from the generate jobs' benchmark records under `benchmarks`
    (results/{experiment}/benchmarks/generate: {configuration}/shard{k}.tsv, Snakemake's `s` column); a shard whose
    record is missing or unreadable is left out."""
    out = {}
    for name in configurations:
        for tsv in sorted(Path(benchmarks, name).glob("shard*.tsv")):
            try:
                seconds = float(pl.read_csv(tsv, separator="\t")["s"][0])
            except (OSError, ValueError, pl.exceptions.PolarsError, IndexError):
                continue
            out.setdefault(name, {})[int(tsv.stem.removeprefix("shard"))] = seconds
    return out
