import hashlib
import math
import re
from types import SimpleNamespace

import browser
import numpy as np
import polars as pl
import pytest
from PIL import Image

from ldmscale import frontier


def table(rows):
    """rows: (model, steps, guidance, cost, acc)."""
    return pl.DataFrame(
        [
            {"task": "t", "model": m, "sampler": "ddim", "steps": s, "guidance": g, "normalised_cost": c,
             "attr_acc": a, "fd_toy": 1 - a if a is not None else None, "unet_params": {"small": 1, "big": 10}[m]}
            for m, s, g, c, a in rows
        ]
    )  # fmt: skip


ROWS = [
    ("small", 1, 1.0, 0.1, 0.30),
    ("small", 1, 3.0, 0.1, 0.40),  # best guidance for (small, 1)
    ("small", 4, 3.0, 0.4, 0.55),
    ("small", 16, 3.0, 1.6, 0.60),
    ("big", 1, 3.0, 1.0, 0.35),
    ("big", 4, 3.0, 4.0, 0.70),
    ("big", 16, 3.0, 16.0, 0.80),
]


def test_best_guidance_per_model_and_steps():
    best = frontier.best_guidance(table(ROWS), "attr_acc")
    assert best.height == 6
    row = best.filter((pl.col("model") == "small") & (pl.col("steps") == 1)).row(0, named=True)
    assert row["guidance"] == 3.0 and row["attr_acc"] == 0.40


def test_best_guidance_ties_go_to_smaller_guidance_and_nan_never_wins():
    rows = [
        ("small", 1, 1.0, 0.1, 0.5),
        ("small", 1, 3.0, 0.1, 0.5),
        ("small", 2, 1.0, 0.2, float("nan")),
        ("small", 2, 3.0, 0.2, 0.1),
    ]
    best = frontier.best_guidance(table(rows), "attr_acc")
    assert best["guidance"].to_list() == [1.0, 3.0]


# (model, steps) of ROWS' Pareto front, whichever direction the metric runs
FRONT = [("small", 1), ("small", 4), ("small", 16), ("big", 4), ("big", 16)]


def test_pareto_by_hand():
    front = frontier.pareto(frontier.best_guidance(table(ROWS), "attr_acc"), "normalised_cost", "attr_acc")
    assert list(zip(front["model"], front["steps"])) == FRONT


def test_pareto_lower_is_better_metric_gives_the_same_front():
    best = frontier.best_guidance(table(ROWS), "fd_toy")
    front = frontier.pareto(best, "normalised_cost", "fd_toy")
    assert list(zip(front["model"], front["steps"])) == FRONT


def test_pareto_single_model_and_equal_costs():
    rows = [("small", 1, 1.0, 1.0, 0.2), ("small", 2, 1.0, 1.0, 0.3), ("small", 4, 1.0, 2.0, 0.3)]
    front = frontier.pareto(table(rows), "normalised_cost", "attr_acc")
    assert front["steps"].to_list() == [2]


def test_best_per_budget_and_crossover():
    best = frontier.best_guidance(table(ROWS), "attr_acc")
    result = frontier.best_per_budget(best, "normalised_cost", "attr_acc", [0.1, 1.0, 2.0, 4.0, 16.0])
    assert list(zip(result["budget"], result["model"], result["steps"])) == [
        (0.1, "small", 1), (1.0, "small", 4), (2.0, "small", 16), (4.0, "big", 4), (16.0, "big", 16)
    ]  # fmt: skip
    cross = frontier.crossovers(result)
    assert cross.to_dicts() == [{"task": "t", "budget": 4.0, "from_model": "small", "to_model": "big"}]


def test_budget_below_every_cost_has_no_row():
    best = frontier.best_guidance(table(ROWS), "attr_acc")
    assert frontier.best_per_budget(best, "normalised_cost", "attr_acc", [0.01]).is_empty()


def test_budget_edges_are_log_spaced_and_end_at_the_max():
    edges = frontier.budget_edges(pl.Series([0.1, 3.0, 10.0]), 3)
    assert edges == pytest.approx([0.1, 1.0, 10.0])
    assert math.isclose(edges[-1], 10.0)


