"""Tasks: the prompts of a task, the real-image statistics behind its metrics, and scoring a configuration."""

from __future__ import annotations

import numpy as np

from . import generate, metrics
from .toy import data, nets

BOOTSTRAP_SEED = 0


def prompts(spec: dict, num_images: int) -> dict:
    """Return the task's prompt list: item i has its index, prompt and (toy) attribute labels."""
    if "toy" not in spec:
        raise ValueError(f"unsupported prompt source {sorted(spec)}; supported: toy")
    seed = spec["toy"]["seed"]
    items = []
    for index in range(num_images):
        attrs = data.attributes(seed, index)
        items.append({"index": index, "prompt": data.caption(attrs), "attributes": attrs, "labels": data.labels(attrs)})
    return {"source": "toy", "seed": seed, "data_version": data.DATA_VERSION, "items": items}


def _real_images(prompt_doc: dict, start: int, count: int, image_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Return real images and their labels for items start..start+count of the task's own data stream."""
    if prompt_doc["data_version"] != data.DATA_VERSION:
        raise ValueError(f"prompts were made with toy data v{prompt_doc['data_version']}, this is v{data.DATA_VERSION}")
    images, labels, _ = data.dataset(prompt_doc["seed"], start, count, image_size)
    return images, labels


def reference_stats(prompt_doc: dict, scorer_dir: str, metric: str, reference_images: int, image_size: int) -> dict:
    """Return the real-image statistics `metric` compares against, with the real-data floor of the metric.

    The floor is the score of an independent set of real images the size of a generated set:
    the best a perfect model could get at this sample size.
    """
    if metric != "fd_toy":
        raise ValueError(f"metric {metric!r} needs no reference statistics")
    scorer = nets.load_scorer(scorer_dir)
    reference, _ = _real_images(prompt_doc, 0, reference_images, image_size)
    features, _ = metrics.scorer_outputs(scorer, reference)
    mu, sigma = metrics.gaussian_stats(features)
    n = len(prompt_doc["items"])
    held_out, floor_labels = _real_images(prompt_doc, reference_images, n, image_size)
    floor_features, floor_predictions = metrics.scorer_outputs(scorer, held_out)
    return {
        "metric": metric,
        "reference_images": reference_images,
        "mu": mu.tolist(),
        "sigma": sigma.tolist(),
        "floor": {
            "n": n,
            "fd_toy": metrics.frechet_distance(*metrics.gaussian_stats(floor_features), mu, sigma),
            "attr_acc": float(np.mean(metrics.attribute_accuracy(floor_predictions, floor_labels, list(data.ATTRIBUTES))["per_image"])),
        },
    }


def score(metric: str, shard_dirs: list[str], prompt_doc: dict, scorer_dir: str, reference: dict | None, reps: int) -> dict:
    """Return `metric` over the images of all shards, with its bootstrap interval and per-image values."""
    images, records = generate.load_images(shard_dirs)
    items = {item["index"]: item for item in prompt_doc["items"]}
    indices = [r["index"] for r in records]
    if sorted(indices) != sorted(items):
        raise ValueError(f"shards hold images {indices[:3]}… but the task has {len(items)} prompts; rerun generate")
    for record in records:
        if record["prompt"] != items[record["index"]]["prompt"]:
            raise ValueError(f"{record['path']}: generated from another prompt than the task's; rerun generate")
    scorer = nets.load_scorer(scorer_dir)
    features, predictions = metrics.scorer_outputs(scorer, images)
    if metric == "attr_acc":
        labels = np.asarray([items[i]["labels"] for i in indices])
        result = metrics.score_attr_acc(predictions, labels, list(data.ATTRIBUTES), reps, BOOTSTRAP_SEED)
    elif metric == "fd_toy":
        result = metrics.score_fd(features, reference, reps, BOOTSTRAP_SEED)
        result["floor"] = reference["floor"]["fd_toy"]
    else:
        raise ValueError(f"unknown metric {metric!r}; valid metrics: {', '.join(sorted(metrics.METRICS))}")
    return {"metric": metric, "higher_is_better": metrics.get(metric).higher_is_better, **result}
