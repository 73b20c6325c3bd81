"""Checks of config.yaml that a JSON schema cannot express: each raises ValueError naming the field."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .. import architectures, models, samplers, scoring
from ..paths import BASELINES, PAIRED_EXTRACTORS, fmt_guidance
from .analysis import _check_frontier, _check_refine
from .available import _extractors_used
from .sweep import SOURCES, SWEEP_AXES, generating_models, model_entry, model_sweep, source, source_entry

GUIDANCE_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")


def _check_toy_kind(config: dict, model: dict, where: str) -> None:
    """Raise ValueError unless a toy model does the kind of task the sweep's tasks are (every model does every task)."""
    if "toy" not in model:
        return
    kind = model["toy"]["kind"]
    tasks = sorted({t["kind"] for t in config["tasks"].values()})
    if len(tasks) == 1 and tasks != [kind]:  # several kinds: _check_task_kinds names the tasks
        raise ValueError(f"config: {where}: toy.kind {kind} cannot do the sweep's tasks ({', '.join(tasks)})")
    if kind == "super_resolution" and model.get("distilled_from"):
        raise ValueError(f"config: {where}: toy super-resolution members are not distilled; remove distilled_from")


def _check_toy_student(config: dict, model: dict, where: str) -> None:
    """Raise ValueError unless a toy student's teacher is a trained toy member of the same width."""
    teacher = model_entry(config, model["distilled_from"])
    if "toy" not in teacher or teacher.get("distilled_from"):
        raise ValueError(
            f"config: {where}: a toy model's distilled_from must name a toy model that is trained, not distilled; "
            f"{teacher['name']!r} is not one"
        )
    if teacher["toy"]["width"] != model["toy"]["width"]:
        raise ValueError(
            f"config: {where}: toy.width {model['toy']['width']} differs from its teacher "
            f"{teacher['name']!r}'s {teacher['toy']['width']}; a student keeps its teacher's architecture"
        )


def check(config: dict) -> None:
    """Raise ValueError naming the field when config.yaml is inconsistent; the schema has run before."""
    names, generating = [m["name"] for m in config["models"]], generating_models(config)
    for i, model in enumerate(config["models"]):
        where = f"models[{i}] ({model['name']!r})"
        entry, prefix = source_entry(model), "base." if "lora" in model else ""
        _check_sources(model, where)
        _check_predicted(model, where)
        if names.count(model["name"]) > 1:
            raise ValueError(f"config: {where}: duplicate model name; model names must be unique")
        if model["name"] in BASELINES:
            raise ValueError(f"config: {where}: {model['name']!r} names a super-resolution baseline; rename the model")
        if "local" in entry:
            path = Path(entry["local"]["path"])
            if not path.is_dir():
                raise ValueError(
                    f"config: {where}: {prefix}local.path {str(path)!r} does not exist; expected a diffusers "
                    "pipeline directory"
                )
            try:
                models.validate_pipeline_dir(path)
            except ValueError as err:
                raise ValueError(f"config: {where}: {prefix}local.path: {err}") from None
            scheduler = path / "scheduler" / "scheduler_config.json"
            if scheduler.is_file():
                _check_samplers_fit(config, model, where, json.loads(scheduler.read_text()))
        if "toy" in model:
            _check_samplers_fit(config, model, where, {"_class_name": "DDPMScheduler"})  # the toy's noise schedule
        if "architecture" in model:
            check_architecture(model["architecture"], where, config["cost"]["latency"])
        if "hub" in entry:
            _check_revision(f"{where}: {prefix}hub.revision", entry["hub"]["revision"])
        if "lora" in model:
            _check_lora(model["lora"], where)
        teacher = model.get("distilled_from")
        if teacher is not None and (teacher == model["name"] or teacher not in generating):
            raise ValueError(
                f"config: {where}: distilled_from {teacher!r} is not another model that generates in this sweep; "
                f"models: {', '.join(n for n in generating if n != model['name'])}"
            )
        if teacher is not None and "toy" in model:
            _check_toy_student(config, model, where)
        _check_toy_kind(config, model, where)
    if generating_models(config) and not config["tasks"] and not config["train_toy"]:
        raise ValueError(
            "config: tasks: at least one task is needed when a model generates (only architecture models, and a "
            "train_toy run that only trains the toy family, do not)"
        )
    if not config["cost"]["latency"] and generating_models(config):
        raise ValueError(
            "config: cost.latency: false is only for architecture-only sweeps; the frontier's latency axis needs it"
        )
    _check_axes(config, "")
    distill = config["toy"]["distill"]
    if distill["w_min"] > distill["w_max"]:
        raise ValueError(f"config: toy.distill.w_min ({distill['w_min']}) is above w_max ({distill['w_max']})")
    for i, model in enumerate(config["models"]):
        _check_axes(model, f"models[{i}] ({model['name']!r}).")
        own = [axis for axis in SWEEP_AXES if axis in model]
        if "architecture" in model and own:
            raise ValueError(
                f"config: models[{i}] ({model['name']!r}): {', '.join(own)} "
                "is for models that generate; an architecture model is only costed"
            )
    for task_name, task in config["tasks"].items():
        where = f"tasks.{task_name}"
        for i, name in enumerate(task["metrics"]):
            try:
                scoring.get(name)
            except ValueError as err:
                raise ValueError(f"config: {where}.metrics[{i}]: {err}") from None
        if task["shard_size"] % task["batch_size"]:
            raise ValueError(
                f"config: {where}.shard_size ({task['shard_size']}) must be a multiple of batch_size "
                f"({task['batch_size']}), so that sharding never changes an image"
            )
        check_task_data(where, task, config["toy"]["image_size"])
    _check_task_kinds(config)
    check_extractors(config)
    reference = config["cost"]["reference_model"]
    if reference is not None and reference not in names:
        raise ValueError(f"config: cost.reference_model: {reference!r} is not a model name; models: {', '.join(names)}")
    if config["cost"]["latency_batch"] not in config["cost"]["batch_sizes"]:
        raise ValueError(
            f"config: cost.latency_batch ({config['cost']['latency_batch']}) must be one of cost.batch_sizes"
        )
    if config["cost"]["compile"] and config["cost"]["warmup"] < 1:
        raise ValueError("config: cost.warmup must be at least 1 with cost.compile: the first call compiles")
    for i, check_config in enumerate(config["cost"]["end_to_end"]):
        try:
            samplers.get(check_config["sampler"])
        except ValueError as err:
            raise ValueError(f"config: cost.end_to_end[{i}].sampler: {err}") from None
    _check_frontier(config)
    _check_refine(config)