def test_chart_renders_offline(tmp_path):
    df = table(ROWS).with_columns(
        pl.col("attr_acc").alias("attr_acc_ci_low") - 0.05, (pl.col("attr_acc") + 0.05).alias("attr_acc_ci_high")
    )
    paths = [tmp_path / "c.png", tmp_path / "c.svg", tmp_path / "c.html"]
    frontier.save(frontier.chart(df, "normalised_cost", "attr_acc"), paths)
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_text().lstrip().startswith("<svg") and "normalised cost" in paths[1].read_text()
    assert_offline_html(paths[2].read_text())


def assert_offline_html(html):
    assert not re.search(r"<script[^>]*\ssrc=", html), "a script is loaded from elsewhere"
    assert "cdn.jsdelivr" not in html and "vega-embed" in html.lower()


# --- crossovers on synthetic curves with per-image values --------------------------------------------------------------

N_IMAGES = 200


def curves(means, sampler="ddim"):
    """Return (summary, per-image table) for {(model, steps): accuracy}; model cost per step: small 0.25, big 1."""
    rng = np.random.default_rng(0)
    rows, per_image = [], []
    for (model, steps), mean in means.items():
        values = rng.permutation(np.arange(N_IMAGES) < round(mean * N_IMAGES)).astype(float)
        config = {"task": "t", "model": model, "sampler": sampler, "steps": steps, "guidance": 1.0}
        rows.append({**config, "normalised_cost": steps * {"small": 0.25, "big": 1.0}[model], "attr_acc": values.mean(),
                     "attr_acc_ci_low": values.mean() - 0.07, "attr_acc_ci_high": values.mean() + 0.07,
                     "unet_params": {"small": 1, "big": 10}[model]})  # fmt: skip
        per_image.append(pl.DataFrame({**config, "metric": "attr_acc", "index": range(N_IMAGES), "value": values}))
    return pl.DataFrame(rows), pl.concat(per_image)


SMALL = {("small", 1): 0.3, ("small", 2): 0.5, ("small", 4): 0.6, ("small", 8): 0.62}


def crossings(means, with_per_image=True):
    df, per_image = curves(means)
    values = frontier.per_image_values(per_image, "attr_acc") if with_per_image else {}
    counts = frontier.Resamples(frontier.resample_counts(N_IMAGES, 2000)) if with_per_image else None
    return frontier.axis_tables(df, "normalised_cost", "attr_acc", values, counts, [])["crossovers"].to_dicts()


def test_known_crossover_is_found_and_resolved():
    (cross,) = crossings({**SMALL, ("big", 1): 0.4, ("big", 2): 0.8, ("big", 4): 0.9})
    assert (cross["budget"], cross["from_model"], cross["to_model"], cross["status"]) == (
        2.0,
        "small",
        "big",
        "resolved",
    )
    assert cross["margin_after"] == pytest.approx(0.8 - 0.62)
    assert 0 < cross["margin_after_ci_low"] < 0.18 < cross["margin_after_ci_high"]
    assert cross["margin_before"] == pytest.approx(0.6 - 0.4) and cross["margin_before_ci_low"] > 0
    assert cross["budget_ci_low"] == cross["budget_ci_high"] == 2.0  # margins of 0.2: every resample agrees
    assert (
        cross["to_config"] == "big, ddim, 2 steps, guidance 1"
        and cross["from_config"] == "small, ddim, 8 steps, guidance 1"
    )


def test_crossover_within_the_noise_is_not_resolved():
    (cross,) = crossings({**SMALL, ("big", 1): 0.4, ("big", 2): 0.63, ("big", 4): 0.64})
    assert (cross["budget"], cross["to_model"], cross["status"]) == (2.0, "big", "not resolved")
    assert cross["margin_after_ci_low"] < 0 < cross["margin_after_ci_high"]
    assert cross["budget_ci_high"] > 2.0  # in many resamples big overtakes small only later, or never


