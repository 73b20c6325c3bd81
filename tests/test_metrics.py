import numpy as np
import pytest
import torch

from ldmscale import features, metrics, scoring
from ldmscale.toy import data, nets


def test_fd_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(0).normal(size=(500, 6))
    stats = metrics.gaussian_stats(x)
    assert metrics.frechet_distance(*stats, *stats) == pytest.approx(0, abs=1e-8)


def test_fd_of_two_gaussians_matches_closed_form():
    # Diagonal covariances: FD = |mu1 - mu2|² + Σ (sqrt(s1) - sqrt(s2))².
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(s1) - np.sqrt(s2)) ** 2).sum()
    assert metrics.frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, rel=1e-9)


def test_fd_matches_torchmetrics_on_the_same_features():
    from torchmetrics.image.fid import FrechetInceptionDistance

    torch.manual_seed(0)
    scorer = nets.Scorer(32, features=16).eval()

    class Features(torch.nn.Module):
        num_features = 16

        def forward(self, x):
            return scorer.features(x)

    real = data.dataset(0, 0, 300, 32)[0]
    fake = data.dataset(1, 0, 300, 32)[0][:, :, ::-1].copy()  # mirrored: a different distribution
    fid = FrechetInceptionDistance(feature=Features(), normalize=False)
    fid.update(torch.from_numpy(real).permute(0, 3, 1, 2), real=True)
    fid.update(torch.from_numpy(fake).permute(0, 3, 1, 2), real=False)
    ours = metrics.frechet_distance(
        *metrics.gaussian_stats(features.scorer_outputs(scorer, real)[0]),
        *metrics.gaussian_stats(features.scorer_outputs(scorer, fake)[0]),
    )
    assert ours == pytest.approx(fid.compute().item(), rel=1e-4)


def test_attribute_accuracy_by_hand():
    labels = np.array([[0, 1], [1, 1], [2, 0], [0, 0]])
    preds = np.array([[0, 1], [1, 0], [2, 0], [1, 1]])
    acc = metrics.attribute_accuracy(preds, labels, ["a", "b"])
    assert acc["per_image"] == [1.0, 0.5, 1.0, 0.0]
    assert acc["per_attribute"] == {"a": 0.75, "b": 0.5}
    assert acc["all_correct"] == 0.5


def test_bootstrap_interval_brackets_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(1)
    small, large = rng.random(50) < 0.7, rng.random(5000) < 0.7
    lo_s, hi_s = metrics.percentile_interval(metrics.bootstrap(lambda i: small[i].mean(), len(small), 200, 0))
    lo_l, hi_l = metrics.percentile_interval(metrics.bootstrap(lambda i: large[i].mean(), len(large), 200, 0))
    assert lo_s <= small.mean() <= hi_s and lo_l <= large.mean() <= hi_l
    assert hi_l - lo_l < (hi_s - lo_s) / 3


def test_unknown_metric_lists_valid_names():
    with pytest.raises(ValueError, match="unknown metric 'niqe'.*attr_acc.*clip_score.*cmmd.*fid.*kid.*psnr"):
        scoring.get("niqe")


def test_fd_interval_contains_the_estimate_and_shrinks_with_n():
    rng = np.random.default_rng(2)
    reference = metrics.gaussian_stats(rng.normal(size=(4000, 8)))
    ref = {"mu": reference[0], "sigma": reference[1]}
    small = metrics.score_fd(rng.normal(0.3, 1, size=(100, 8)), ref, 100, 0)
    large = metrics.score_fd(rng.normal(0.3, 1, size=(1600, 8)), ref, 100, 0)
    for r in (small, large):
        assert r["ci_low"] < r["value"] < r["ci_high"]
    assert large["ci_high"] - large["ci_low"] < (small["ci_high"] - small["ci_low"]) / 2
    assert large["ci_low"] < 8 * 0.3**2 < large["ci_high"] + 0.05  # true FD: |Δmu|² = 0.72, plus small-N bias


def _features(seed, n, d, shift=0.0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) / np.sqrt(d) + shift


def test_fid_of_a_set_against_itself_is_zero():
    x = _features(0, 400, 16)
    assert metrics.score_fid(x, x, 20, 0)["value"] == pytest.approx(0, abs=1e-8)


def test_fid_of_two_gaussian_samples_approaches_the_closed_form():
    rng = np.random.default_rng(3)
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(s1) - np.sqrt(s2)) ** 2).sum()  # 11.0
    x, y = rng.normal(mu1, np.sqrt(s1), (40000, 3)), rng.normal(mu2, np.sqrt(s2), (40000, 3))
    result = metrics.score_fid(x, y, 50, 0)
    assert result["value"] == pytest.approx(expected, abs=0.15)
    assert result["ci_low"] < expected < result["ci_high"]


def test_fid_matches_the_general_eigenvalue_formula():
    x, y = _features(1, 300, 24), _features(2, 500, 24, shift=0.2)
    direct = metrics.frechet_distance(*metrics.gaussian_stats(x), *metrics.gaussian_stats(y))
    assert metrics.score_fid(x, y, 10, 0)["value"] == pytest.approx(direct, rel=1e-9)


