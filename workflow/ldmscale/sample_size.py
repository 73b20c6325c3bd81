"""Advice on sample sizes: warnings (never errors) where a sweep's images are too few for what it measures.

- Fréchet distances are biased upwards in the number of images N, by about k/N with k depending on the model
  (Chong & Forsyth 2020, "Effectively Unbiased FID and Inception Score and where to find them"), so a score on few
  images is not comparable with a published one, and gaps between configurations can be the bias rather than the
  models. KID is unbiased in N, but its variance grows as N falls. Heusel et al. recommend at least 2048 images for
  Inception features (the features' dimension): below it the covariance is singular.
- Refinement's round 0 decides on `initial_images` per configuration: percentile bootstrap intervals of a mean are
  unreliable below about 30 images (the normal approximation's rule of thumb), and a decision taken there is only as
  good as they are.
"""

from __future__ import annotations

INCEPTION_METRICS = ("fid", "kid")  # Inception-feature set metrics: compared with published numbers
MIN_SET_IMAGES = 2048  # Inception's pool features have 2048 dimensions
MIN_REFINE_IMAGES = 32


def warnings(config: dict) -> list[str]:
    """Return one line per sample size the sweep uses that is too small for what it measures, naming the field."""
    out = []
    for name, task in sorted(config["tasks"].items()):
        n = task["num_images"]
        few = [m for m in task["metrics"] if m in INCEPTION_METRICS]
        if few and n < MIN_SET_IMAGES:
            out.append(
                f"tasks.{name}.num_images: {n} images for {', '.join(few)}: FID is biased upwards by about k/N and KID's "
                f"variance grows as N falls, so below {MIN_SET_IMAGES} the scores are not comparable with published "
                "ones and differences between configurations may be the bias; compare them only at equal N"
            )
    refine = config.get("refine")
    if refine and refine["initial_images"] < MIN_REFINE_IMAGES:
        out.append(
            f"refine.initial_images: {refine['initial_images']} images per configuration in round 0: bootstrap "
            f"intervals are unreliable below about {MIN_REFINE_IMAGES}, and round 0's decisions rest on them"
        )
    return out