def test_crossover_without_per_image_values_needs_intervals_disjoint_at_the_bonferroni_level():
    # Scores ± 0.07 (1.96 SE). The crossover rests on 11 pairs of configurations (big's 2 within budget 2 against
    # small's 4, small's 3 within 1 against big's 1): each pair's intervals widen to z(1 − 0.05/22) = 2.84 SE, so the
    # margins after and before the change must exceed 2 × 0.0357 × 2.84 = 0.203.
    strong, weak = ({**SMALL, ("big", 1): 0.3, ("big", 2): b, ("big", 4): 0.95} for b in (0.9, 0.82))
    assert [c["status"] for c in crossings(strong, with_per_image=False)] == ["resolved"]  # 0.28 and 0.3
    # 0.2 after: beyond its own 8 pairs' Bonferroni width (2 × 0.0357 × 2.73 = 0.195), not the family's 0.203
    (cross,) = crossings(weak, with_per_image=False)
    assert cross["status"] == "not resolved" and cross["budget_ci_low"] is None
    assert cross["margin_after_ci_low"] > 0


def test_each_crossovers_budget_interval_is_its_own_event():
    # big wins at 1 (small → big), small takes the lead back at 2 with 8 steps, big at 4: three events of one pair,
    # each by a margin of 0.15 or more (over 3 standard errors), so every resample agrees on the first two.
    means = {("small", 1): 0.1, ("small", 2): 0.2, ("small", 4): 0.3, ("small", 8): 0.65, ("big", 1): 0.45,
             ("big", 2): 0.45, ("big", 4): 0.85}  # fmt: skip
    first, back, again = crossings(means)
    assert [(c["budget"], c["from_model"], c["to_model"]) for c in (first, back, again)] == [
        (1.0, "small", "big"), (2.0, "big", "small"), (4.0, "small", "big")]  # fmt: skip
    assert first["budget_ci_low"] == first["budget_ci_high"] == 1.0
    assert back["budget_ci_low"] == back["budget_ci_high"] == 2.0  # margins of 0.15 both sides: every resample agrees
    assert again["budget_ci_low"] == 4.0  # not 1.0, where big first beat small


def test_single_model_has_no_crossover():
    assert crossings(SMALL) == []


def test_resamples_are_paired_and_reproducible():
    counts = frontier.resample_counts(50, 30, seed=3)
    assert counts.shape == (30, 50) and (counts.sum(1) == 50).all()
    assert np.array_equal(counts, frontier.resample_counts(50, 30, seed=3))


def test_ties_go_to_the_cheaper_then_the_smaller_model():
    rows = [
        ("big", 1, 1.0, 1.0, 0.5),
        ("small", 2, 1.0, 1.0, 0.5),
        ("small", 4, 1.0, 2.0, 0.5),
        ("big", 2, 1.0, 0.5, 0.2),
    ]
    best = frontier.best_guidance(table(rows), "attr_acc")
    front = frontier.pareto(best, "normalised_cost", "attr_acc")
    assert list(zip(front["model"], front["steps"])) == [("big", 2), ("small", 2)]
    result = frontier.best_per_budget(best, "normalised_cost", "attr_acc", [0.5, 1.0, 2.0])
    assert list(zip(result["model"], result["steps"])) == [("big", 2), ("small", 2), ("small", 2)]


def test_nan_scores_and_costs_are_never_chosen():
    rows = [("small", 1, 1.0, 0.1, float("nan")), ("small", 2, 1.0, float("nan"), 0.9), ("small", 4, 1.0, 0.4, 0.5),
            ("big", 1, 1.0, 1.0, None)]  # fmt: skip
    df = table(rows)
    assert frontier.pareto(df, "normalised_cost", "attr_acc")["steps"].to_list() == [4]
    result = frontier.best_per_budget(df, "normalised_cost", "attr_acc", [0.1, 0.4, 10.0])
    assert list(zip(result["budget"], result["steps"])) == [(0.4, 4), (10.0, 4)]
    assert frontier.budget_edges(pl.Series([float("nan"), 0.0, 0.4, 4.0]), 2) == [0.4, 4.0]


