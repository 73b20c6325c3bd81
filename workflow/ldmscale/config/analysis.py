"""Checks of the analysis settings, the frontier's and the refinement's: each raises ValueError naming the field."""

from __future__ import annotations


def _check_frontier(config: dict) -> None:
    frontier = config["frontier"]
    for axis, edges in frontier["budgets"].items():
        if any(b <= a for a, b in zip(edges, edges[1:])):
            raise ValueError(f"config: frontier.budgets.{axis}: {edges} must be strictly increasing")
    guidance = frontier["grid_guidance"]
    if guidance is not None and guidance not in config["guidance"]:
        raise ValueError(f"config: frontier.grid_guidance: {guidance} is not one of guidance {config['guidance']}")
    used = _metrics_used(config)
    tolerances = {
        "frontier": frontier.get("tolerance", {}),
        "refine": (config.get("refine") or {}).get("tolerance", {}),
    }
    for section, metric in ((s, m) for s, t in tolerances.items() for m in t):
        if metric not in used:
            raise ValueError(
                f"config: {section}.tolerance.{metric}: not a metric of any task; metrics: {', '.join(used)}"
            )
    for task_name, task in config["tasks"].items():
        if frontier["grid_images"] > task["num_images"]:
            raise ValueError(
                f"config: frontier.grid_images ({frontier['grid_images']}) exceeds tasks.{task_name}.num_images ({task['num_images']})"
            )


def _check_refine(config: dict) -> None:
    """Refinement's levels must fall on shard boundaries, the sample grids within round 0's images, and every metric
    needs a tolerance."""
    refine = config["refine"]
    if refine is None:
        return
    for task_name, task in config["tasks"].items():
        where = f"tasks.{task_name}"
        if refine["initial_images"] % task["shard_size"]:
            raise ValueError(
                f"config: refine.initial_images ({refine['initial_images']}) must be a multiple of {where}.shard_size "
                f"({task['shard_size']}), so that every level holds the uniform design's images, batch for batch"
            )
        if refine["initial_images"] > task["num_images"]:
            raise ValueError(
                f"config: refine.initial_images ({refine['initial_images']}) exceeds {where}.num_images "
                f"({task['num_images']}), the most images a configuration gets"
            )
    if config["frontier"]["grid_images"] > refine["initial_images"]:
        raise ValueError(
            f"config: frontier.grid_images ({config['frontier']['grid_images']}) exceeds refine.initial_images "
            f"({refine['initial_images']}): the sample grids show images every configuration has"
        )
    used = _metrics_used(config)
    for metric in (m for m in used if m not in refine.get("tolerance", {})):
        raise ValueError(
            f"config: refine.tolerance.{metric}: missing; refinement needs, for every metric it decides on "
            f"({', '.join(used)}), the smallest difference you would act on, in the metric's own units: without one, "
            "near-ties are chased to the cap and refinement saves little (docs/refinement.md)"
        )


def _metrics_used(config: dict) -> list[str]:
    return sorted({m for task in config["tasks"].values() for m in task["metrics"]})
