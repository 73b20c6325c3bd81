"""The frontier README's section on an adaptively refined sweep: what its rounds spent against the uniform design
(results/{experiment}/frontier/refinement.csv, `refine.refinement_table`) and what the decisions it left open at their
cap would need (refinement_open.csv, `refine.open_decisions`)."""

from __future__ import annotations

import polars as pl

from .uncertainty import LEVEL, adjusted_level


def refinement_lines(refinement: pl.DataFrame, open_decisions: pl.DataFrame | None = None) -> list[str]:
    """Return the README's section on an adaptively refined sweep: its rounds (refinement.csv) and, when given, the
    decisions it left open (refinement_open.csv)."""
    last, looks = refinement.row(-1, named=True), looks_of(refinement)
    share = last["images_total"] / last["uniform_images"]
    return [
        "## Adaptive refinement",
        "",
        f"- Rounds: {refinement.height}, one row each in refinement.csv.",
        f"- Images: {last['images_total']:,}, {share:.0%} of the {last['uniform_images']:,} of the uniform design (every "
        "configuration at its task's num_images).",
        f"- Decisions still unresolved: {last['unresolved_decisions']}, {last['unresolved_at_cap']} of them with every "
        "configuration they rest on at its cap.",
        *_open_lines(open_decisions),
        *_sampling_lines(last),
        *_tally_lines(refinement),
        f"- Intervals: two configurations can be compared at {looks} image counts, so each margin's paired interval is "
        f"at {adjusted_level(looks):.4g} (Bonferroni over the looks). Whichever round stopped a comparison, its interval "
        f"holds at {LEVEL:.0%} (a repeated confidence interval). Each configuration's own score interval is 95% at the "
        "images it has.",
    ]


def _open_lines(open_decisions: pl.DataFrame | None) -> list[str]:
    """What the decisions left open at their cap would need, per metric: more images or a coarser tolerance."""
    if open_decisions is None:
        return []
    at_cap = open_decisions.filter(pl.col("at_cap"))
    if at_cap.is_empty():
        return []
    parts = []
    for (metric,), rows in at_cap.group_by("metric", maintain_order=True):
        need = rows["needed_images"].drop_nulls()
        estimate = (
            "none estimated" if need.is_empty() else f"about {need.median():,.0f} ({need.min():,} to {need.max():,})"
        )
        parts.append(f"{metric} {rows.height}, {estimate}")
    return [
        "- Open at the cap, with the images per configuration that would settle them (the median and range of the "
        f"decisions' estimates): {'; '.join(parts)}. Each estimate holds its comparisons' margins and spreads as they "
        "are; a larger num_images or a coarser tolerance settles them (refinement_open.csv lists each)."
    ]


def _sampling_lines(last: dict) -> list[str]:
    """The generate jobs and their wall time against the uniform design's (none for a record without them)."""
    if last.get("generate_jobs") is None:
        return []
    jobs = f"- Sampling: {last['generate_jobs']} generate jobs, against {last['uniform_generate_jobs']} for the uniform design"
    if last.get("generate_seconds") is None:
        return [jobs + "."]
    uniform, one = last["uniform_generate_seconds"], last.get("uniform_generate_seconds_one_shard")
    return [
        f"{jobs}; {last['generate_seconds']:,.0f} s of generate jobs' wall time (summed over jobs), against about "
        f"{uniform:,.0f} s for the uniform design, or {one:,.0f} s in one shard per configuration (estimated from these "
        "jobs: a fixed cost per job and each configuration's seconds per image). Features, scores and plans come on "
        "top, per job."
    ]


def _tally_lines(refinement: pl.DataFrame) -> list[str]:
    """The last plan's tally of its decisions, and the configurations each round refined (each a chain of jobs);
    nothing for a record written before the tally (its columns null)."""
    last = refinement.row(-1, named=True)
    if last.get("decisions_resolved") is None:
        return []
    refined = [n for n in refinement["refined_next"].to_list() if n]
    return [
        f"- Decisions at the end: {last['decisions_resolved']} resolved, {last['decisions_settled']} settled within the "
        f"tolerance, {last['unresolved_decisions']} open; rivals eliminated (separable from their decision's choice): "
        f"{last['rivals_eliminated']}.",
        f"- Configurations given more images, round by round: {', '.join(map(str, refined)) or 'none'} "
        f"({sum(refined)} in all, each to the first level that holds what its decisions need).",
    ]


def looks_of(refinement: pl.DataFrame) -> int:
    """How many image counts a comparison can be made at (the refinement's looks)."""
    return int(refinement["looks"][0])
