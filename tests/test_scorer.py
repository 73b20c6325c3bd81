"""The shipped toy scorer is a trustworthy judge: near-perfect on held-out real images, clearly worse on corrupted ones."""

from pathlib import Path

import numpy as np
import pytest

from ldmscale import features, metrics
from ldmscale.toy import data, nets

SHIPPED = Path(__file__).resolve().parents[1] / "resources" / "toy" / f"v{data.DATA_VERSION}"
HELD_OUT_SEED = 12345  # neither the training stream (seed 0) nor a task's prompts


@pytest.fixture(scope="module")
def judged():
    scorer = nets.load_scorer(SHIPPED / "scorer")
    images, labels, _ = data.dataset(HELD_OUT_SEED, 0, 512, 32)
    reference, _, _ = data.dataset(HELD_OUT_SEED, 10_000, 1024, 32)
    stats = metrics.gaussian_stats(features.scorer_outputs(scorer, reference)[0])

    def judge(batch):
        feats, predictions = features.scorer_outputs(scorer, batch)
        accuracy = metrics.attribute_accuracy(predictions, labels, list(data.ATTRIBUTES))
        return accuracy, metrics.frechet_distance(*metrics.gaussian_stats(feats), *stats)

    return images, judge


def test_scorer_reads_held_out_real_images_at_least_98_percent_right(judged):
    images, judge = judged
    accuracy, _ = judge(images)
    assert accuracy["all_correct"] >= 0.98, accuracy
    assert min(accuracy["per_attribute"].values()) >= 0.98, accuracy


def test_noise_and_wrong_colours_score_clearly_worse(judged):
    images, judge = judged
    clean, fd_clean = judge(images)
    rng = np.random.default_rng(0)
    noisy = np.clip(images + rng.normal(0, 60, images.shape), 0, 255).astype(np.uint8)
    swapped = images[..., ::-1].copy()  # RGB → BGR: red becomes blue, the shapes stay
    noisy_accuracy, fd_noisy = judge(noisy)
    assert np.mean(noisy_accuracy["per_image"]) < np.mean(clean["per_image"]) - 0.1
    assert fd_noisy > 5 * fd_clean
    # Swapping channels maps the palette onto itself, so the *set* of colours (all FD sees) barely moves;
    # matching each image to its caption is the attribute accuracy's job, and it drops.
    assert np.mean(judge(swapped)[0]["per_image"]) < np.mean(clean["per_image"]) - 0.1
    colour = judge(swapped)[0]["per_attribute"]
    assert colour["colour_1"] < 0.5 and colour["shape_1"] > 0.9  # the colour is wrong, the shape is still read