def test_margins_name_the_best_other_model_and_none_when_alone():
    df, per_image = curves({**SMALL, ("big", 1): 0.4, ("big", 2): 0.8})
    values, counts = (
        frontier.per_image_values(per_image, "attr_acc"),
        frontier.Resamples(frontier.resample_counts(N_IMAGES, 2000)),
    )
    result = frontier.axis_tables(df, "normalised_cost", "attr_acc", values, counts, [0.5, 1.0, 2.0])["best_per_budget"]
    alone, ahead, behind = result.to_dicts()
    assert alone["runner_up_model"] is None and alone["margin"] is None
    assert (ahead["model"], ahead["runner_up_model"], ahead["separable"]) == ("small", "big", True)
    assert ahead["margin"] == pytest.approx(0.2) and ahead["margin_ci_low"] > 0
    assert (behind["model"], behind["runner_up"]) == ("big", "small, ddim, 8 steps, guidance 1")


# --- tables, summary and charts from the analysis ------------------------------------------------------------------


@pytest.fixture(scope="module")
def analysed():
    """The frontier tables of a known, resolved crossover (small → big at normalised cost 2), with intervals."""
    df, per_image = curves({**SMALL, ("big", 1): 0.4, ("big", 2): 0.8, ("big", 4): 0.9})
    df = df.with_columns(gflops_per_image=pl.col("normalised_cost") * 3, train_flops=pl.col("unet_params") * 1e12)
    return frontier.analyse(df, per_image, "attr_acc", {"normalised_cost": [0.25, 0.4, 1.0, 2.0, 4.0]}, 4, 300)


def test_analyse_uses_the_users_budgets_and_log_spaced_ones_elsewhere(analysed):
    budgets = analysed["best_per_budget"]
    assert budgets.filter(pl.col("cost_axis") == "normalised_cost")["budget"].to_list() == [0.25, 0.4, 1.0, 2.0, 4.0]
    ratio = 16 ** (1 / 3)  # gflops costs run from 0.75 to 12: 4 log-spaced budgets
    assert budgets.filter(pl.col("cost_axis") == "gflops_per_image")["budget"].to_list() == pytest.approx(
        [0.75 * ratio**k for k in range(4)]
    )
    cross = analysed["crossovers"].filter(pl.col("cost_axis") == "normalised_cost").to_dicts()
    assert [(c["budget"], c["status"]) for c in cross] == [(2.0, "resolved")]
    assert set(analysed["best_guidance"].columns) >= {
        "guidance_tried",
        "value",
        "ci_low",
        "normalised_cost",
        "train_flops",
    }


def test_summary_says_who_wins_by_how_much_and_flags_not_resolved(analysed):
    text = frontier.summary_markdown(analysed, 300)
    assert "- Budgets 0.25 to 0.4: **small, ddim, 1 step, guidance 1** (cost 0.25), attr_acc 0.3 [" in text
    assert (
        "- Budget ≤ 1: **small, ddim, 4 steps, guidance 1** (cost 1), attr_acc 0.6 [0.53, 0.67]; ahead of big, ddim, 1 step, guidance 1 by 0.2 ["
        in text
    )
    assert (
        "- at 2 [2, 2]: small → big (big, ddim, 2 steps, guidance 1 beats small, ddim, 8 steps, guidance 1 by 0.18 ["
        in text
    )
    assert "Resolved." in text and "Not resolved" not in text
    df, per_image = curves({**SMALL, ("big", 1): 0.4, ("big", 2): 0.63, ("big", 4): 0.64})
    weak = frontier.analyse(df, per_image, "attr_acc", {}, 4, 300)
    assert "**Not resolved**: the margin after the change is not; not a finding." in frontier.summary_markdown(
        weak, 300
    )


def test_crossovers_are_also_found_within_each_sampler():
    ddim, ddim_images = curves({**SMALL, ("big", 1): 0.4, ("big", 2): 0.8, ("big", 4): 0.9})
    weak = {("small", 1): 0.05, ("small", 2): 0.1, ("small", 4): 0.15, ("small", 8): 0.2}
    euler, euler_images = curves({**weak, ("big", 1): 0.4, ("big", 2): 0.8}, sampler="euler")  # big wins once it fits
    tables = frontier.analyse(pl.concat([ddim, euler]), pl.concat([ddim_images, euler_images]), "attr_acc", {}, 4, 300)
    cross = tables["crossovers"].filter(pl.col("cost_axis") == "normalised_cost")
    found = {(c["samplers"], c["budget"], c["status"]) for c in cross.to_dicts()}
    assert found == {
        ("all", 2.0, "resolved"),
        ("ddim", 2.0, "resolved"),
        ("euler", 1.0, "resolved"),
    }  # pooled: ddim decides
    text = frontier.summary_markdown(tables, 300)
    assert (
        "Within sampler ddim alone:\n- at 2 [2, 2]: small → big" in text
        and "Within sampler euler alone:\n- at 1 " in text
    )