def test_fid_with_fewer_images_than_dimensions_equals_the_d_by_d_computation():
    # 12 images of 64-d features: the n × n path, replicate by replicate, against the general formula (whose
    # square roots of the 52 zero eigenvalues' round-off, ~1e-7 each, bound the agreement)
    x, y = _features(6, 12, 64, shift=0.3), _features(7, 200, 64)
    result = metrics.score_fid(x, y, 15, 3)
    assert result["value"] == pytest.approx(
        metrics.frechet_distance(*metrics.gaussian_stats(x), *metrics.gaussian_stats(y)), rel=1e-6
    )
    mu, sigma = metrics.gaussian_stats(y)
    direct = metrics.bootstrap(
        lambda idx: metrics.frechet_distance(*metrics.gaussian_stats(x[idx]), mu, sigma), len(x), 15, 3
    )
    low, high = metrics.normal_interval(result["value"], direct)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((low, high), rel=1e-6)


def test_fid_and_kid_match_torch_fidelity_on_the_same_features():
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
    from torch_fidelity.metric_kid import kid_features_to_metric

    gen = _features(4, 600, 128, shift=0.1).astype(np.float32)
    real = _features(5, 700, 128).astype(np.float32)
    stats = [fid_features_to_statistics(torch.from_numpy(f)) for f in (gen, real)]
    theirs = fid_statistics_to_metric(*stats, verbose=False)["frechet_inception_distance"]
    assert metrics.score_fid(gen, real, 10, 0)["value"] == pytest.approx(theirs, rel=1e-5)

    kid = metrics.score_kid(gen, real, subsets=20, subset_size=200, seed=2020)
    theirs = kid_features_to_metric(torch.from_numpy(gen), torch.from_numpy(real), kid_subsets=20, kid_subset_size=200,
                                    rng_seed=2020, verbose=False)  # fmt: skip
    assert kid["value"] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-5, abs=1e-7)
    assert kid["std"] == pytest.approx(theirs["kernel_inception_distance_std"], rel=1e-4)


def test_kid_is_near_zero_for_one_distribution_and_clearly_positive_for_two():
    same = metrics.score_kid(_features(6, 300, 32), _features(6, 300, 32) + 0, 10, 100, 0)
    other = metrics.score_kid(_features(6, 300, 32, shift=1.0), _features(7, 300, 32), 10, 100, 0)
    assert abs(same["value"]) < other["ci_low"] and other["subset_size"] == 100


def test_kid_per_image_is_torch_fidelitys_kid_of_the_whole_sets_and_averages_to_it():
    from torch_fidelity.metric_kid import kid_features_to_metric

    gen, real = _features(10, 300, 16, shift=0.3), _features(11, 300, 16)
    value, per_image = metrics.kid_per_image(gen, real)
    # one "subset" of all 300 images each side: a permutation, and MMD² does not depend on order
    theirs = kid_features_to_metric(torch.from_numpy(gen), torch.from_numpy(real), kid_subsets=1, kid_subset_size=300,
                                    rng_seed=0, verbose=False)  # fmt: skip
    assert value == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-9)
    assert per_image.mean() == pytest.approx(value, rel=1e-12) and per_image.shape == (300,)
    assert metrics.kid_per_image(real[:150], real[150:])[0] == pytest.approx(0, abs=0.02 * value)


def test_kid_per_image_bootstrap_has_the_estimates_sampling_spread_and_covers():
    # Known truth by simulation: draw the generated set 300 times against one fixed real set.
    rng = np.random.default_rng(0)
    real = rng.normal(size=(400, 8))
    draws = [metrics.kid_per_image(rng.normal(0.25, 1.1, size=(128, 8)), real) for _ in range(300)]
    values = np.array([v for v, _ in draws])
    truth, spread = values.mean(), values.std(ddof=1)
    ses, covered = [], []
    for _, per_image in draws[:100]:
        reps = metrics.bootstrap(per_image.take, len(per_image), 300, 0).mean(1)
        ses.append(reps.std(ddof=1))
        low, high = metrics.percentile_interval(reps)
        covered.append(low <= truth <= high)
    assert 0.8 < np.mean(ses) / spread < 1.25, (np.mean(ses), spread)
    assert np.mean(covered) >= 0.88, np.mean(covered)  # nominal 0.95, first-order


def _cmmd_direct(x, y):
    """The "Rethinking FID" reference code's MMD, transcribed to numpy."""
    gamma = 1 / (2 * 10**2)

    def k(a, b):
        return np.exp(-gamma * (-2 * a @ b.T + (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :])).mean()

    return 1000 * (k(x, x) + k(y, y) - 2 * k(x, y))


def test_cmmd_matches_a_direct_numpy_computation_and_its_bootstrap_resamples():
    x, y = _features(8, 150, 12, shift=0.5) * 3, _features(9, 130, 12) * 3
    assert metrics.cmmd(x, y)[0] == pytest.approx(_cmmd_direct(x, y), rel=1e-10)
    assert metrics.rbf_sums(x, y, np.ones((150, 1)), np.ones((130, 1)), block=32)[0] == pytest.approx(
        metrics.rbf_sums(x, y, np.ones((150, 1)), np.ones((130, 1)))[0], rel=1e-12
    )
    counts = metrics.bootstrap_counts(150, 3, 0)
    rng = np.random.default_rng(0)
    for r in range(3):  # column r is the resample `bootstrap` draws r-th
        assert metrics.cmmd(x, y, counts[:, [r]])[0] == pytest.approx(
            _cmmd_direct(x[rng.integers(0, 150, 150)], y), rel=1e-9
        )
    result = metrics.score_cmmd(x, y, 50, 0)
    assert result["ci_low"] < result["value"] < result["ci_high"]
    assert metrics.score_cmmd(y, y, 10, 0)["value"] == pytest.approx(0, abs=1e-9)


def test_clip_score_is_100_cos_clipped_at_zero():
    images = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    texts = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, -1.0]])
    assert metrics.clip_scores(images, texts) == pytest.approx([100.0, 100 / np.sqrt(2), 0.0])
