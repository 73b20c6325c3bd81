"""The metric registry, and one metric of one configuration from its cached features.

Numpy only, so a score job (and the Snakefile, which reads the registry) imports no torch. A metric is one entry in
METRICS: its score function, the feature extractor it reads, its direction and the config section of its options.
The estimators themselves (FD, KID, CMMD, bootstrap intervals) are in `metrics`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
    """Return the attribute labels of the task's first n items (the features files hold images in index order: all of
    the task's, or a refined sweep's first n)."""
    items = sorted(prompt_doc["items"], key=lambda item: item["index"])
    if len(items) < n or "labels" not in items[0]:
        raise ValueError(
            f"the task has {len(items)} prompts{'' if 'labels' in items[0] else ' without toy labels'}; the features hold {n} images"
        )
    return np.asarray([item["labels"] for item in items[:n]])


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


def _per_image(name: str) -> Callable:
    """Return the score function of a per-image value the extractor wrote as array `name` (PSNR, SSIM, LPIPS)."""

    def score(gen, ref, prompt_doc, options, reps):
        per_image = np.asarray(gen[name], dtype=np.float64)
        return {**metrics.score_mean(per_image, reps, BOOTSTRAP_SEED), "per_image": per_image.tolist()}

    return score


@dataclass(frozen=True)
class Metric:
    score: Callable  # (generated features, reference features or None, task prompts, options, bootstrap reps) → dict
    higher_is_better: bool
    needs_reference: bool  # reads the real images' features (attr_acc: for its real-data floor only)
    description: str
    extractor: str = "toy"  # the feature extractor it reads: toy (the toy scorer), inception, clip, pairs or lpips
    options: str | None = None  # the config `metrics` section passed to `score` (changing it reruns only this metric)


METRICS: dict[str, Metric] = {
    "attr_acc": Metric(
        _attr_acc, True, True, "toy scorer: fraction of the caption's attributes an image shows, averaged over images"
    ),
    "fd_toy": Metric(
        _fd_toy, False, True, "Fréchet distance in the toy scorer's feature space to real images (biased at small N)"
    ),
    "kid_toy": Metric(
        _kid_toy,
        False,
        True,
        "KID in the toy scorer's feature space: unbiased MMD² (cubic kernel) of the whole sets, with per-image values",
    ),
    "fid": Metric(
        _fid, False, True, "Fréchet Inception Distance to the task's real images (2048-d pool features)", "inception"
    ),
    "kid": Metric(
        _kid,
        False,
        True,
        "Kernel Inception Distance: unbiased MMD², cubic kernel, mean over subsets",
        "inception",
        "kid",
    ),
    "clip_score": Metric(
        _clip_score, True, False, "CLIP score: 100 · max(cos(image, caption), 0), averaged over images", "clip"
    ),
    "cmmd": Metric(
        _cmmd,
        False,
        True,
        "CMMD: MMD² (Gaussian kernel, σ = 10, × 1000) of CLIP image embeddings to real images",
        "clip",
    ),
    # Each output against its own ground truth (super-resolution tasks): paths.PAIRED_EXTRACTORS.
    "psnr": Metric(
        _per_image("psnr"), True, False, "PSNR (dB, RGB, data range 255) of each output to its ground truth", "pairs"
    ),
    "ssim": Metric(
        _per_image("ssim"), True, False, "SSIM (torchmetrics: Gaussian 11×11, σ 1.5) to the ground truth", "pairs"
    ),
    "lpips": Metric(
        _per_image("lpips"), False, False, "LPIPS distance (torchmetrics) of each output to its ground truth", "lpips"
    ),
}


def get(name: str) -> Metric:
    """Return the registry entry for `name`, or raise ValueError listing the valid names."""
    try:
        return METRICS[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; valid metrics: {', '.join(sorted(METRICS))}") from None


def score(
    metric: str, prompt_doc: dict, generated_path: str, reference_path: str | None, options: dict, reps: int
) -> dict:
    """Return `metric` of one configuration from its cached features (and the real images' where it needs them)."""
    entry = get(metric)
    generated, meta = load_features(generated_path)
    reference = None
    if reference_path is not None:
        reference, ref_meta = load_features(reference_path)
        if (meta["extractor"], meta["weights_sha256"]) != (ref_meta["extractor"], ref_meta["weights_sha256"]):
            raise ValueError(
                f"{generated_path} and {reference_path} come from different extractors or weights; rerun both"
            )
    result = entry.score(generated, reference, prompt_doc, options, reps)
    extractor = {"extractor": meta["extractor"], "weights_sha256": meta["weights_sha256"]}
    return {"metric": metric, "higher_is_better": entry.higher_is_better, **extractor, **result}