def _check_samplers_fit(config: dict, model: dict, where: str, scheduler_config: dict) -> None:
    """Raise ValueError naming the field unless every sampler the model is swept with fits its own scheduler (flow
    matching or a diffusion noise schedule, and a resolution-dependent shift): `samplers.check_fits`."""
    field = f"{where}.samplers" if "samplers" in model else f"samplers (for {where})"
    known = [n for n in model_sweep(config, model["name"])["samplers"] if n in samplers.SAMPLERS]  # _check_axes: others
    for name in known:
        try:
            samplers.check_fits(name, scheduler_config, model["name"])
        except ValueError as err:
            raise ValueError(f"config: {field}: {err}") from None


def _check_sources(model: dict, where: str) -> None:
    """Raise ValueError unless the model has exactly one source (a LoRA model: a local or hub base, and the LoRA)."""
    sources = [s for s in SOURCES if s in model]
    if ("base" in model) != ("lora" in model):
        raise ValueError(
            f"config: {where}: base and lora go together: a LoRA model names the pipeline it is fused into (base) "
            "and the LoRA (lora)"
        )
    if "lora" in model:
        if sources:
            raise ValueError(f"config: {where}: a LoRA model's pipeline is its base; move {sources[0]} under base")
        found = [s for s in SOURCES if s in model["base"]]
        if found not in (["local"], ["hub"]):
            raise ValueError(f"config: {where}: base needs exactly one source of local, hub; found {found or 'none'}")
    elif len(sources) != 1:
        raise ValueError(
            f"config: {where}: needs exactly one source of {', '.join(SOURCES)}; found {sources or 'none'}"
        )


def _check_revision(field: str, revision: str) -> None:
    if set(revision) == {"0"}:
        raise ValueError(f"config: {field} is a placeholder (all zeros); pin the commit of the revision you mean")
    if not COMMIT_RE.match(revision):
        raise ValueError(
            f"config: {field} {revision!r} is not a commit hash; pin the full 40-character commit (a branch or tag "
            "can move under you)"
        )


