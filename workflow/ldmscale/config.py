"""Checks of config.yaml that a JSON schema cannot express, and the sweep it describes."""

from __future__ import annotations

import json
import re
from itertools import product
from pathlib import Path

from . import metrics, samplers

SOURCES = ("toy", "local")
GUIDANCE_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def fmt_guidance(value: float) -> str:
    """Return the guidance scale as it appears in paths: 7.5 → '7.5', 1.0 → '1'."""
    return f"{float(value):g}"


def check_shipped(config: dict, root: Path) -> dict:
    """Return the shipped toy checkpoints' record after checking they can stand in for training.

    Without train_toy, toy models come from `root`: each width must have been shipped, and the
    configured recipe must be the one they were trained with, or results would be mislabelled.
    """
    record_path = Path(root) / "SHIPPED.json"
    if not record_path.is_file():
        raise ValueError(f"config: train_toy is false but {record_path} is missing; set train_toy: true to train the family")
    shipped = json.loads(record_path.read_text())
    recipe = config["toy"]
    changed = sorted(k for k in recipe.keys() | shipped["recipe"].keys() if recipe.get(k) != shipped["recipe"].get(k))
    toy_models = [(i, m) for i, m in enumerate(config["models"]) if "toy" in m]
    if toy_models and changed:
        raise ValueError(
            f"config: toy.{', toy.'.join(changed)} differ from the recipe of the shipped checkpoints in {root}; "
            "set train_toy: true to train the family with this recipe"
        )
    for i, model in toy_models:
        width = model["toy"]["width"]
        if str(width) not in shipped["members"]:
            raise ValueError(
                f"config: models[{i}] ({model['name']!r}): toy.width {width} has no shipped checkpoint "
                f"(shipped widths: {', '.join(sorted(shipped['members'], key=int))}); set train_toy: true to train it"
            )
    return shipped


def check(config: dict) -> None:
    """Raise ValueError naming the field when config.yaml is inconsistent; the schema has run before."""
    names = [m["name"] for m in config["models"]]
    for i, model in enumerate(config["models"]):
        where = f"models[{i}] ({model['name']!r})"
        sources = [s for s in SOURCES if s in model]
        if len(sources) != 1:
            raise ValueError(f"config: {where}: needs exactly one source of {', '.join(SOURCES)}; found {sources or 'none'}")
        if names.count(model["name"]) > 1:
            raise ValueError(f"config: {where}: duplicate model name; model names must be unique")
        if "local" in model:
            path = Path(model["local"]["path"])
            if not (path / "model_index.json").is_file():
                state = "does not exist" if not path.exists() else "has no model_index.json"
                raise ValueError(f"config: {where}: local.path {str(path)!r} {state}; expected a diffusers pipeline directory")
    for i, name in enumerate(config["samplers"]):
        try:
            samplers.get(name)
        except ValueError as err:
            raise ValueError(f"config: samplers[{i}]: {err}") from None
    for i, value in enumerate(config["guidance"]):
        if not GUIDANCE_RE.match(fmt_guidance(value)):
            raise ValueError(f"config: guidance[{i}]: {value} cannot be written as a plain decimal")
    for task_name, task in config["tasks"].items():
        where = f"tasks.{task_name}"
        for i, name in enumerate(task["metrics"]):
            try:
                metrics.get(name)
            except ValueError as err:
                raise ValueError(f"config: {where}.metrics[{i}]: {err}") from None
        if task["shard_size"] % task["batch_size"]:
            raise ValueError(
                f"config: {where}.shard_size ({task['shard_size']}) must be a multiple of batch_size "
                f"({task['batch_size']}), so that sharding never changes an image"
            )
        check_task_data(where, task)
    check_extractors(config)
    reference = config["cost"]["reference_model"]
    if reference is not None and reference not in names:
        raise ValueError(f"config: cost.reference_model: {reference!r} is not a model name; models: {', '.join(names)}")
    if config["cost"]["latency_batch"] not in config["cost"]["batch_sizes"]:
        raise ValueError(f"config: cost.latency_batch ({config['cost']['latency_batch']}) must be one of cost.batch_sizes")


