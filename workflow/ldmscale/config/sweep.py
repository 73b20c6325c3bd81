"""The sweep a config describes: its models and where each comes from, and its configurations."""

from __future__ import annotations

from itertools import product

from ..paths import BASELINE, fmt_guidance

SOURCES = ("toy", "local", "hub", "architecture")
SWEEP_AXES = ("samplers", "steps", "guidance")  # a model entry may set its own; the sweep's lists stand in otherwise


def toy_students(config: dict) -> dict[str, str]:
    """Return {student: teacher} for the toy models the workflow distils (toy entries with `distilled_from`)."""
    return {m["name"]: m["distilled_from"] for m in config["models"] if "toy" in m and m.get("distilled_from")}


def teachers(config: dict) -> dict[str, str]:
    """Return {student: teacher} for every model whose entry names `distilled_from`."""
    return {m["name"]: m["distilled_from"] for m in config["models"] if m.get("distilled_from")}


def generating_models(config: dict) -> list[str]:
    """Return the names of the models that generate images (all but the architecture-only and predicted ones)."""
    return [m["name"] for m in config["models"] if "architecture" not in m and not m.get("predict")]


def predicted_models(config: dict) -> list[str]:
    """Return the names of the models whose scores the scaling law predicts (`predict: true`): counted, never trained,
    generated or scored."""
    return [m["name"] for m in config["models"] if m.get("predict")]


def cost_resolution(config: dict) -> int | None:
    """Return the largest image side any task asks for (None: each model's own), at which cost is measured; a
    super-resolution task's is its crop (the model's input is crop / scale)."""
    sides = [t["super_resolution"]["crop"] if t["kind"] == "super_resolution" else t["resolution"]
             for t in config["tasks"].values()]  # fmt: skip
    return max((side for side in sides if side), default=None)


def model_sweep(config: dict, name: str) -> dict:
    """Return model `name`'s samplers, steps and guidance scales: its own where its entry sets them, else the sweep's."""
    model = model_entry(config, name)
    return {axis: model.get(axis, config[axis]) for axis in SWEEP_AXES}


def configurations(config: dict) -> list[dict]:
    """Return every (task, model, sampler, steps, guidance) of the sweep, in a stable order; architecture models have none."""
    configs = []
    for t, m in product(sorted(config["tasks"]), generating_models(config)):
        axes = model_sweep(config, m)
        configs += [
            {"task": t, "model": m, "sampler": s, "steps": n, "guidance": fmt_guidance(g)}
            for s, n, g in product(axes["samplers"], sorted(axes["steps"]), sorted(axes["guidance"]))
        ]
    return configs


def baselines(config: dict) -> list[dict]:
    """Return the configuration of every baseline of every super-resolution task (paths.BASELINE); none in a refined
    sweep, whose rounds score configurations on their first images only."""
    if config.get("refine"):
        return []
    return [
        {"task": t, "model": method, "sampler": BASELINE, "steps": 0, "guidance": fmt_guidance(1.0)}
        for t in sorted(config["tasks"])
        if config["tasks"][t].get("kind") == "super_resolution"
        for method in config["tasks"][t]["super_resolution"].get("baselines", [])
    ]


def sample_grids(config: dict) -> dict[tuple[str, str], dict[str, list[int]]]:
    """Return the sample grids, (sampler, guidance) → their rows, model → step counts.

    Every sampler some model sweeps has a grid at frontier.grid_guidance (else the sweep's largest
    scale); a model whose own guidance scales lack it appears at its largest own scale instead.
    """
    wanted = config["frontier"]["grid_guidance"] or max(config["guidance"])
    grids: dict[tuple[str, str], dict[str, list[int]]] = {}
    for name in generating_models(config):
        axes = model_sweep(config, name)
        guidance = fmt_guidance(wanted if wanted in axes["guidance"] else max(axes["guidance"]))
        for sampler in axes["samplers"]:
            grids.setdefault((sampler, guidance), {})[name] = sorted(axes["steps"])
    return grids


def model_entry(config: dict, name: str) -> dict:
    """Return the config entry of model `name`."""
    for model in config["models"]:
        if model["name"] == name:
            return model
    raise ValueError(f"unknown model {name!r}")


def source_entry(model: dict) -> dict:
    """Return the part of a model entry that names where its pipeline comes from: its base for a LoRA model."""
    return model.get("base", model)


def source(model: dict) -> str:
    """Return which source kind a model entry's pipeline uses (a LoRA model's: its base's)."""
    return next(s for s in SOURCES if s in source_entry(model))


def describe_source(model: dict) -> str:
    """Return a model entry's source in words: 'hub nota-ai/bk-sdm-tiny@0364108', 'architecture sd-c64'."""
    if "lora" in model:
        lora = model["lora"]
        where = lora["local"]["path"] if "local" in lora else f"{lora['hub']['repo_id']}@{lora['hub']['revision'][:7]}"
        return f"lora {where} on {describe_source(model['base'])}"
    kind = source(model)
    spec = model[kind]
    if kind == "hub":
        return f"hub {spec['repo_id']}@{spec['revision'][:7]}"
    if kind == "architecture":
        extra = [f"c={spec['base_channels']}"] * bool(spec["base_channels"]) + [
            f"{k}={v}" for k, v in spec["unet"].items()
        ]
        return " ".join([f"architecture {spec['preset']}", *extra]) + (", predicted" if model.get("predict") else "")
    if kind == "toy":
        return f"toy c={spec['width']}" + (", predicted (untrained)" if model.get("predict") else "")
    return f"local {spec['path']}"
