"""Replay adaptive refinement on a pool of a uniform run's per-image values, to measure "the same guarantee" rather
than assert it (issue 34 item 4).

    python workflow/benchmarks/refine_replay.py results/toy-uniform --config config/examples/toy-refine.yaml \
        --replays 200 [--cap 256] [--metrics attr_acc] [--out replay.json]

The pool is the uniform run's `summary.parquet` and `per_image.parquet` (N images per configuration); each
configuration's truth is its mean over the pool. Each replay orders the pool's images at random (one order for every
configuration, so the pairing holds), refines the config's sweep (`refine`: levels, tolerance) on the first `--cap`
of them (default N) with the workflow's own plans, and reads the frontier's verdicts at the budgets of its
README (8 per cost axis). Printed, and written to `--out`:

- the images refinement used, against the uniform design at the cap, and against the smallest uniform level that
  settles (resolves, or ties within the tolerance) every budget the refinement settles, in the same replay;
- the budgets the frontier settles after refinement, beside those the uniform design at the cap settles on the same
  images: the guarantee each reports, which a comparison of images alone leaves out;
- how often every winner the frontier settles (resolved, or tied within the tolerance) is, in truth, within the
  tolerance of the best configuration that fits (ε-good), and the share of every budget's winner, settled or not,
  that is;
- how often a replay makes any wrong "resolved" claim (another model is, in truth, better within the budget), per
  metric and cost axis: the family the frontier's 5% is stated for.

A `--cap` above the pool's size draws each replay's images with replacement (the bootstrap world: every image an
independent draw from the pool's images, one draw for every configuration so that the pairing holds, and the truth
the pool's means). It keeps the per-image values' tails, which `refine_projection.py`'s normal noise does not, but
not any beyond the pool's.

The truth of a metric with per-image influence values (KID) is the mean of those values over the pool, the same
quantity the replay observes on fewer images: a self-consistent check of the design, not of KID's approximation.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ldmscale import frontier, replay, rounds  # noqa: E402
from ldmscale.frontier.uncertainty import RESOLVED, TIED  # noqa: E402
from ldmscale.paths import CONFIG_KEYS  # noqa: E402


def pool(results: Path, metrics: list[str]) -> tuple[pl.DataFrame, dict, int]:
    """Return the pool's configurations (keys and costs), their per-image values by metric, and its image count."""
    summary = pl.read_parquet(results / "summary.parquet")
    per_image = pl.read_parquet(results / "per_image.parquet")
    keep = [c for c in (*CONFIG_KEYS, "unet_params", "unet_gflops", "train_flops", "distilled_from", "nfe", "cfg",
                        *replay.frontier_costs(summary)) if c in summary.columns]  # fmt: skip
    rows = summary.select(keep).filter(pl.col("sampler") != "baseline")
    values = {m: {rounds.key(dict(zip(CONFIG_KEYS, k))): v for k, v in frontier.per_image_values(per_image, m).items()}
              for m in metrics}  # fmt: skip
    sizes = {len(v) for by_config in values.values() for v in by_config.values()}
    if len(sizes) != 1:
        raise SystemExit(f"{results}: configurations hold different image counts {sorted(sizes)}: not a uniform run")
    return rows, values, sizes.pop()


def settled(verdicts: pl.DataFrame) -> set[tuple]:
    return {
        (r["cost_axis"], r["budget"]) for r in verdicts.iter_rows(named=True) if r["status"] in (RESOLVED, TIED, None)
    }  # fmt: skip (None: one model fits, nothing to decide)


BUDGETS = {"readme": {"edges": {}, "buckets": 8}, "own": None}  # the workflow's (frontier defaults), the charts'


def one_replay(rows, pooled, truth, settings, cap, seed, reps, scan=True, budgets="readme") -> dict:
    n, rng = len(next(iter(next(iter(pooled.values())).values()))), np.random.default_rng(seed)
    order = rng.permutation(n) if cap <= n else rng.integers(0, n, cap)  # above the pool: with replacement
    values = {m: {c: v[order][:cap] for c, v in by_config.items()} for m, by_config in pooled.items()}
    caps = dict.fromkeys(values[next(iter(values))], cap)
    summary, per_image, plans = replay.refine_to_the_end(rows, values, settings, caps, reps, budgets=BUDGETS[budgets])
    out = {"seed": seed, "rounds": len(plans), "pairs": sum(len(p["refine"]) for p in plans),
           "images": sum(plans[-1]["images"].values()), "uniform_images": cap * len(caps), "metrics": {},
           **({"scanned": True} if scan else {})}  # fmt: skip
    levels = rounds.levels(settings, cap)
    for metric, eps in settings["tolerance"].items():
        v = replay.verdicts(summary, per_image, truth, metric, plans[-1]["level"], eps, reps)
        mine = settled(v)
        at_cap = settled(
            replay.verdicts(*replay.observed(rows, values, caps), truth, metric, frontier.LEVEL, eps, reps)
        )
        smallest = None
        for n in levels if scan else []:  # the smallest uniform level that settles every budget refinement settles
            uniform = replay.verdicts(*replay.observed(rows, values, dict.fromkeys(caps, n)), truth, metric,
                                      frontier.LEVEL, eps, reps)  # fmt: skip
            if mine <= settled(uniform):
                smallest = n
                break
        wrong = v.filter(pl.col("wrong")).group_by("cost_axis").len()
        out["metrics"][metric] = {
            "budgets": v.height, "settled": len(mine), "settled_uniform_at_cap": len(at_cap),
            "good": int(v["good"].sum()),
            "settled_all_good": bool(v.filter(pl.col("status").is_in([RESOLVED, TIED]) | pl.col("status").is_null())
                                     ["good"].all()),
            "wrong_axes": wrong["cost_axis"].to_list(),
            "smallest_uniform_level": smallest,
        }  # fmt: skip
    return out


