"""Sampler registry: a name in config.yaml maps to one diffusers scheduler class and its options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Sampler:
    cls: str
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""


SAMPLERS: dict[str, Sampler] = {
    "ddim": Sampler("DDIMScheduler", {}, "DDIM, deterministic (eta = 0); the paper's main sampler"),
    "ddpm": Sampler("DDPMScheduler", {}, "ancestral DDPM"),
    "dpmpp_2m": Sampler(
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "dpmsolver++", "solver_order": 2},
        "DPM-Solver++(2M), multistep: one UNet call per step",
    ),
    "euler": Sampler("EulerDiscreteScheduler", {}, "Euler (Karras et al. 2022), one call per step"),
    "euler_a": Sampler("EulerAncestralDiscreteScheduler", {}, "Euler ancestral"),
    "heun": Sampler("HeunDiscreteScheduler", {}, "Heun, second order: 2 × steps − 1 UNet calls"),
}


def get(name: str) -> Sampler:
    """Return the registry entry for `name`, or raise ValueError listing the valid names."""
    try:
        return SAMPLERS[name]
    except KeyError:
        raise ValueError(f"unknown sampler {name!r}; valid samplers: {', '.join(sorted(SAMPLERS))}") from None


def scheduler(name: str, base_config: dict):
    """Return a fresh diffusers scheduler for sampler `name`, built on a model's own scheduler config."""
    import diffusers

    entry = get(name)
    return getattr(diffusers, entry.cls).from_config(dict(base_config), **entry.options)


def expected_nfe(name: str, steps: int, base_config: dict) -> int:
    """Return the number of UNet calls the sampler makes for `steps` steps (Heun: 2·steps − 1)."""
    sched = scheduler(name, base_config)
    sched.set_timesteps(steps)
    return len(sched.timesteps)
