"""The files a config needs, checked before any job: present (`check_files`), and readable for what they are."""

from __future__ import annotations

import json
from pathlib import Path

from .. import files, integrity, models, scoring
from .sweep import source_entry


def check_files(config: dict, models_dir: str | Path) -> None:
    """Raise one ValueError listing every file the config needs that is not here, and what to fetch, before any job.

    Files are a user's data (prompt files, COCO captions, real images), the metrics' extractor
    weights and, with HF_HUB_OFFLINE set, hub models neither prepared in `models_dir` nor cached.
    """
    missing = [*extractor_files_missing(config), *hub_models_missing(config, models_dir)]
    for name, task in config["tasks"].items():
        missing += task_files_missing(f"tasks.{name}", task)
    if missing:
        raise ValueError(
            "config: files it needs are missing; nothing was run.\n" + "\n".join(f"- {m}" for m in missing)
        )


def hub_models_missing(config: dict, models_dir: str | Path) -> list[str]:
    """Return what to download for each hub model when the hub is offline and it is neither prepared nor cached."""
    from huggingface_hub import constants

    if not constants.is_offline_mode():
        return []
    from huggingface_hub import try_to_load_from_cache

    hints = []
    for i, model in enumerate(config["models"]):
        if (Path(models_dir) / model["name"] / integrity.CHECKSUMS).is_file():
            continue  # already prepared
        where = f"models[{i}] ({model['name']!r})"
        hub, lora_hub = source_entry(model).get("hub"), model.get("lora", {}).get("hub")
        if hub is not None:
            try:
                models.hub_snapshot(hub["repo_id"], hub["revision"], local_files_only=True)
            except RuntimeError:
                hints.append(f"{where}: HF_HUB_OFFLINE is set and it is not cached; " + models.hub_download_hint(**hub))
        if lora_hub is not None:
            repo, revision, name = lora_hub["repo_id"], lora_hub["revision"], lora_hub["weight_name"]
            if not isinstance(try_to_load_from_cache(repo, name, revision=revision), str):
                hints.append(
                    f"{where}: lora.hub: HF_HUB_OFFLINE is set and {name} is not cached; download it once: "
                    f"hf download {repo} {name} --revision {revision}"
                )
    return hints


def _file_missing(field: str, path: str | None, why: str = "") -> list[str]:
    """Return [what is wrong] when `path` is unset or not a file, else []."""
    if not path:
        return [f"{field}: not set; {why}"]
    return [] if Path(path).is_file() else [f"{field}: {path!r} does not exist" + (f"; {why}" if why else "")]


def task_files_missing(where: str, task: dict) -> list[str]:
    """Return what is missing of a task's prompt file, COCO captions and real-image folder."""
    if task["kind"] == "super_resolution":
        folder = task["super_resolution"]["images"]
        missing = folder and not Path(folder).is_dir()
        return [f"{where}.super_resolution.images: {folder!r} is not a directory"] if missing else []
    prompts, images = task["prompts"], task["reference"]["images"]
    missing = _file_missing(f"{where}.prompts.file.path", prompts["file"]["path"]) if "file" in prompts else []
    if "coco" in prompts:
        missing += _file_missing(
            f"{where}.prompts.coco.captions", prompts["coco"]["captions"], "COCO-2014 captions JSON"
        )
    if images and not Path(images).is_dir():
        missing.append(f"{where}.reference.images: {images!r} is not a directory")
    return missing


def extractor_files_missing(config: dict) -> list[str]:
    """Return what is missing of the local weight files of the metrics' feature extractors."""
    options, used, missing = config["metrics"], _extractors_used(config), []
    how = "docs/metrics.md says how to get it"
    if "inception" in used:
        path = options["inception"]["feature_extractor_weights_path"]
        missing += _file_missing(
            "metrics.inception.feature_extractor_weights_path", path, f"FID and KID need Inception weights; {how}"
        )
    if "clip" in used:
        clip = options["clip"]
        why = f"CLIP score and CMMD need a local .safetensors checkpoint of {clip['model']}; {how}"
        missing += _file_missing("metrics.clip.pretrained", clip["pretrained"], why)
        if clip["model_config"]:
            missing += _file_missing("metrics.clip.model_config", clip["model_config"])
    if "lpips" in used:
        why = f"LPIPS needs its {options['lpips']['net']} weights as .safetensors (python -m ldmscale.paired)"
        missing += _file_missing("metrics.lpips.weights", options["lpips"]["weights"], why)
    return missing


