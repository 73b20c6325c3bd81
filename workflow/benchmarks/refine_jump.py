"""Refinement that jumps to the level its decisions need, against climbing one level per round, on the synthetic
sweeps of tests/test_refine.py (3 sizes × 5 step counts × 2 guidance scales, per-image noise 0.3, 32 → 256 images).

    python workflow/benchmarks/refine_jump.py

Prints, per seed and tolerance: rounds (plans), (configuration, round) pairs (what makes a round's jobs), images in
all, and the uniform design's images.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "workflow")]
import test_refine as t  # noqa: E402


def run(seed: int, one_level: bool, tolerance: dict | None) -> tuple[int, int, int, int]:
    rows, values = t.synthetic_sweep(seed)
    _, _, plans = t.refined(rows, values, tolerance=tolerance, one_level=one_level)
    return len(plans), sum(len(p["refine"]) for p in plans), sum(plans[-1]["images"].values()), 256 * len(values)


def main() -> None:
    print("tolerance  seed  design     rounds  pairs  images  uniform")
    for tolerance in (None, {"attr_acc": 0.05}):
        for seed in range(4):
            for design, one_level in (("jump", False), ("one level", True)):
                rounds, pairs, images, uniform = run(seed, one_level, tolerance)
                eps = tolerance["attr_acc"] if tolerance else "-"
                print(f"{eps!s:>9}  {seed:>4}  {design:<9}  {rounds:>6}  {pairs:>5}  {images:>6}  {uniform:>7}")


if __name__ == "__main__":
    main()