def test_every_chart_renders_to_png_and_offline_html_in_one_call(analysed, tmp_path):
    paths = {name: tmp_path / f"{name}.parquet" for name in frontier.TABLES}
    for name, path in paths.items():
        analysed[name].write_parquet(path)
    # two sizes: no scaling law, so its tables are empty, as the scaling rule writes them then
    paths |= {"scaling_curves": tmp_path / "curves.parquet", "scaling_optimal": tmp_path / "optimal.csv"}
    pl.DataFrame().write_parquet(paths["scaling_curves"])
    pl.DataFrame().write_csv(paths["scaling_optimal"])
    out = {(kind, "normalised_cost"): [tmp_path / f"{kind}.png", tmp_path / f"{kind}.html"] for kind in frontier.CHARTS}
    frontier.write_charts({k: str(v) for k, v in paths.items()}, "attr_acc", out)
    for png, html in out.values():
        assert png.read_bytes()[:4] == b"\x89PNG"
        assert_offline_html(html.read_text())
    assert "no scaling law fitted" in out[("scaling", "normalised_cost")][1].read_text()
    with pytest.raises(
        ValueError, match="unknown chart 'pie'; valid charts: cost, winners, steps, train, scaling, optimal"
    ):
        frontier.write_charts({}, "attr_acc", {("pie", None): []})


def test_training_compute_chart_needs_the_column(analysed):
    with pytest.raises(ValueError, match="train_flops"):
        frontier.train_chart(analysed["best_guidance"].with_columns(train_flops=pl.lit(None)), "attr_acc")


def test_training_compute_chart_takes_each_models_own_largest_steps_and_marks_students(analysed):
    """A student swept to fewer steps than its teacher is still a point, at its own largest step count."""
    teachers = analysed["best_guidance"].with_columns(distilled_from=pl.lit(None, pl.String))
    student = teachers.filter((pl.col("model") == "big") & (pl.col("steps") <= 2)).with_columns(
        model=pl.lit("big-lcm"), distilled_from=pl.lit("big"), train_flops=pl.col("train_flops") * 1.1
    )
    spec = frontier.train_chart(pl.concat([teachers, student]), "attr_acc").to_dict()
    points = {(r["model"], r["steps"], r["kind"]) for r in next(iter(spec["datasets"].values()))}
    assert points == {("small", 8, "undistilled"), ("big", 4, "undistilled"), ("big-lcm", 2, "distilled")}
    assert "triangle-up" in str(spec["spec"]["layer"][1]["encoding"]["shape"])


@pytest.mark.skipif(browser.chromium() is None, reason="no chromium (apt-get install -y chromium)")
def test_html_draws_in_headless_chromium_without_network(analysed, tmp_path):
    html, shot = tmp_path / "frontier.html", tmp_path / "shot.png"
    frontier.save(
        frontier.winners_chart(analysed["best_per_cost"], analysed["crossovers"], "normalised_cost", "attr_acc"), [html]
    )
    browser.screenshot(html, shot, size=(900, 500))
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    small_blue, big_orange = (76, 120, 168), (245, 133, 24)  # the first two colours of Vega's palette: the two models
    for colour in (small_blue, big_orange):
        assert (np.abs(pixels - colour).sum(-1) < 30).sum() > 20, f"no point of colour {colour}: the chart did not draw"


# --- the tables' bytes: a fixed sweep through write_all, the writer the frontier rule calls -------------------------

GOLDEN_MODELS = {"s": (1, 0.25), "m": (4, 0.5), "l": (10, 1.0)}  # model: (UNet parameters, normalised cost per step)


