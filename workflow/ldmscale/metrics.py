"""Quality metrics: registry, the toy scorer's attribute accuracy and Fréchet distance, bootstrap intervals."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import torch


@dataclass(frozen=True)
class Metric:
    higher_is_better: bool
    needs_reference: bool
    description: str


METRICS: dict[str, Metric] = {
    "attr_acc": Metric(True, False, "toy scorer: fraction of the caption's attributes an image shows, averaged over images"),
    "fd_toy": Metric(False, True, "Fréchet distance in the toy scorer's feature space to real images"),
}


def get(name: str) -> Metric:
    """Return the registry entry for `name`, or raise ValueError listing the valid names."""
    try:
        return METRICS[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; valid metrics: {', '.join(sorted(METRICS))}") from None


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return mean and (unbiased) covariance of (n, d) features, in float64."""
    features = np.asarray(features, dtype=np.float64)
    return features.mean(0), np.cov(features, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Return the Fréchet distance between two Gaussians: |mu1 - mu2|² + tr(S1 + S2 - 2 (S1 S2)^½).

    tr((S1 S2)^½) is the sum of the square roots of the eigenvalues of S1 S2 (real and
    non-negative: S1 S2 is similar to a PSD matrix), as torchmetrics computes it; this avoids
    sqrtm's failures on the singular covariances of small samples.
    """
    eigenvalues = np.linalg.eigvals(np.asarray(sigma1, dtype=np.float64) @ np.asarray(sigma2, dtype=np.float64))
    trace_sqrt = np.sqrt(eigenvalues.astype(np.complex128)).real.sum()
    diff = np.asarray(mu1, dtype=np.float64) - np.asarray(mu2, dtype=np.float64)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)


def bootstrap(statistic, n: int, reps: int, seed: int) -> np.ndarray:
    """Return `statistic(indices)` over `reps` resamples of range(n) with replacement."""
    rng = np.random.default_rng(seed)
    return np.asarray([statistic(rng.integers(0, n, n)) for _ in range(reps)])


def percentile_interval(replicates: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Return the bootstrap percentile interval: right for unbiased statistics such as a mean."""
    alpha = (1 - level) / 2
    return float(np.quantile(replicates, alpha)), float(np.quantile(replicates, 1 - alpha))


def normal_interval(estimate: float, replicates: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Return estimate ± z · (bootstrap standard error).

    For FD: resampling with replacement duplicates images, which shrinks the covariance and
    shifts every replicate upwards, so percentile intervals can miss the estimate entirely. The
    spread of the replicates still measures the sampling noise; FD's own bias at a given N is
    shared by every configuration scored at that N, which is why they are compared at equal N.
    """
    z = NormalDist().inv_cdf(0.5 + level / 2)
    se = float(np.std(replicates, ddof=1))
    return estimate - z * se, estimate + z * se


@torch.no_grad()
def scorer_outputs(scorer, images: np.ndarray, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Return the scorer's features (n, d) and predicted class per attribute (n, n_attributes) for uint8 NHWC images."""
    feats, preds = [], []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(np.ascontiguousarray(images[i : i + batch])).permute(0, 3, 1, 2)
        f = scorer.features(x)
        feats.append(f.double().numpy())
        preds.append(torch.stack([h(f).argmax(1) for h in scorer.heads], 1).numpy())
    return np.concatenate(feats), np.concatenate(preds)


def attribute_accuracy(predictions: np.ndarray, labels: np.ndarray, names: list[str]) -> dict:
    """Return the per-image fraction of attributes shown, the per-attribute accuracy and the all-correct rate."""
    correct = predictions == labels
    return {
        "per_image": correct.mean(1).tolist(),
        "per_attribute": {name: float(correct[:, i].mean()) for i, name in enumerate(names)},
        "all_correct": float(correct.all(1).mean()),
    }


def score_attr_acc(predictions: np.ndarray, labels: np.ndarray, names: list[str], reps: int, seed: int) -> dict:
    """Return attribute accuracy with a bootstrap interval over images and the per-image values behind it."""
    acc = attribute_accuracy(predictions, labels, names)
    per_image = np.asarray(acc["per_image"])
    low, high = percentile_interval(bootstrap(lambda idx: per_image[idx].mean(), len(per_image), reps, seed))
    interval = {"ci_low": low, "ci_high": high, "interval": "bootstrap percentile"}
    return {"value": float(per_image.mean()), **interval, "n": len(per_image), **acc}


def score_fd(features: np.ndarray, reference: dict, reps: int, seed: int) -> dict:
    """Return the Fréchet distance of `features` to the reference statistics, with a bootstrap interval over images."""
    mu_r, sigma_r = np.asarray(reference["mu"]), np.asarray(reference["sigma"])

    def fd(idx):
        return frechet_distance(*gaussian_stats(features[idx]), mu_r, sigma_r)

    value = fd(np.arange(len(features)))
    low, high = normal_interval(value, bootstrap(fd, len(features), reps, seed))
    return {"value": value, "ci_low": low, "ci_high": high, "interval": "estimate ± 1.96 bootstrap SE", "n": len(features)}