def report(runs: list[dict], settings: dict, cap: int, pool_size: int) -> str:
    def span(xs):
        return f"{np.median(xs):,.0f} ({min(xs):,}–{max(xs):,})"

    images = [r["images"] for r in runs]
    uniform = runs[0]["uniform_images"]
    lines = [f"{len(runs)} replays, pool {pool_size} images per configuration, cap {cap}, "
             f"levels {rounds.levels(settings, cap)}, tolerance {settings['tolerance']}",
             "",
             f"images, refined: median {span(images)}, {np.median(images) / uniform:.1%} of the uniform design's "
             f"{uniform:,} at the cap",
             f"rounds: {span([r['rounds'] for r in runs])}; (configuration, round) pairs: {span([r['pairs'] for r in runs])}",
             "", "| metric | replays whose every settled winner is ε-good | winners ε-good, all budgets | replays with a "
             "wrong resolved claim (per cost axis) | budgets settled | by the uniform design at the cap | smallest uniform "
             "level settling the same | its images ÷ refined |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for metric in settings["tolerance"]:
        ms = [r["metrics"][metric] for r in runs]
        axes = sorted({a for m in ms for a in m["wrong_axes"]} | {"normalised_cost"})
        wrong = ", ".join(f"{a} {sum(a in m['wrong_axes'] for m in ms) / len(ms):.1%}" for a in axes)
        scanned = [r for r in runs if "scanned" in r]
        level = [r["metrics"][metric]["smallest_uniform_level"] for r in scanned]
        ratio = [lv * (r["uniform_images"] // cap) / r["images"] for lv, r in zip(level, scanned) if lv]
        good = sum(m["good"] for m in ms) / sum(m["budgets"] for m in ms)
        lines.append(f"| {metric} | {np.mean([m['settled_all_good'] for m in ms]):.1%} | {good:.1%} | {wrong} | "
                     f"{np.median([m['settled'] for m in ms]):.0f} of {ms[0]['budgets']} | "
                     f"{np.median([m['settled_uniform_at_cap'] for m in ms]):.0f} | "
                     f"{'none' if not ratio else span([lv for lv in level if lv])} "
                     f"({sum(lv is None for lv in level)} of {len(scanned)} replays: none) | "
                     f"{'–' if not ratio else f'{np.median(ratio):.2f}×'} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "results", type=Path, help="a uniform run's results folder (summary.parquet, per_image.parquet)"
    )
    parser.add_argument("--config", type=Path, required=True, help="the refined config: its refine section")
    parser.add_argument("--replays", type=int, default=200)
    parser.add_argument("--cap", type=int, help="images per configuration at most (default: the pool's)")
    parser.add_argument("--metrics", nargs="+", help="default: every metric of refine.tolerance")
    parser.add_argument("--reps", type=int, default=200, help="paired bootstrap resamples")
    parser.add_argument("--scan", type=int, help="search the smallest uniform level in the first SCAN replays only")
    parser.add_argument("--budgets", choices=BUDGETS, default="readme",
                        help="decide at the README's 8 budgets per axis (as the workflow does), or at every "
                        "configuration's own cost")  # fmt: skip
    parser.add_argument("--tolerance", nargs="+", default=[], metavar="METRIC=EPS", help="override a tolerance")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    settings = yaml.safe_load(args.config.read_text())["refine"]
    settings = {"growth": 2, **settings}
    if args.metrics:
        settings["tolerance"] = {m: settings["tolerance"][m] for m in args.metrics}
    for item in args.tolerance:
        metric, eps = item.split("=")
        settings["tolerance"][metric] = float(eps)
    rows, pooled, pool_size = pool(args.results, list(settings["tolerance"]))
    cap = args.cap or pool_size
    truth = rows.select(*CONFIG_KEYS).with_columns(
        **{m: pl.Series([pooled[m][rounds.key(r)].mean() for r in rows.iter_rows(named=True)]) for m in pooled}
    )
    runs, start = [], time.perf_counter()
    for seed in range(args.replays):
        scan = args.scan is None or seed < args.scan
        runs.append(one_replay(rows, pooled, truth, settings, cap, seed, args.reps, scan, args.budgets))
        print(f"replay {seed}: {runs[-1]['images']} images, {time.perf_counter() - start:.0f} s", file=sys.stderr)
    text = report(runs, settings, cap, pool_size)
    print(text)
    if args.out:
        args.out.write_text(json.dumps({"settings": settings, "cap": cap, "pool": pool_size, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
