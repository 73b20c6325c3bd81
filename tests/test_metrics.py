import numpy as np
import pytest
import torch

from ldmscale import metrics
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
        *metrics.gaussian_stats(metrics.scorer_outputs(scorer, real)[0]),
        *metrics.gaussian_stats(metrics.scorer_outputs(scorer, fake)[0]),
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
    with pytest.raises(ValueError, match="unknown metric 'fid'.*attr_acc"):
        metrics.get("fid")


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
