"""Adaptive refinement's rounds: how many images each configuration has in each round, from the plans.

Imports nothing heavy: the Snakefile reads these when it builds the DAG. Round 0 gives every configuration the
config's `refine.initial_images`; each round's plan (results/{experiment}/refine/round{r}.json, written by the `refine_plan`
checkpoint, see `ldmscale.refine`) names the configurations that get their next level of images in round r + 1. A
configuration's levels are N0, N0·g, N0·g², … and finally its task's num_images; its images are always the first n
of the task's indices, so they stay paired with every other configuration's.
"""

from __future__ import annotations

from .paths import CONFIGURATION, fmt_guidance

ROUND = "refine/round{round}.json"  # in the experiment's results folder
REFINEMENT = "frontier/refinement.csv"


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
    """Return {configuration: images} in the round after `plan`'s: its planned configurations one level up."""
    images = dict(plan["images"])
    for name in plan["refine"]:
        counts = levels(refine, tasks[task_of(name)]["num_images"])
        images[name] = counts[counts.index(images[name]) + 1]
    return images