def _check_lora(lora: dict, where: str) -> None:
    """Raise ValueError naming the field unless the LoRA is one pinned hub file or one local file, safetensors only."""
    found = [s for s in ("local", "hub") if s in lora]
    if len(found) != 1:
        raise ValueError(f"config: {where}: lora needs exactly one of local, hub; found {found or 'none'}")
    if "hub" in lora:
        _check_revision(f"{where}: lora.hub.revision", lora["hub"]["revision"])
    field, name = (
        ("lora.local.path", lora["local"]["path"])
        if "local" in lora
        else ("lora.hub.weight_name", lora["hub"]["weight_name"])
    )
    if Path(name).suffix != ".safetensors":
        raise ValueError(
            f"config: {where}: {field} {name!r} is not a .safetensors file; LoRA weights are loaded from safetensors "
            "only (pickle files such as .bin are refused)"
        )
    if "local" in lora and not Path(name).is_file():
        raise ValueError(f"config: {where}: lora.local.path {name!r} does not exist")


def _check_axes(entry: dict, where: str) -> None:
    """Raise ValueError naming the field when the sweep's or one model's samplers or guidance scales are invalid."""
    for i, name in enumerate(entry.get("samplers", [])):
        try:
            samplers.get(name)
        except ValueError as err:
            raise ValueError(f"config: {where}samplers[{i}]: {err}") from None
    for i, value in enumerate(entry.get("guidance", [])):
        if not GUIDANCE_RE.match(fmt_guidance(value)):
            raise ValueError(f"config: {where}guidance[{i}]: {value} cannot be written as a plain decimal")


def _check_predicted(model: dict, where: str) -> None:
    """Raise ValueError unless a `predict: true` entry is a size the law can be asked about: a toy width or an
    architecture, not distilled, not a LoRA, with no sweep axes of its own (it is never sampled)."""
    if not model.get("predict"):
        return
    if source(model) not in ("toy", "architecture") or "lora" in model:
        raise ValueError(
            f"config: {where}: predict: true is for a size nobody trained, given as a toy width or an architecture; "
            f"this entry's source is {source(model)}"
        )
    extra = [f for f in ("distilled_from", *SWEEP_AXES) if f in model]
    if extra:
        raise ValueError(
            f"config: {where}: {', '.join(extra)} is for models that generate; a predicted model is only costed"
        )


def _check_suffix(field: str, path: str | None, suffixes: tuple[str, ...]) -> None:
    if path and Path(path).suffix not in suffixes:
        raise ValueError(f"config: {field}: {path!r} must end in {' or '.join(suffixes)}")


def _check_task_kinds(config: dict) -> None:
    """Raise ValueError naming the field when super-resolution tasks cannot run as configured.

    Every model generates for every task, so a sweep holds one kind of task; and an SR task has no text to guide by,
    so its guidance grid is [1] (DESIGN §11)."""
    kinds = {name: task["kind"] for name, task in config["tasks"].items()}
    if len(set(kinds.values())) > 1:
        raise ValueError(
            f"config: tasks: one sweep holds one task kind (every model generates for every task); found {kinds}"
        )
    if "super_resolution" not in kinds.values():
        return
    grids = [("guidance", config["guidance"])] + [
        (f"models[{i}] ({model['name']!r}).guidance", model["guidance"])
        for i, model in enumerate(config["models"])
        if "guidance" in model and "architecture" not in model
    ]
    for where, guidance in grids:
        if any(float(g) != 1.0 for g in guidance):
            raise ValueError(
                f"config: {where}: {guidance}: a super_resolution task has no text, so no classifier-free guidance; "
                "set it to [1]"
            )


def _check_super_resolution(where: str, task: dict, toy_image_size: int) -> None:
    sr = task["super_resolution"]
    if sr["crop"] % sr["scale"]:
        raise ValueError(
            f"config: {where}.super_resolution.crop ({sr['crop']}) must be a multiple of scale ({sr['scale']})"
        )
    if task["reference"]["images"]:
        raise ValueError(
            f"config: {where}.reference.images: a super_resolution task's real images are its own crops; remove it"
        )
    for i, name in enumerate(task["metrics"]):  # the toy scorer reads toy images, at the size it was trained at
        if scoring.get(name).extractor == "toy" and (sr["images"] or sr["crop"] != toy_image_size):
            raise ValueError(
                f"config: {where}.metrics[{i}]: {name} scores toy images; it needs super_resolution.images: null "
                f"(the toy data stream) and crop: {toy_image_size} (toy.image_size)"
            )