def golden_sweep(n_images=128):
    """Return (summary, per-image table) of 3 models × 2 samplers × 4 step counts × 2 guidance scales, seed 0.

    attr_acc has per-image values (the paired bootstrap); fd_toy is set-level, with its own intervals only.
    """
    rng = np.random.default_rng(0)
    rows, per_image = [], []
    for model, (params, per_step) in GOLDEN_MODELS.items():
        for sampler in ("ddim", "euler"):
            for steps in (1, 2, 4, 8):
                for guidance in (1.0, 3.0):
                    cap = {"s": 0.45, "m": 0.7, "l": 0.97}[model] - (0.05 if sampler == "euler" else 0.0)
                    mean = cap * (1 - math.exp(-steps / (1 + params / 4))) + (0.04 if guidance == 3.0 else 0.0)
                    values = (rng.random(n_images) < mean).astype(float)
                    config = {"task": "t", "model": model, "sampler": sampler, "steps": steps, "guidance": guidance}
                    cost = steps * per_step
                    acc, fd = values.mean(), 1.0 - values.mean() + rng.normal(0, 0.02)
                    rows.append({**config, "normalised_cost": cost, "gflops_per_image": cost * 3 + 0.5,
                                 "latency_ms_per_image": round(cost * 7 + 1.5 + rng.uniform(0, 0.5), 3),
                                 "latency_device": "cpu", "attr_acc": acc, "attr_acc_ci_low": acc - 0.06,
                                 "attr_acc_ci_high": acc + 0.06, "fd_toy": fd, "fd_toy_ci_low": fd - 0.05,
                                 "fd_toy_ci_high": fd + 0.05, "unet_params": params, "train_flops": params * 1e12,
                                 "num_images": n_images})  # fmt: skip
                    per_image.append(
                        pl.DataFrame({**config, "metric": "attr_acc", "index": range(n_images), "value": values})
                    )
    return pl.DataFrame(rows), pl.concat(per_image)


# SHA-256 of each file write_all writes from golden_sweep(): the five CSV tables and README.md, with the project's
# pinned polars and numpy. First produced by the pre-split module (workflow/ldmscale/frontier.py at commit 8fbf2e7);
# changed deliberately once since, when every configuration came to compete within a budget and "resolved" became
# family-wise (issue 30: the normalised-cost rows kept their winners, the latency rows changed). Any change to a
# table's bytes must be deliberate: say why in the commit and update the hash here.
GOLDEN_SHA256 = {
    "best_guidance.csv": "92d45d0244fd2ff02604edb60d678c9f97951ecc515372e0166b3ab7ca568353",
    "pareto.csv": "c53a52414af870487f298a52f526cc045f58496f8b81a87097161309f8480647",
    "best_per_budget.csv": "e78d799511034bc083c988c5f2cf99e670de355af7a6dd195de10fa114a71915",
    "best_per_cost.csv": "b9f2d72c5aafb9b7b03469443eb2c0a45efc1532a56cf5ea9c219d0631446ef7",
    "crossovers.csv": "e76cec4c6b84c3778c86f6ac0c7b8025c6487b49011a73e251aa5fbaf7083b79",
    "README.md": "bb703462b8a3be090f3503a9b828667e4fcfb4d09bcf67984639e9c450b0cc35",
}


def golden_hashes(tmp_path, summary, per_image):
    """Return {file name: SHA-256} of what write_all writes from the two tables, both metrics, 200 resamples."""
    summary.write_parquet(tmp_path / "summary.parquet")
    per_image.write_parquet(tmp_path / "per_image.parquet")
    out = SimpleNamespace(
        tables=[str(tmp_path / f"{name}.csv") for name in frontier.TABLES],
        parquet=[],
        readme=str(tmp_path / "README.md"),
    )
    frontier.write_all(str(tmp_path / "summary.parquet"), str(tmp_path / "per_image.parquet"), out,
                       ["attr_acc", "fd_toy"], {"normalised_cost": [0.25, 1.0, 2.0, 4.0, 8.0]}, 5, 200)  # fmt: skip
    names = [*(f"{name}.csv" for name in frontier.TABLES), "README.md"]
    return {name: hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() for name in names}


