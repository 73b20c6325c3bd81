"""Quality metrics' estimators: the toy scorer's metrics, FID/KID/CLIP score/CMMD, and their uncertainties."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np


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


def attribute_accuracy(predictions: np.ndarray, labels: np.ndarray, names: list[str]) -> dict:
    """Return the per-image fraction of attributes shown, the per-attribute accuracy and the all-correct rate."""
    correct = predictions == labels
    return {
        "per_image": correct.mean(1).tolist(),
        "per_attribute": {name: float(correct[:, i].mean()) for i, name in enumerate(names)},
        "all_correct": float(correct.all(1).mean()),
    }


def score_mean(per_image: np.ndarray, reps: int, seed: int) -> dict:
    """Return the mean of per-image values with its bootstrap percentile interval over images."""
    per_image = np.asarray(per_image, dtype=np.float64)
    low, high = percentile_interval(bootstrap(lambda idx: per_image[idx].mean(), len(per_image), reps, seed))
    return {
        "value": float(per_image.mean()),
        "ci_low": low,
        "ci_high": high,
        "interval": "bootstrap percentile",
        "n": len(per_image),
    }


def score_attr_acc(predictions: np.ndarray, labels: np.ndarray, names: list[str], reps: int, seed: int) -> dict:
    """Return attribute accuracy with a bootstrap interval over images and the per-image values behind it."""
    acc = attribute_accuracy(predictions, labels, names)
    return {**score_mean(np.asarray(acc["per_image"]), reps, seed), **acc}


def _sqrt_psd(sigma: np.ndarray) -> np.ndarray:
    """Return the symmetric square root of a covariance matrix (round-off negative eigenvalues set to 0)."""
    w, v = np.linalg.eigh(sigma)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def _with_normal_interval(value: float, replicates: np.ndarray, n: int) -> dict:
    low, high = normal_interval(value, replicates)
    return {"value": value, "ci_low": low, "ci_high": high, "interval": "estimate ± 1.96 bootstrap SE", "n": n}


def score_fd(features: np.ndarray, reference: dict, reps: int, seed: int) -> dict:
    """Return the Fréchet distance of `features` to the reference statistics, with a bootstrap interval over images.

    tr((S_r S)^½) = tr((R S R)^½) with R = S_r^½, computed once: each bootstrap replicate is then one
    symmetric eigenproblem, which is what makes 200 replicates of 2048-d FID affordable. With fewer images than
    dimensions, S = Xᵀ X / (n − 1) (X centred) has rank below n, and R S R = Yᵀ Y / (n − 1) with Y = X R has the
    nonzero eigenvalues of the n × n matrix Y Yᵀ / (n − 1): the same trace from an n × n eigenproblem.
    """
    mu_r, sigma_r = np.asarray(reference["mu"], dtype=np.float64), np.asarray(reference["sigma"], dtype=np.float64)
    root, trace_r = _sqrt_psd(sigma_r), np.trace(sigma_r)

    def fd(idx):
        x = features[idx]
        mu, centred = x.mean(0), x - x.mean(0)
        if len(x) < x.shape[1]:
            y = centred @ root
            eigenvalues, trace_sigma = np.linalg.eigvalsh(y @ y.T / (len(x) - 1)), (centred**2).sum() / (len(x) - 1)
        else:
            sigma = centred.T @ centred / (len(x) - 1)
            eigenvalues, trace_sigma = np.linalg.eigvalsh(root @ sigma @ root), np.trace(sigma)
        trace_sqrt = np.sqrt(np.clip(eigenvalues, 0, None)).sum()
        return float((mu - mu_r) @ (mu - mu_r) + trace_sigma + trace_r - 2 * trace_sqrt)

    value = fd(np.arange(len(features)))
    return _with_normal_interval(value, bootstrap(fd, len(features), reps, seed), len(features))


def score_fid(features: np.ndarray, reference_features: np.ndarray, reps: int, seed: int) -> dict:
    """Return FID of generated Inception features to real ones (float64 statistics), bootstrap over generated images."""
    mu, sigma = gaussian_stats(reference_features)
    return score_fd(np.asarray(features, dtype=np.float64), {"mu": mu, "sigma": sigma}, reps, seed)


def kid_subsets(x: np.ndarray, y: np.ndarray, subsets: int, subset_size: int, seed: int) -> np.ndarray:
    """Return the unbiased MMD² of each of `subsets` random subset pairs, cubic kernel (x·y/d + 1)³.

    Subsets are drawn exactly as torch-fidelity draws them (RandomState(seed), x then y, without
    replacement), so the same seed gives the same subsets; the arithmetic is float64.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    rng = np.random.RandomState(seed)
    m, d = subset_size, x.shape[1]
    values = []
    for _ in range(subsets):
        a, b = x[rng.choice(len(x), m, replace=False)], y[rng.choice(len(y), m, replace=False)]
        kxx, kyy, kxy = ((a @ a.T / d + 1) ** 3), ((b @ b.T / d + 1) ** 3), ((a @ b.T / d + 1) ** 3)
        within = kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)
        values.append(within / (m * (m - 1)) - 2 * kxy.mean())
    return np.asarray(values)