def _extractors_used(config: dict) -> set[str]:
    return {scoring.get(name).extractor for task in config["tasks"].values() for name in task["metrics"]}


def check_shipped(config: dict, root: Path) -> dict:
    """Return the shipped toy checkpoints' record after checking they can stand in for training.

    Without train_toy, toy models come from `root`: each width must have been shipped, and the
    configured recipe must be the one they were trained with, or results would be mislabelled.
    """
    record_path = Path(root) / "SHIPPED.json"
    if not record_path.is_file():
        raise ValueError(
            f"config: train_toy is false but {record_path} is missing; set train_toy: true to train the family"
        )
    shipped = json.loads(record_path.read_text())
    recipe = config["toy"]
    changed = sorted(k for k in recipe.keys() | shipped["recipe"].keys() if recipe.get(k) != shipped["recipe"].get(k))
    toy_models = [(i, m) for i, m in enumerate(config["models"]) if "toy" in m and not m.get("predict")]
    if toy_models and changed:
        raise ValueError(
            f"config: toy.{', toy.'.join(changed)} differ from the recipe of the shipped checkpoints in {root}; "
            "set train_toy: true to train the family with this recipe"
        )
    for i, model in toy_models:
        width, student = model["toy"]["width"], bool(model.get("distilled_from"))
        kind, what = ("students", "distilled student") if student else ("members", "checkpoint")
        if model["toy"].get("kind") == "super_resolution":
            kind, what = "sr_members", "super-resolution checkpoint"
        if str(width) not in shipped.get(kind, {}):
            raise ValueError(
                f"config: models[{i}] ({model['name']!r}): toy.width {width} has no shipped {what} "
                f"(shipped widths: {', '.join(sorted(shipped.get(kind, {}), key=int)) or 'none'}); "
                "set train_toy: true to train it"
            )
    return shipped


def _weights(config: dict) -> list[tuple[str, str]]:
    """Return (field, path) of every extractor weight file the sweep's metrics load."""
    options, used = config["metrics"], _extractors_used(config)
    fields = {"inception": [("inception", "feature_extractor_weights_path")], "clip": [("clip", "pretrained")],
              "lpips": [("lpips", "weights")]}  # fmt: skip
    return [(f"metrics.{section}.{key}", options[section][key]) for kind in sorted(used) for section, key in
            fields.get(kind, []) if options[section][key]]  # fmt: skip


def check_contents(config: dict) -> None:
    """Raise ValueError naming the field when a file the sweep needs is there but cannot serve: a prompt or captions
    file with fewer prompts than num_images asks for, a folder of real images with fewer than the reference statistics
    draw, or extractor weights that are not a readable safetensors file.
    Reads the files (a large captions file takes a moment): run it once per invocation, not in every job."""
    from safetensors import safe_open

    from .. import tasks

    for name, task in sorted(config["tasks"].items()):
        prompts, n = task.get("prompts", {}), task["num_images"]
        if task["kind"] == "super_resolution":
            continue
        field, have = tasks.available(prompts)
        if have is not None and have < n:
            raise ValueError(
                f"config: tasks.{name}.num_images: {n} images asked for, but tasks.{name}.{field} has {have}"
            )
        reference = task.get("reference", {})
        folder = reference.get("images")
        if folder and reference.get("match") == "sample" and Path(folder).is_dir():  # a seeded subset of the folder
            need = task.get("reference_images") or n
            have = len(files.images_in(folder))
            if have < need:
                raise ValueError(f"config: tasks.{name}.reference.images: {folder} holds {have} images; the task's "
                                 f"reference statistics need {need} (reference_images, else num_images)")  # fmt: skip
    for field, path in _weights(config):
        try:
            with safe_open(path, "np"):
                pass
        except Exception as err:  # safetensors raises its own errors for a short or malformed header
            raise ValueError(f"config: {field}: {path} is not a readable safetensors file ({err})") from None
