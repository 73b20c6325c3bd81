"""One metric of one configuration, from its cached features: numpy only, so a score job imports no torch.

Each metric is one function in SCORERS; `score` checks the feature files and dispatches to it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import metrics

BOOTSTRAP_SEED = 0


def load_features(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Return the arrays and string metadata of a features file (safetensors, read as numpy)."""
    from safetensors import safe_open

    with safe_open(str(path), "numpy") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


def _labels(prompt_doc: dict, n: int) -> np.ndarray:
    """Return the attribute labels of the task's first n items (the features files hold images in index order)."""
    items = sorted(prompt_doc["items"], key=lambda item: item["index"])
    if len(items) != n or "labels" not in items[0]:
        raise ValueError(
            f"the task has {len(items)} prompts{'' if 'labels' in items[0] else ' without toy labels'}; the features hold {n} images"
        )
    return np.asarray([item["labels"] for item in items])


def _attr_acc(gen, ref, prompt_doc, options, reps):
    labels = _labels(prompt_doc, len(gen["predictions"]))
    names = prompt_doc.get("attributes") or [f"attribute_{i}" for i in range(labels.shape[1])]
    result = metrics.score_attr_acc(gen["predictions"], labels, names, reps, BOOTSTRAP_SEED)
    floor = metrics.attribute_accuracy(ref["held_out_predictions"], ref["held_out_labels"], names)["per_image"]
    return {**result, "floor": float(np.mean(floor))}


def _fd_toy(gen, ref, prompt_doc, options, reps):
    stats = metrics.gaussian_stats(ref["images"])
    result = metrics.score_fd(
        np.asarray(gen["images"], dtype=np.float64), {"mu": stats[0], "sigma": stats[1]}, reps, BOOTSTRAP_SEED
    )
    return {**result, "floor": metrics.frechet_distance(*metrics.gaussian_stats(ref["held_out"]), *stats)}


def _kid_toy(gen, ref, prompt_doc, options, reps):
    value, per_image = metrics.kid_per_image(gen["images"], ref["images"])
    low, high = metrics.percentile_interval(
        metrics.bootstrap(lambda idx: per_image[idx].mean(), len(per_image), reps, BOOTSTRAP_SEED)
    )
    return {
        "value": value, "ci_low": low, "ci_high": high, "n": len(per_image), "per_image": per_image.tolist(),
        "interval": "bootstrap percentile of per-image influence values (first order)",
        "floor": metrics.kid_per_image(ref["held_out"], ref["images"])[0],
    }  # fmt: skip


def _fid(gen, ref, prompt_doc, options, reps):
    return metrics.score_fid(gen["images"], ref["images"], reps, BOOTSTRAP_SEED)


def _kid(gen, ref, prompt_doc, options, reps):
    return metrics.score_kid(gen["images"], ref["images"], options["subsets"], options["subset_size"], options["seed"])


def _cmmd(gen, ref, prompt_doc, options, reps):
    return metrics.score_cmmd(gen["images"], ref["images"], reps, BOOTSTRAP_SEED)


def _clip_score(gen, ref, prompt_doc, options, reps):
    per_image = metrics.clip_scores(gen["images"], gen["texts"])
    return {**metrics.score_mean(per_image, reps, BOOTSTRAP_SEED), "per_image": per_image.tolist()}


# metric → its score function(generated features, reference features or None, task prompts, metric options, bootstrap reps)
SCORERS = {
    "attr_acc": _attr_acc,
    "fd_toy": _fd_toy,
    "kid_toy": _kid_toy,
    "fid": _fid,
    "kid": _kid,
    "cmmd": _cmmd,
    "clip_score": _clip_score,
}


def score(
    metric: str, prompt_doc: dict, generated_path: str, reference_path: str | None, options: dict, reps: int
) -> dict:
    """Return `metric` of one configuration from its cached features (and the real images' where it needs them)."""
    if metric not in SCORERS:
        raise ValueError(f"unknown metric {metric!r}; valid metrics: {', '.join(sorted(SCORERS))}")
    generated, meta = load_features(generated_path)
    reference = None
    if reference_path is not None:
        reference, ref_meta = load_features(reference_path)
        if (meta["extractor"], meta["weights_sha256"]) != (ref_meta["extractor"], ref_meta["weights_sha256"]):
            raise ValueError(
                f"{generated_path} and {reference_path} come from different extractors or weights; rerun both"
            )
    result = SCORERS[metric](generated, reference, prompt_doc, options, reps)
    extractor = {"extractor": meta["extractor"], "weights_sha256": meta["weights_sha256"]}
    return {"metric": metric, "higher_is_better": metrics.get(metric).higher_is_better, **extractor, **result}
