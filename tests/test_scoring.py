"""Scores from cached feature files, as the score rule computes them: numpy only, each toy metric with its floor."""

import subprocess
import sys

import numpy as np
import pytest

from ldmscale import features, metrics, scoring

META = {"extractor": "toy-scorer", "weights_sha256": "ab", "n": "40"}


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=(40, 3))
    predictions = labels.copy()
    predictions[:10, 0] = 1 - predictions[:10, 0]  # 10 images get one of three attributes wrong
    generated = {"images": rng.normal(0.5, 1, (40, 8)).astype(np.float32), "predictions": predictions}
    reference = {"images": rng.normal(0, 1, (300, 8)).astype(np.float32), "held_out": rng.normal(0, 1, (40, 8)).astype(np.float32),
                 "held_out_predictions": labels.copy(), "held_out_labels": labels}  # fmt: skip
    features.save(tmp_path / "gen.safetensors", generated, META)
    features.save(tmp_path / "ref.safetensors", reference, {**META, "n": "300"})
    doc = {"attributes": ["a", "b", "c"], "items": [{"index": i, "labels": labels[i].tolist()} for i in range(40)]}
    return doc, str(tmp_path / "gen.safetensors"), str(tmp_path / "ref.safetensors"), generated, reference


def test_toy_metrics_from_feature_files(files):
    doc, gen, ref, generated, reference = files
    acc = scoring.score("attr_acc", doc, gen, ref, {}, 50)
    assert acc["value"] == pytest.approx(1 - 10 / 40 / 3) and acc["floor"] == 1.0 and len(acc["per_image"]) == 40
    fd = scoring.score("fd_toy", doc, gen, ref, {}, 50)
    stats = metrics.gaussian_stats(reference["images"])
    assert fd["value"] == pytest.approx(
        metrics.frechet_distance(*metrics.gaussian_stats(generated["images"]), *stats), rel=1e-6
    )
    assert fd["floor"] < fd["value"]
    kid = scoring.score("kid_toy", doc, gen, ref, {}, 50)
    assert kid["value"] == pytest.approx(metrics.kid_per_image(generated["images"], reference["images"])[0])
    assert kid["ci_low"] < kid["value"] < kid["ci_high"] and abs(kid["floor"]) < kid["ci_low"]
    assert {acc["higher_is_better"], fd["higher_is_better"], kid["higher_is_better"]} == {True, False}


def test_features_of_other_extractors_are_refused(files, tmp_path):
    doc, gen, _, generated, reference = files
    features.save(tmp_path / "other.safetensors", reference, {**META, "weights_sha256": "cd"})
    with pytest.raises(ValueError, match="different extractors or weights"):
        scoring.score("kid_toy", doc, gen, str(tmp_path / "other.safetensors"), {}, 10)
    with pytest.raises(ValueError, match="unknown metric 'niqe'"):
        scoring.score("niqe", doc, gen, None, {}, 10)


def test_a_score_job_imports_no_torch():
    code = (
        "import sys; from ldmscale import files, scoring; print(sorted({'torch', 'PIL', 'polars'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="workflow"
    ).stdout
    assert out.strip() == "[]"