def test_frontier_tables_bytes_change_only_deliberately(tmp_path):
    # Crossovers resolved and not, per-image and set-level intervals, guidance 1 and 3 chosen, user's and log-spaced
    # budgets on all three cost axes: every table and sentence the analysis writes is in these bytes.
    assert golden_hashes(tmp_path, *golden_sweep()) == GOLDEN_SHA256


def test_a_margin_and_its_interval_come_from_the_same_images():
    """A refined configuration has 128 images, its rival 32: the margin is on the 32 both have, as its interval is."""
    rng = np.random.default_rng(0)
    va = np.r_[rng.normal(0.5, 0.1, 32), rng.normal(0.9, 0.1, 96)]  # its later images score higher
    vb = va[:32] + rng.normal(0.0, 0.05, 32)
    a, b = ({"task": "t", "model": m, "sampler": "ddim", "steps": 1, "guidance": 1.0} for m in "ab")
    values = {tuple(a.values()): va, tuple(b.values()): vb}
    margin = frontier.compare({**a, "attr_acc": va.mean()}, {**b, "attr_acc": vb.mean()}, "attr_acc", values,
                              frontier.Resamples(frontier.resample_counts(128, 2000)))  # fmt: skip
    assert margin["margin"] == pytest.approx((va[:32] - vb).mean())
    assert margin["margin_ci_low"] <= margin["margin"] <= margin["margin_ci_high"] < va.mean() - vb.mean()


def test_latencies_from_different_devices_are_said_not_to_compare():
    """Two models timed on different GPUs: the latency section of the README and the cost table say so, naming
    which model ran where; one device, no note."""
    from ldmscale.image_cost import devices_note

    df, per_image = curves({**SMALL, ("big", 1): 0.4, ("big", 2): 0.8, ("big", 4): 0.9})
    df = df.with_columns(latency_ms_per_image=pl.col("normalised_cost") * 7.0)
    one = frontier.analyse(df.with_columns(latency_device=pl.lit("NVIDIA H100")), per_image, "attr_acc", {}, 4, 100)
    assert "not comparable" not in frontier.summary_markdown(one, 100)
    two = df.with_columns(latency_device=pl.when(pl.col("model") == "big").then(pl.lit("NVIDIA A100"))
                          .otherwise(pl.lit("NVIDIA H100")))  # fmt: skip
    text = frontier.summary_markdown(frontier.analyse(two, per_image, "attr_acc", {}, 4, 100), 100)
    section = text.split("by latency_ms_per_image")[1]
    assert "**Latency was measured on 2 devices** (big on NVIDIA A100; small on NVIDIA H100)" in section
    assert "are not comparable" in devices_note(two.unique("model")) and devices_note(two.head(1)) == ""


def test_a_tolerance_calls_a_near_tie_tied_and_names_every_model_within_it():
    """At budget 4 big (4 steps, 0.63) leads small (8 steps, 0.62) by 0.01, which no sample this size separates; at 2
    small leads big by 0.17; at 0.25 only small fits."""
    df, per_image = curves({**SMALL, ("big", 1): 0.3, ("big", 2): 0.45, ("big", 4): 0.63})
    budgets = {"normalised_cost": [0.25, 2.0, 4.0]}

    def statuses(tolerance):
        table = frontier.analyse(df, per_image, "attr_acc", budgets, 4, 300, tolerance=tolerance)["best_per_budget"]
        rows = table.filter(pl.col("cost_axis") == "normalised_cost").sort("budget")
        return list(zip(rows["model"], rows["status"], rows["tied_models"]))

    assert statuses(0.2) == [("small", None, None), ("small", "resolved", None), ("big", "tied within", "big, small")]
    assert statuses(0.001)[2] == ("big", "not resolved", None)  # the tie is wider than this tolerance allows
    plain = frontier.analyse(df, per_image, "attr_acc", budgets, 4, 300)["best_per_budget"]
    assert "status" not in plain.columns  # no tolerance, the tables as before
    text = frontier.summary_markdown(frontier.analyse(df, per_image, "attr_acc", budgets, 4, 300, tolerance=0.2), 300)
    assert "**tied within 0.2**: any of big, small is fine." in text