def score_kid(features: np.ndarray, reference_features: np.ndarray, subsets: int, subset_size: int, seed: int) -> dict:
    """Return KID (mean over subsets) with torch-fidelity's subset std and mean ± 1.96 std as its interval.

    The subset size is capped at the smaller set, where torch-fidelity would refuse to run.
    """
    size = min(subset_size, len(features), len(reference_features))
    values = kid_subsets(features, reference_features, subsets, size, seed)
    value, std = float(values.mean()), float(values.std())
    z = NormalDist().inv_cdf(0.975)
    return {
        "value": value, "std": std, "ci_low": value - z * std, "ci_high": value + z * std,
        "interval": "mean ± 1.96 std over subsets", "n": len(features), "subsets": subsets, "subset_size": size,
    }  # fmt: skip


def kid_per_image(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Return the unbiased MMD² of generated x (n, d) to real y (m, d) over the whole sets, cubic kernel as KID's,
    and per-generated-image values whose mean is exactly that estimate.

    The value of image i is the estimate plus its influence: 2 (g_i − mean g) − 2 (c_i − mean c), with
    g_i its mean kernel with the other generated images and c_i with the real ones (the first-order
    Hoeffding projection of the U-statistic; the factor 2 is the within-set term's two slots). So a
    bootstrap over images of their mean has the estimate's sampling variance to first order, and
    configurations scored on the same images pair, as per-image metrics do. The real set is held
    fixed: its noise is common to every configuration compared against it.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n, m, d = len(x), len(y), x.shape[1]
    kxx, kyy, kxy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
    g = (kxx.sum(1) - np.diag(kxx)) / (n - 1)
    c = kxy.mean(1)
    within_real = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    value = float(g.mean() + within_real - 2 * c.mean())
    return value, value + 2 * (g - g.mean()) - 2 * (c - c.mean())


CMMD_SIGMA = 10.0  # bandwidth and scale of "Rethinking FID" (Jayasumana et al. 2024) and its reference code
CMMD_SCALE = 1000.0


def rbf_sums(x: np.ndarray, y: np.ndarray, wx: np.ndarray, wy: np.ndarray, block: int = 1024) -> np.ndarray:
    """Return Σ_ij wx[i, r] · k(x_i, y_j) · wy[j, r] per column r, k(a, b) = exp(-|a - b|² / 2σ²), in row blocks."""
    y_sq = (y * y).sum(1)
    total = np.zeros(wx.shape[1])
    for s in range(0, len(x), block):
        xb = x[s : s + block]
        d2 = (xb * xb).sum(1)[:, None] + y_sq[None, :] - 2 * xb @ y.T
        total += (wx[s : s + block] * (np.exp(-d2 / (2 * CMMD_SIGMA**2)) @ wy)).sum(0)
    return total


def cmmd(x: np.ndarray, y: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    """Return CMMD between embeddings x (n, d) and y (m, d): the reference code's biased MMD², × 1000.

    `counts` (n, r) weights x's images (a bootstrap resample per column); default each once.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n, m = len(x), len(y)
    counts = np.ones((n, 1)) if counts is None else counts
    ones = np.ones((m, 1))
    kxx, kyy, kxy = rbf_sums(x, x, counts, counts), rbf_sums(y, y, ones, ones), rbf_sums(x, y, counts, ones)
    return CMMD_SCALE * (kxx / n**2 + kyy / m**2 - 2 * kxy / (n * m))


def bootstrap_counts(n: int, reps: int, seed: int) -> np.ndarray:
    """Return (n, reps) counts of each index in `reps` resamples of range(n), drawn as `bootstrap` draws them."""
    rng = np.random.default_rng(seed)
    return np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(reps)], 1).astype(np.float64)


def score_cmmd(embeddings: np.ndarray, reference_embeddings: np.ndarray, reps: int, seed: int) -> dict:
    """Return CMMD of generated CLIP embeddings to real ones, with a bootstrap interval over generated images."""
    value = float(cmmd(embeddings, reference_embeddings)[0])
    replicates = cmmd(embeddings, reference_embeddings, bootstrap_counts(len(embeddings), reps, seed))
    return _with_normal_interval(value, replicates, len(embeddings))


def clip_scores(image_embeddings: np.ndarray, text_embeddings: np.ndarray) -> np.ndarray:
    """Return the per-image CLIP score 100 · max(cos(image, text), 0), as torchmetrics' CLIPScore defines it."""
    a = np.asarray(image_embeddings, dtype=np.float64)
    b = np.asarray(text_embeddings, dtype=np.float64)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return 100 * np.clip(cos, 0, None)
