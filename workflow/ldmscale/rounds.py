"""Adaptive refinement's rounds: how many images each configuration has in each round, from the plans.

Imports nothing heavy: the Snakefile reads these when it builds the DAG. Round 0 gives every configuration the
config's `refine.initial_images`; each round's plan (results/{experiment}/refine/round{r}.json, written by the `refine_plan`
checkpoint, see `ldmscale.refine`) names the configurations that get more images in round r + 1, and how many their
decisions need: each goes to the first level that holds them, at least one level up. A configuration's levels are N0,
N0·g, N0·g², … and finally its task's num_images; its images are always the first n of the task's indices, so they stay
paired with every other configuration's, and it is compared at no more counts than there are levels.
"""

from __future__ import annotations

from .paths import CONFIGURATION, fmt_guidance

ROUND = "refine/round{round}.json"  # in the experiment's results folder
REFINEMENT = "frontier/refinement.csv"
OPEN = "frontier/refinement_open.csv"  # the decisions the last round leaves open


def key(config: dict) -> str:
    """Return the name of a configuration in the plans: its results path, 'task/model/sampler/s{steps}_g{guidance}'."""
    return CONFIGURATION.format(**{**config, "guidance": fmt_guidance(config["guidance"])})


def task_of(name: str) -> str:
    return name.split("/", 1)[0]


def levels(refine: dict, num_images: int) -> list[int]:
    """Return the image counts a configuration of a task with `num_images` can have, smallest first."""
    counts, n = [], refine["initial_images"]
    while n < num_images:
        counts.append(n)
        n *= refine["growth"]
    return [*counts, num_images]


def looks(refine: dict, tasks: dict) -> int:
    """Return the most image counts at which two configurations can be compared (the looks at the data)."""
    return max(len(levels(refine, t["num_images"])) for t in tasks.values())


def initial(configs: list[dict], refine: dict, tasks: dict) -> dict[str, int]:
    """Return {configuration: images} in round 0: the first level everywhere."""
    return {key(c): levels(refine, tasks[c["task"]]["num_images"])[0] for c in configs}


def advance(plan: dict, refine: dict, tasks: dict) -> dict[str, int]:
    """Return {configuration: images} in the round after `plan`'s: each planned configuration at the first level that
    holds the images its decisions need (`needed_images`, estimated by the plan), and at least one level up."""
    images = dict(plan["images"])
    needed = plan.get("needed_images", {})  # a plan written before 0.4.0 has none: one level up
    for name in plan["refine"]:
        above = [n for n in levels(refine, tasks[task_of(name)]["num_images"]) if n > images[name]]
        images[name] = next((n for n in above if n >= needed.get(name, 0)), above[-1])
    return images
