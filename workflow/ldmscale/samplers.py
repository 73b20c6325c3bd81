"""Sampler registry: a name in config.yaml maps to one diffusers scheduler class and its options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DIFFUSION, FLOW = "diffusion", "flow"  # what a scheduler integrates: a DDPM-style noise schedule (epsilon, v or
# sample prediction), or flow matching (a velocity). A model's own scheduler says which it was trained for.


@dataclass(frozen=True)
class Sampler:
    """A diffusers scheduler class, its `from_config` options, the pipeline-call options it needs (TCD: eta), and
    the kind of model it fits (DIFFUSION or FLOW)."""

    cls: str
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    call_options: dict[str, Any] = field(default_factory=dict)
    kind: str = DIFFUSION
    shifts: bool = False  # takes a resolution-dependent shift (`mu`, with sigmas) as Flux's scheduler needs

    def identity(self) -> dict:
        """Return what makes this sampler's images what they are (not its description): a rule's params."""
        return {"cls": self.cls, "options": self.options} | ({"call": self.call_options} if self.call_options else {})


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
    "pndm": Sampler(
        "PNDMScheduler",
        {"skip_prk_steps": True},
        "PNDM as Stable Diffusion ships it (PLMS, no Runge-Kutta warm-up): steps + 1 UNet calls above 1 step",
    ),
    "unipc": Sampler("UniPCMultistepScheduler", {}, "UniPC, multistep predictor-corrector: one call per step"),
    "deis": Sampler("DEISMultistepScheduler", {}, "DEIS, multistep exponential integrator: one call per step"),
    "lms": Sampler("LMSDiscreteScheduler", {}, "linear multistep (k-diffusion LMS): one call per step"),
    "lcm": Sampler(
        "LCMScheduler", {}, "latent consistency sampling, for LCM-distilled models (LCM, LCM-LoRA): one call per step"
    ),
    "tcd": Sampler(
        "TCDScheduler",
        {},
        "trajectory consistency distillation sampling, gamma (the pipeline's eta) 0.3 as its authors recommend",
        {"eta": 0.3},
    ),
    "flow_euler": Sampler(
        "FlowMatchEulerDiscreteScheduler",
        {},
        "flow matching, Euler (SD3's and Flux's own): one call per step",
        kind=FLOW,
        shifts=True,
    ),
    "flow_heun": Sampler(
        "FlowMatchHeunDiscreteScheduler", {}, "flow matching, Heun, second order: 2 × steps − 1 calls", kind=FLOW
    ),
}


def kind_of(scheduler_class: str) -> str:
    """Return what a model's scheduler class integrates: FLOW for diffusers' flow-matching schedulers, else
    DIFFUSION."""
    return FLOW if scheduler_class.startswith("FlowMatch") else DIFFUSION


def _fits(sampler: Sampler, scheduler_config: dict) -> bool:
    """Whether `sampler` integrates what a model's scheduler (its config) does: its kind, and the resolution-dependent
    shift where a flow scheduler uses one."""
    kind = kind_of(scheduler_config.get("_class_name", ""))
    shifting = bool(scheduler_config.get("use_dynamic_shifting")) and kind == FLOW
    return sampler.kind == kind and (sampler.shifts or not shifting)


def check_fits(name: str, scheduler_config: dict, model: str) -> None:
    """Raise ValueError naming the sampler and the model unless sampler `name` integrates what the model's own
    scheduler (its config: `_class_name`, `use_dynamic_shifting`) does: a flow-matching model takes only flow-matching
    samplers, and the reverse; a scheduler that shifts its timesteps with the resolution (Flux's) only samplers that
    take the shift."""
    entry, scheduler_class = get(name), scheduler_config.get("_class_name", "")
    if not _fits(entry, scheduler_config):
        kind = kind_of(scheduler_class)
        fitting = sorted(n for n, s in SAMPLERS.items() if _fits(s, scheduler_config))
        why = (
            f"is a {entry.kind} sampler, but model {model!r} was trained for {kind} (its scheduler is {scheduler_class})"
            if entry.kind != kind
            else f"takes no resolution-dependent shift, which the scheduler of model {model!r} ({scheduler_class}) "
            "uses (use_dynamic_shifting)"
        )
        raise ValueError(f"sampler {name!r} ({entry.cls}) {why}; samplers that fit it: {', '.join(fitting)}")


def fits(name: str, scheduler_config: dict) -> bool:
    """Return whether sampler `name` fits a model whose scheduler config is `scheduler_config` (`check_fits`)."""
    return _fits(get(name), scheduler_config)


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
    check_fits(name, {"_class_name": "DDPMScheduler", **base_config}, base_config.get("_name_or_path") or "this model")
    return getattr(diffusers, entry.cls).from_config(dict(base_config), **entry.options)


def expected_nfe(name: str, steps: int, base_config: dict) -> int:
    """Return the number of UNet calls the sampler makes for `steps` steps (Heun: 2·steps − 1)."""
    sched = scheduler(name, base_config)
    sched.set_timesteps(steps)
    return len(sched.timesteps)
