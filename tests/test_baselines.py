"""Super-resolution baselines (bicubic, say): the upscaled inputs against a direct computation, a zero-cost row that
wins a budget only where no model beats it (against brute force), each model's paired margin over it, and never a
model size (the scaling law leaves it out)."""

from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from PIL import Image
from test_scaling import family

from ldmscale import frontier, scaling, sr, tasks
from ldmscale.frontier.baselines import against_baselines
from ldmscale.paths import BASELINE

N = 200
COST_PER_STEP = {"small": 0.25, "big": 1.0}


def sweep(means: dict, baseline: float, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (summary, per-image) of attr_acc for {(model, steps): mean} and a bicubic baseline of mean `baseline`
    at zero cost: per image a shared image effect (the pairing) plus noise, so that no two scores tie."""
    rng = np.random.default_rng(seed)
    image = rng.normal(0, 0.1, N)
    configs = [(m, "ddim", s, mean) for (m, s), mean in means.items()] + [("bicubic", BASELINE, 0, baseline)]
    rows, per_image = [], []
    for model, sampler, steps, mean in configs:
        values = mean + image + rng.normal(0, 0.05, N)
        config = {"task": "t", "model": model, "sampler": sampler, "steps": steps, "guidance": 1.0}
        rows.append({**config, "baseline": sampler == BASELINE, "normalised_cost": steps * COST_PER_STEP.get(model, 0),
                     "attr_acc": values.mean(), "attr_acc_ci_low": values.mean() - 0.02,
                     "attr_acc_ci_high": values.mean() + 0.02,
                     "unet_params": {"small": 1, "big": 10}.get(model)})  # fmt: skip
        per_image.append(pl.DataFrame({**config, "metric": "attr_acc", "index": range(N), "value": values}))
    return pl.DataFrame(rows), pl.concat(per_image)


def test_the_baseline_upscales_each_input_as_pil_does_and_its_psnr_is_the_direct_one():
    from ldmscale import paired

    doc = tasks.super_resolution({"images": None, "scale": 4, "crop": 32, "degradation": "bicubic", "seed": 3,
                                      "prompt": "", "noise_level": 20}, 6)  # fmt: skip
    truths = np.stack([sr.ground_truth(doc, i) for i in range(6)])
    lows = sr.inputs(doc, range(6))
    direct = np.stack([np.asarray(Image.fromarray(x).resize((32, 32), Image.Resampling.BICUBIC)) for x in lows])
    upscaled = np.stack(sr.baseline(doc, range(6), "bicubic"))
    np.testing.assert_array_equal(upscaled, direct)
    mse = ((direct.astype(float) - truths.astype(float)) ** 2).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(paired.psnr(upscaled, truths), 10 * np.log10(255**2 / mse), rtol=1e-5)
    nearest = np.stack(sr.baseline(doc, range(6), "nearest"))
    assert not np.array_equal(nearest, upscaled) and nearest.shape == upscaled.shape


def test_a_baseline_wins_a_budget_exactly_where_no_model_within_it_beats_it():
    budgets, seen = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0], {"baseline": 0, "model": 0, "crossover": 0}
    for seed in range(6):
        rng = np.random.default_rng(seed)
        means = {(m, s): rng.uniform(0.2, 0.9) for m in ("small", "big") for s in (1, 2, 4, 8)}
        df, per_image = sweep(means, baseline=0.55, seed=seed)
        tables = frontier.analyse(df, per_image, "attr_acc", {"normalised_cost": budgets}, 4, 50)
        won = tables["best_per_budget"].filter(pl.col("cost_axis") == "normalised_cost").sort("budget")
        assert won["budget"].to_list() == budgets
        for budget, model in zip(budgets, won["model"]):
            fits = df.filter(pl.col("normalised_cost") <= budget)  # the brute force, the baseline among them
            assert model == fits.sort("attr_acc", descending=True)["model"][0], (seed, budget)
            seen["baseline" if model == "bicubic" else "model"] += 1
        if won["model"][0] == "bicubic" and won["model"][-1] != "bicubic":  # a change from the baseline to a model
            crosses = tables["crossovers"].filter(pl.col("samplers") == "all")
            assert "bicubic" in crosses["from_model"].to_list(), seed
            seen["crossover"] += 1
    assert all(seen.values()), seen  # both kinds of winner, and a crossover from the baseline


def test_each_model_is_given_its_paired_margin_over_the_baseline_and_the_readme_says_from_where_it_wins():
    df, per_image = sweep({("small", 1): 0.3, ("small", 4): 0.6, ("big", 1): 0.4, ("big", 4): 0.9}, baseline=0.5)
    values = frontier.per_image_values(per_image, "attr_acc")
    counts = {"t": frontier.Resamples(frontier.resample_counts(N, 400))}
    table = against_baselines(df, "attr_acc", values, counts)
    assert table.height == 2 and set(table["baseline"]) == {"bicubic"}
    for row in table.iter_rows(named=True):
        best = df.filter(pl.col("model") == row["model"]).sort("attr_acc")[-1].to_dicts()[0]
        key = ("t", row["model"], "ddim", best["steps"], 1.0)
        direct = (values[key] - values[("t", "bicubic", BASELINE, 0, 1.0)]).mean()
        assert row["margin"] == pytest.approx(direct) and row["margin_ci_low"] < direct < row["margin_ci_high"]
        assert row["separable"] and row["config"].startswith(f"{row['model']}, ddim, 4 steps")
    tables = frontier.analyse(df, per_image, "attr_acc", {"normalised_cost": [0.25, 1.0, 4.0]}, 4, 200)
    text = frontier.summary.baselines_markdown(tables["baselines"], tables["best_per_budget"])
    assert "## Against the baselines" in text and "by normalised_cost: a model beats bicubic from budget 1 (" in text
    assert "| small | small, ddim, 4 steps, guidance 1 |" in text and "yes, the model is better" in text


def test_no_scaling_table_counts_a_baseline_as_a_size(tmp_path):
    summary, per_image = family(0)
    base = {"task": "t", "model": "bicubic", "sampler": BASELINE, "steps": 0, "guidance": 1.0}
    with_baseline = pl.concat([summary, pl.DataFrame([{**base, "kid_toy": 0.3, "gflops_per_image": 0.0,
                                                       "normalised_cost": 0.0}])], how="diagonal_relaxed")  # fmt: skip
    per_image_b = pl.concat([per_image, pl.DataFrame({**base, "metric": "kid_toy", "index": range(128),
                                                      "value": np.full(128, 0.3)})])  # fmt: skip
    written = {}
    for name, (s, p) in {"plain": (summary, per_image), "baseline": (with_baseline, per_image_b)}.items():
        root = tmp_path / name
        root.mkdir()
        s.write_parquet(root / "summary.parquet")
        p.write_parquet(root / "per_image.parquet")
        files = ("scaling", "validation", "optimal", "predicted_scores", "predicted", "deployment")
        out = SimpleNamespace(**{f: root / f"{f}.csv" for f in files}, curves=root / "curves.parquet",
                              readme=root / "scaling.md")  # fmt: skip
        scaling.write_all(str(root / "summary.parquet"), str(root / "per_image.parquet"), out, ["kid_toy"], 3,
                          ["additive"])  # fmt: skip
        written[name] = {f: (root / f"{f}.csv").read_text() for f in files} | {"readme": out.readme.read_text()}
    assert written["baseline"] == written["plain"] and "bicubic" not in "".join(written["baseline"].values())


def test_the_charts_draw_a_baseline_as_a_line_in_every_panel_and_never_at_zero_on_a_log_axis():
    import json

    df, per_image = sweep({("small", 1): 0.3, ("small", 4): 0.6, ("big", 1): 0.4, ("big", 4): 0.9}, baseline=0.5)
    tables = frontier.analyse(df, per_image, "attr_acc", {"normalised_cost": [0.25, 1.0, 4.0]}, 4, 50)
    assert 0.0 in tables["best_per_cost"]["budget"].to_list()  # the baseline's own cost is a row of the table
    winners = frontier.winners_chart(tables["best_per_cost"], tables["crossovers"], "normalised_cost", "attr_acc")
    drawn = [r for rows in winners.to_dict()["datasets"].values() for r in rows if "budget" in r]
    assert drawn and min(r["budget"] for r in drawn) > 0
    cost = frontier.cost_chart(tables["best_guidance"], tables["pareto"], "normalised_cost", "attr_acc").to_dict()
    rows = [r for rows in cost["datasets"].values() for r in rows]
    lines = [r for r in rows if r.get("reference")]
    assert [(r["model"], r["sampler"]) for r in lines] == [("bicubic", "ddim")]  # in the one sampler's panel
    assert not [r for r in rows if r["sampler"] == BASELINE] and '"rule"' in json.dumps(cost)