def _require_file(field: str, path: str | None, suffixes: tuple[str, ...], why: str) -> None:
    if not path:
        raise ValueError(f"config: {field}: not set; {why}")
    if Path(path).suffix not in suffixes:
        raise ValueError(f"config: {field}: {path!r} must end in {' or '.join(suffixes)}")
    if not Path(path).is_file():
        raise ValueError(f"config: {field}: {path!r} does not exist")


def check_task_data(where: str, task: dict) -> None:
    """Raise ValueError naming the field when a task's prompts or real images do not fit its metrics."""
    kinds = [k for k in ("toy", "file", "coco") if k in task["prompts"]]
    if len(kinds) != 1:
        raise ValueError(f"config: {where}.prompts: needs exactly one of toy, file, coco; found {kinds or 'none'}")
    if "file" in task["prompts"]:
        _require_file(f"{where}.prompts.file.path", task["prompts"]["file"]["path"], (".txt", ".csv", ".parquet"), "")
    if "coco" in task["prompts"]:
        _require_file(f"{where}.prompts.coco.captions", task["prompts"]["coco"]["captions"], (".json",), "")
    reference = task["reference"]
    for i, name in enumerate(task["metrics"]):
        metric = metrics.get(name)
        if metric.features == "toy" and kinds != ["toy"]:
            raise ValueError(f"config: {where}.metrics[{i}]: {name} scores toy captions; it needs prompts: {{toy: …}}")
        if metric.needs_reference and metric.features != "toy" and not reference["images"]:
            raise ValueError(f"config: {where}.metrics[{i}]: {name} compares with real images; set {where}.reference.images")
    if not reference["images"]:
        return
    if not Path(reference["images"]).is_dir():
        raise ValueError(f"config: {where}.reference.images: {reference['images']!r} is not a directory")
    if reference["match"] == "image_id" and kinds != ["coco"]:
        raise ValueError(f"config: {where}.reference.match: image_id needs prompts: {{coco: …}}")
    if not (reference["image_size"] or task["resolution"]):
        raise ValueError(f"config: {where}.reference.image_size: not set (nor {where}.resolution); real images need a size")


def check_extractors(config: dict) -> None:
    """Raise ValueError naming the field when a metric's feature extractor has no usable local weights file."""
    used = {metrics.get(name).features for task in config["tasks"].values() for name in task["metrics"]}
    options = config["metrics"]
    if "inception" in used:
        _require_file(
            "metrics.inception.feature_extractor_weights_path", options["inception"]["feature_extractor_weights_path"],
            (".safetensors",), "FID and KID need Inception weights; README 'Real data and metrics' says how to get them",
        )  # fmt: skip
    if "clip" in used:
        clip = options["clip"]
        why = f"CLIP score and CMMD need a local .safetensors checkpoint of {clip['model']}"
        _require_file("metrics.clip.pretrained", clip["pretrained"], (".safetensors",), why)
        if clip["model_config"]:
            _require_file("metrics.clip.model_config", clip["model_config"], (".json",), "")
            if Path(clip["model_config"]).stem != clip["model"]:
                raise ValueError(f"config: metrics.clip.model: {clip['model']!r} must be the stem of model_config {clip['model_config']!r}")


def configurations(config: dict) -> list[dict]:
    """Return every (task, model, sampler, steps, guidance) of the sweep, in a stable order."""
    return [
        {"task": t, "model": m["name"], "sampler": s, "steps": n, "guidance": fmt_guidance(g)}
        for t, m, s, n, g in product(
            sorted(config["tasks"]), config["models"], config["samplers"], sorted(config["steps"]), sorted(config["guidance"])
        )
    ]


def model_entry(config: dict, name: str) -> dict:
    """Return the config entry of model `name`."""
    for model in config["models"]:
        if model["name"] == name:
            return model
    raise ValueError(f"unknown model {name!r}")


def source(model: dict) -> str:
    """Return which source kind a model entry uses."""
    return next(s for s in SOURCES if s in model)