def check_task_data(where: str, task: dict, toy_image_size: int) -> None:
    """Raise ValueError naming the field when a task's prompts or real images do not fit its metrics."""
    if task["kind"] == "super_resolution":
        return _check_super_resolution(where, task, toy_image_size)
    for i, name in enumerate(task["metrics"]):
        if scoring.get(name).extractor in PAIRED_EXTRACTORS:
            raise ValueError(
                f"config: {where}.metrics[{i}]: {name} compares each output with its own ground truth; "
                "only a super_resolution task has one"
            )
    kinds = [k for k in ("toy", "file", "coco") if k in task["prompts"]]
    if len(kinds) != 1:
        raise ValueError(f"config: {where}.prompts: needs exactly one of toy, file, coco; found {kinds or 'none'}")
    if "file" in task["prompts"]:
        _check_suffix(f"{where}.prompts.file.path", task["prompts"]["file"]["path"], (".txt", ".csv", ".parquet"))
    if "coco" in task["prompts"]:
        _check_suffix(f"{where}.prompts.coco.captions", task["prompts"]["coco"]["captions"], (".json",))
    reference = task["reference"]
    for i, name in enumerate(task["metrics"]):
        metric = scoring.get(name)
        if metric.extractor == "toy" and kinds != ["toy"]:
            raise ValueError(f"config: {where}.metrics[{i}]: {name} scores toy captions; it needs prompts: {{toy: …}}")
        if metric.needs_reference and metric.extractor != "toy" and not reference["images"]:
            raise ValueError(
                f"config: {where}.metrics[{i}]: {name} compares with real images; set {where}.reference.images"
            )
    if not reference["images"]:
        return
    if reference["match"] == "image_id" and kinds != ["coco"]:
        raise ValueError(f"config: {where}.reference.match: image_id needs prompts: {{coco: …}}")
    if not (reference["image_size"] or task["resolution"]):
        raise ValueError(
            f"config: {where}.reference.image_size: not set (nor {where}.resolution); real images need a size"
        )


def check_extractors(config: dict) -> None:
    """Raise ValueError naming the field when a metric's feature extractor settings cannot work."""
    options, used = config["metrics"], _extractors_used(config)
    if "inception" in used:
        _check_suffix(
            "metrics.inception.feature_extractor_weights_path",
            options["inception"]["feature_extractor_weights_path"],
            (".safetensors",),
        )
    if "lpips" in used:
        _check_suffix("metrics.lpips.weights", options["lpips"]["weights"], (".safetensors",))
    if "clip" in used:
        clip = options["clip"]
        _check_suffix("metrics.clip.pretrained", clip["pretrained"], (".safetensors",))
        _check_suffix("metrics.clip.model_config", clip["model_config"], (".json",))
        if clip["model_config"] and Path(clip["model_config"]).stem != clip["model"]:
            raise ValueError(
                f"config: metrics.clip.model: {clip['model']!r} must be the stem of model_config {clip['model_config']!r}"
            )


def check_architecture(spec: dict, where: str, latency: bool = True) -> None:
    """Raise ValueError naming the field when an architecture entry names an unknown preset or UNet field, or a DiT
    preset where it cannot serve: with UNet fields, or in a sweep that profiles latency (DiT pipelines are costed in
    FLOPs only so far: their latency needs the denoiser abstraction of issue 35)."""
    preset = spec["preset"]
    if preset in architectures.DIT_PRESETS:
        if spec["unet"] or spec["base_channels"] is not None:
            raise ValueError(
                f"config: {where}: architecture.preset {preset!r} is a DiT: it takes no unet or base_channels"
            )
        if latency:
            raise ValueError(
                f"config: {where}: architecture.preset {preset!r} is a DiT, costed in FLOPs only: set cost.latency: "
                "false (latency profiling takes UNet pipelines so far)"
            )
        return
    if preset not in architectures.PRESETS:
        valid = [*architectures.PRESETS, *architectures.DIT_PRESETS]
        raise ValueError(
            f"config: {where}: architecture.preset {preset!r} is unknown; valid presets: {', '.join(valid)}"
        )
    unknown = architectures.unknown_unet_fields(spec["unet"]) if spec["unet"] else []
    if unknown:
        raise ValueError(
            f"config: {where}: architecture.unet: {', '.join(unknown)} not UNet2DConditionModel config fields"
        )
