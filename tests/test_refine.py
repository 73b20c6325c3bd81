"""Adaptive refinement: levels and rounds, the plan on synthetic sweeps whose truth is known, the coverage of its
intervals under optional stopping, and the refined tiny workflow (rounds, shards, reruns)."""

from __future__ import annotations

import shutil

import numpy as np
import polars as pl
import pytest
from helpers import planned_jobs, snakemake, tiny_config

from ldmscale import config as cfg
from ldmscale import files, frontier, refine, replay, rounds
from ldmscale.paths import CONFIG_KEYS

REFINE = {"initial_images": 32, "growth": 2}
TASKS = {"t": {"num_images": 256}}


def test_levels_grow_by_the_factor_up_to_the_tasks_images():
    assert rounds.levels(REFINE, 256) == [32, 64, 128, 256]
    assert rounds.levels(REFINE, 200) == [32, 64, 128, 200]
    assert rounds.levels(REFINE, 32) == [32]
    assert rounds.looks(REFINE, {"a": {"num_images": 64}, "b": {"num_images": 256}}) == 4


def test_a_plan_moves_only_its_configurations_one_level_up():
    a, b = "t/m/ddim/s2_g1", "t/m/ddim/s4_g1"
    assert rounds.key({"task": "t", "model": "m", "sampler": "ddim", "steps": 2, "guidance": 1.0}) == a
    plan = {"images": {a: 32, b: 64}, "refine": [b]}
    assert rounds.advance(plan, REFINE, TASKS) == {a: 32, b: 128}


def test_refine_levels_must_fall_on_shards_and_hold_the_sample_grids():
    config = tiny_config(refine={"initial_images": 6, "growth": 2})
    config = {**cfg_defaults(config)}
    with pytest.raises(ValueError, match=r"refine.initial_images \(6\) must be a multiple of tasks.shapes.shard_size"):
        cfg._check_refine(config)
    config["refine"]["initial_images"] = 16
    with pytest.raises(ValueError, match=r"refine.initial_images \(16\) exceeds tasks.shapes.num_images"):
        cfg._check_refine(config)
    config["refine"]["initial_images"], config["frontier"]["grid_images"] = 4, 8
    with pytest.raises(ValueError, match=r"frontier.grid_images \(8\) exceeds refine.initial_images"):
        cfg._check_refine(config)


def cfg_defaults(config: dict) -> dict:
    """Return `config` with the schema's defaults filled in, as the Snakefile sees it."""
    from helpers import ROOT
    from snakemake.utils import validate

    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    return config


# --- synthetic sweeps whose truth is known -----------------------------------------------------------------------

MODELS = {"s": 1.0, "m": 2.0, "l": 4.0}  # UNet cost relative to the smallest
STEPS = [1, 2, 4, 8, 16]


def truth(model: str, steps: int, guidance: float) -> float:
    """The true mean quality (higher is better): saturating in steps, a higher ceiling for a larger model."""
    ceiling = {"s": 0.6, "m": 0.7, "l": 0.8}[model]
    rate = {"s": 1.5, "m": 3.0, "l": 6.0}[model]
    return ceiling * (1 - np.exp(-steps / rate)) + (0.03 if guidance == 3.0 else 0.0)


def synthetic_sweep(seed: int, n_max: int = 256) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """Return the sweep's rows (costs, truth) and per-image values on n_max images: a shared image effect (the
    pairing) plus per-configuration noise."""
    rng = np.random.default_rng(seed)
    image_effect = rng.normal(0, 0.2, n_max)
    rows, values = [], {}
    for model, unet in MODELS.items():
        for steps in STEPS:
            for guidance in (1.0, 3.0):
                row = {"task": "t", "model": model, "sampler": "ddim", "steps": steps, "guidance": guidance,
                       "unet_params": int(unet * 1e6), "normalised_cost": unet * steps,
                       "truth": truth(model, steps, guidance)}  # fmt: skip
                rows.append(row)
                values[rounds.key(row)] = row["truth"] + image_effect + rng.normal(0, 0.3, n_max)
    return pl.DataFrame(rows), values


def observed(rows: pl.DataFrame, values: dict, images: dict[str, int]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return the summary and per-image table each configuration's first images[c] values give."""
    return replay.observed(rows, {"attr_acc": values}, images)


def refined(rows, values, reps=300, tolerance=None, one_level=False) -> tuple[pl.DataFrame, pl.DataFrame, list[dict]]:
    """Run refinement to the end on the synthetic sweep; return the last round's summary, per-image table, plans.
    `one_level`: every planned configuration climbs one level per round (as before 0.4.0), not to what it needs."""
    settings = {**REFINE, "tolerance": tolerance or {}}
    caps = dict.fromkeys(values, TASKS["t"]["num_images"])
    return replay.refine_to_the_end(rows, {"attr_acc": values}, settings, caps, reps, one_level)


def winners(summary, per_image, level, reps=300) -> pl.DataFrame:
    tables = frontier.analyse(summary, per_image, "attr_acc", {}, 8, reps, level)
    return tables["best_per_cost"].select("budget", "model", "steps", "guidance", "separable")


@pytest.mark.parametrize("seed", range(4))
def test_refinement_names_every_winner_the_uniform_sweep_resolves_with_fewer_images(seed):
    rows, values = synthetic_sweep(seed)
    summary, per_image, plans = refined(rows, values)
    uniform = winners(*observed(rows, values, dict.fromkeys(values, 256)), frontier.LEVEL)
    adaptive = winners(summary, per_image, plans[-1]["level"])
    resolved = uniform.filter(pl.col("separable"))
    assert resolved.height > 0  # the sweep has answers to keep
    joined = resolved.join(adaptive, on="budget", suffix="_refined")
    assert joined.height == resolved.height
    assert joined["model"].to_list() == joined["model_refined"].to_list()
    total = sum(plans[-1]["images"].values())
    assert total < 0.8 * 256 * len(values), total
    assert refine.refinement_table(plans, dict.fromkeys(values, 256))["images_total"][-1] == total


def test_a_tolerance_settles_near_ties_with_fewer_images_and_each_winner_is_within_it_of_the_truth():
    """With ε = 0.05 (the synthetic sweep's configurations are 0.3-noisy per image, 0.03 apart by guidance), refinement
    stops near-ties early; the winner it leaves at each budget is, in truth, within ε of that budget's best."""
    eps, spent, misses, budgets = 0.05, [], 0, 0
    for seed in range(3):
        rows, values = synthetic_sweep(seed)
        _, _, exact = refined(rows, values)
        summary, _, settled = refined(rows, values, tolerance={"attr_acc": eps})
        spent.append((sum(exact[-1]["images"].values()), sum(settled[-1]["images"].values())))
        for budget in sorted(set(summary["normalised_cost"].to_list())):
            within = summary.filter(pl.col("normalised_cost") <= budget)
            winner = within.sort("attr_acc", descending=True).row(0, named=True)
            misses += winner["truth"] < within["truth"].max() - eps
            budgets += 1
    assert all(tol <= exact for exact, tol in spent) and any(tol < exact for exact, tol in spent), spent
    assert misses <= 0.05 * budgets, (misses, budgets)


@pytest.mark.parametrize("seed", range(3))
def test_the_refined_frontier_settles_what_the_uniform_design_settles_at_its_budgets(seed):
    """Decided at the README's budgets with ε = 0.05, refinement stops only when the frontier's own verdict (family-wise
    over the README's claims) is settled, or at the cap: it settles every budget the uniform design settles at the cap
    but at most one, with fewer images. A planner that stopped on pairwise comparisons of each model's best left most
    of them "not resolved" (on the toy, 3 of 20 against 18)."""
    rows, values = synthetic_sweep(seed)
    truth = rows.select(*CONFIG_KEYS, attr_acc="truth")
    settings, caps, eps = {**REFINE, "tolerance": {"attr_acc": 0.05}}, dict.fromkeys(values, 256), 0.05
    readme = {"edges": {}, "buckets": 8}
    summary, per_image, plans = replay.refine_to_the_end(rows, {"attr_acc": values}, settings, caps, budgets=readme)
    mine = replay.verdicts(summary, per_image, truth, "attr_acc", plans[-1]["level"], eps)
    uniform = replay.verdicts(*observed(rows, values, caps), truth, "attr_acc", frontier.LEVEL, eps)
    settled = {"resolved", "tied within"}
    theirs = set(uniform.filter(pl.col("status").is_in(settled))["budget"])
    assert len(theirs) >= 4  # answers to keep
    assert len(theirs - set(mine.filter(pl.col("status").is_in(settled))["budget"])) <= 1, (mine, uniform)
    assert sum(plans[-1]["images"].values()) < 256 * len(values)


def test_the_images_a_comparison_needs_follow_from_its_margin_and_interval():
    """The half-width shrinks as 1/√n: at 64 images a margin of 0.05 whose interval reaches 0.1 below it needs 4× the
    images to exclude zero; a tolerance of 0.05 settles it once the reach is 0.1, already at 64; a zero margin never."""
    margin = {"margin": 0.05, "margin_ci_low": -0.05, "margin_ci_high": 0.15, "images": 64}
    assert refine.needed_images(margin, None) == pytest.approx(256)
    assert refine.needed_images(margin, 0.05) == pytest.approx(64)
    assert refine.needed_images({**margin, "margin": -0.05, "margin_ci_high": 0.05}, None) == pytest.approx(256)
    assert refine.needed_images({**margin, "margin": 0.0}, None) == float("inf")
    assert refine.needed_images({**margin, "margin_ci_low": None}, None) == 0  # set-level: one level up


@pytest.mark.parametrize("seed", range(2))
def test_configurations_jump_to_what_their_decisions_need_in_fewer_rounds_and_jobs(seed):
    """Against climbing one level per round: fewer rounds, and far fewer (configuration, round) pairs, which are the
    jobs a round makes; the images stay within 15% and every plan's tally counts its open decisions."""
    rows, values = synthetic_sweep(seed)
    _, _, jumped = refined(rows, values)
    _, _, climbed = refined(rows, values, one_level=True)
    assert len(jumped) < len(climbed)
    assert sum(len(p["refine"]) for p in jumped) < 0.7 * sum(len(p["refine"]) for p in climbed)
    spent = [sum(p[-1]["images"].values()) for p in (jumped, climbed)]
    assert spent[0] < 1.15 * spent[1], spent
    assert all(p["decisions"]["open"] == len(p["unresolved"]) for p in jumped)
    table = refine.refinement_table(jumped, dict.fromkeys(values, 256))
    assert table["decisions_settled"].sum() == 0 and table["rivals_eliminated"][-1] > table["rivals_eliminated"][0]


def test_the_record_counts_generate_jobs_and_seconds_against_the_uniform_designs():
    """a stays at 32 images, b jumps from 32 to 128 (one job of 96 images) against shards of 32: by hand."""
    a, b = "t/m/ddim/s2_g1", "t/m/ddim/s4_g1"
    plans = [{"round": r, "images": images, "refine": [], "unresolved": [], "looks": 3, "level": 0.98}
             for r, images in enumerate([{a: 32, b: 32}, {a: 32, b: 128}, {a: 32, b: 128}])]  # fmt: skip
    seconds = {a: {0: 4.0}, b: {0: 4.0, 1: 12.0}}
    table = refine.refinement_table(plans, {a: 128, b: 128}, {"t": 32}, seconds)
    assert table["generate_jobs"].to_list() == [2, 3, 3] and table["uniform_generate_jobs"].to_list() == [8, 8, 8]
    assert table["generate_seconds"].to_list() == [8.0, 20.0, 20.0]
    # round 0: no configuration has shards of two sizes, so no fixed cost: 128 · 4/32 each, in 4 shards or 1 alike;
    # then b's shards (32 images in 4 s, 96 in 12 s) give 0 s fixed: a 128 · 4/32, b 128 · 12/96
    assert table["uniform_generate_seconds"].to_list() == [32.0, 32.0, 32.0]
    assert table["uniform_generate_seconds_one_shard"].to_list() == [32.0, 32.0, 32.0]
    fixed, per_image = refine.job_cost({a: [(32, 12.0), (480, 26.0)], b: [(32, 11.0)]})
    assert fixed == pytest.approx(11.0) and per_image == pytest.approx({a: 15.0 / 480, b: 0.0})
    slow = {a: {0: 12.0}, b: {0: 12.0, 1: 18.0}}  # b: 32 images in 12 s, 96 in 18: 9 s a job, 3/32 s an image
    table = refine.refinement_table(plans, {a: 128, b: 128}, {"t": 32}, slow)
    per_image = 128 * (3 / 32) + 128 * (3 / 32)  # a: (12 − 9) s for its 32 images
    assert table["uniform_generate_seconds"][-1] == pytest.approx(2 * 4 * 9 + per_image)
    assert table["uniform_generate_seconds_one_shard"][-1] == pytest.approx(2 * 9 + per_image)
    del seconds[b][1]  # a record missing: no seconds for the rounds that need it
    got = refine.refinement_table(plans, {a: 128, b: 128}, {"t": 32}, seconds)["generate_seconds"].to_list()
    assert got == [8.0, None, None]


def test_the_decisions_left_open_say_whether_their_cap_holds_them_and_what_would_settle_them():
    """By hand: a budget decision on a (at its cap, 128) and b (64 of 128) is open below the cap; a guidance decision
    on a and c, both at the cap, with no count that will do (a zero margin, no tolerance), is open at it; the README
    summarises per metric only those at the cap, with the median and range of their estimates."""
    a, b, c = "t/m/ddim/s2_g1", "t/n/ddim/s4_g1", "t/m/ddim/s2_g3"
    where = {"task": "t", "chosen": "m, ddim, 2 steps, guidance 1"}
    plan = {"images": {a: 128, b: 64, c: 128}, "unresolved": [
        {**where, "metric": "attr_acc", "decision": "best within budget", "cost_axis": "normalised_cost",
         "budget": 0.5, "configurations": [a, b], "needed_images": {a: 300, b: 300}},
        {**where, "metric": "kid_toy", "decision": "guidance", "cost_axis": None, "budget": None,
         "configurations": [a, c], "needed_images": {a: None, c: None}},
    ]}  # fmt: skip
    table = refine.open_decisions(plan, dict.fromkeys(plan["images"], 128))
    assert table["images"].to_list() == [64, 128] and table["at_cap"].to_list() == [False, True]
    assert table["rivals"].to_list() == [1, 1] and table["needed_images"].to_list() == [300, None]
    assert table.schema == pl.Schema(refine.OPEN_SCHEMA)
    assert refine.open_decisions({**plan, "unresolved": []}, {}).schema == pl.Schema(refine.OPEN_SCHEMA)
    at_cap = pl.DataFrame(
        {
            "metric": ["attr_acc"] * 3 + ["kid_toy", "attr_acc"],
            "at_cap": [True] * 4 + [False],
            "needed_images": [800, 600, 1200, None, 100],
        }  # fmt: skip
    )
    (line,) = frontier.refined._open_lines(at_cap)
    assert "attr_acc 3, about 800 (600 to 1,200); kid_toy 1, none estimated." in line
    assert frontier.refined._open_lines(at_cap.filter(~pl.col("at_cap"))) == []


def test_a_replays_verdicts_judge_each_winner_against_the_truth():
    """Model b is, in truth, better (0.6 against 0.5), but its images say 0.4: where both fit, the frontier resolves a
    as the winner, which is neither within ε = 0.05 of the truth's best nor a right claim; where only a fits, it is."""
    rng = np.random.default_rng(0)
    rows = pl.DataFrame([{"task": "t", "model": m, "sampler": "ddim", "steps": 1, "guidance": 1.0,
                          "unet_params": int(c * 1e6), "normalised_cost": c} for m, c in (("a", 1.0), ("b", 2.0))])  # fmt: skip
    shared = rng.normal(0, 0.05, 256)
    values = {"attr_acc": {"t/a/ddim/s1_g1": 0.5 + shared + rng.normal(0, 0.01, 256),
                           "t/b/ddim/s1_g1": 0.4 + shared + rng.normal(0, 0.01, 256)}}  # fmt: skip
    truth = rows.select(*CONFIG_KEYS).with_columns(attr_acc=pl.Series([0.5, 0.6]))
    summary, per_image = replay.observed(rows, values, dict.fromkeys(values["attr_acc"], 256))
    v = replay.verdicts(summary, per_image, truth, "attr_acc", frontier.LEVEL, 0.05).sort("budget")
    assert set(v["model"]) == {"a"}
    alone, both = v.filter(pl.col("budget") < 2), v.filter(pl.col("budget") >= 2)
    assert alone.height and both.height and alone["good"].all() and not alone["wrong"].any()
    assert not both["good"].any() and both["wrong"].all()
    assert set(both["status"]) == {"resolved"}


def test_a_choice_that_scores_well_on_few_images_is_refined_even_where_one_model_fits():
    """One model, two step counts: 1 step is in truth better (0.50 against 0.45), held on 256 images; 2 steps has 32,
    on which every configuration scores 0.1 high (the shared image effect), so its mean beats 1 step's and the frontier
    reports it within the budget that fits both. No other model fits, so no budget claim rests on it, and on their
    common 32 images 1 step provably beats it: the plan still refines it (before, neither made a decision of it)."""
    rng = np.random.default_rng(0)
    rows = pl.DataFrame([{"task": "t", "model": "a", "sampler": "ddim", "steps": n, "guidance": 1.0,
                          "unet_params": 1_000_000, "normalised_cost": float(n)} for n in (1, 2)])  # fmt: skip
    shared = np.r_[np.full(32, 0.1), np.zeros(224)] + rng.normal(0, 0.01, 256)
    values = {"t/a/ddim/s1_g1": 0.50 + shared, "t/a/ddim/s2_g1": 0.45 + shared}
    images, caps = {"t/a/ddim/s1_g1": 256, "t/a/ddim/s2_g1": 32}, dict.fromkeys(values, 256)
    summary, per_image = observed(rows, values, images)
    assert summary.sort("attr_acc")["steps"][-1] == 2  # the lucky one leads on its means
    plan = refine.plan(summary, per_image, ["attr_acc"], images, caps, 300, 4, 0, {"attr_acc": 0.02})
    assert plan["refine"] == ["t/a/ddim/s2_g1"], plan
    (decision,) = plan["unresolved"]
    assert decision["decision"] == "configuration within budget" and decision["budget"] == 2.0


def test_refinement_never_drops_the_true_winner_while_its_decision_is_open():
    """At every round, each budget's true best configuration is either planned or resolved as its budget's winner."""
    rows, values = synthetic_sweep(11)
    _, _, plans = refined(rows, values)
    for plan in plans:
        summary, per_image = observed(rows, values, plan["images"])
        open_budgets = {d["budget"] for d in plan["unresolved"] if d["decision"] == "best within budget"}
        for budget in sorted(set(rows["normalised_cost"].to_list())):
            best = rows.filter(pl.col("normalised_cost") <= budget).sort("truth", descending=True).row(0, named=True)
            if budget in open_budgets:
                assert rounds.key(best) in plan["refine"] or plan["images"][rounds.key(best)] == 256
            else:  # resolved: the claimed winner is the true one
                won = summary.filter(pl.col("normalised_cost") <= budget).sort("attr_acc", descending=True)
                assert won["model"][0] == best["model"], (plan["round"], budget)


def sequential_misses(level: float, delta: float, sims: int = 500, reps: int = 400) -> float:
    """Return how often optional stopping (look at 32, 64, 128, 256 images; stop at the first separable margin)
    leaves an interval that misses the true margin `delta` between two paired configurations."""
    rng = np.random.default_rng(1)
    looks, misses = rounds.levels(REFINE, 256), 0
    counts = frontier.Resamples(frontier.resample_counts(256, reps), level)
    a, b = ({"task": "t", "model": m, "sampler": "ddim", "steps": 1, "guidance": 1.0} for m in "ab")
    for _ in range(sims):
        shared = rng.normal(0, 0.5, 256)
        va, vb = delta + shared + rng.normal(0, 1, 256), shared + rng.normal(0, 1, 256)
        for n in looks:
            values = {tuple(a.values()): va[:n], tuple(b.values()): vb[:n]}
            margin = frontier.compare({**a, "attr_acc": va[:n].mean()}, {**b, "attr_acc": vb[:n].mean()}, "attr_acc",
                                      values, counts)  # fmt: skip
            if margin["separable"]:
                break
        misses += not margin["margin_ci_low"] <= delta <= margin["margin_ci_high"]
    return misses / sims


def test_repeated_intervals_hold_their_coverage_under_optional_stopping():
    """95% at each of four looks misses far more often than 5%; the Bonferroni level over the looks does not."""
    se = np.sqrt(0.05 * 0.95 / 500)
    adjusted = frontier.adjusted_level(len(rounds.levels(REFINE, 256)))
    assert adjusted == pytest.approx(0.9875)
    for delta in (0.0, 0.1):
        assert sequential_misses(adjusted, delta) <= 0.05 + 2.5 * se, delta
    assert sequential_misses(frontier.LEVEL, 0.0) > 0.05 + 2.5 * se  # what the correction is for


# --- the refined tiny workflow -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def refined_run(tiny_run, tmp_path_factory):
    """The tiny workflow refined from 4 to 8 images, on a copy of the tiny run without its second shards."""
    workdir = tmp_path_factory.mktemp("refined") / "run"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    for shard in workdir.glob("results/test/samples/*/*/*/*/shard1"):
        shutil.rmtree(shard)
    # tolerances far below any margin here: every decision is refined as if exact, so that refinement happens
    config = tiny_config(refine={"initial_images": 4, "growth": 2, "tolerance": {"attr_acc": 1e-9, "kid_toy": 1e-9}})
    snakemake(workdir, config)
    return workdir, config


def test_only_planned_configurations_get_their_next_shards(refined_run):
    workdir, _ = refined_run
    plans = [files.read_json(p) for p in sorted(workdir.glob("results/test/refine/round*.json"))]
    assert plans[0]["images"] and set(plans[0]["images"].values()) == {4}
    assert not plans[-1]["refine"] and all(p["refine"] for p in plans[:-1])
    final = plans[-1]["images"]
    for name, n in final.items():
        assert (workdir / "results/test/samples" / name / "shard1").exists() == (n == 8), name
    summary = pl.read_parquet(workdir / "results/test/summary.parquet")
    got = {rounds.key(r): r["num_images"] for r in summary.iter_rows(named=True)}
    assert got == final
    table = pl.read_csv(workdir / "results/test" / rounds.REFINEMENT)
    assert table["round"].to_list() == list(range(len(plans)))
    assert table["images_total"][-1] == sum(final.values()) and table["uniform_images"][-1] == 8 * len(final)
    shards = len(list(workdir.glob("results/test/samples/*/*/*/*/shard*")))
    assert table["generate_jobs"][-1] == shards and table["uniform_generate_jobs"][-1] == 2 * len(final)
    assert table["generate_seconds"][-1] > 0
    readme = (workdir / "results/test/frontier/README.md").read_text()
    assert "## Adaptive refinement" in readme
    assert f"- Sampling: {shards} generate jobs, against {2 * len(final)} for the uniform design;" in readme
    tally = plans[-1]["decisions"]
    assert f"- Decisions at the end: {tally['resolved']} resolved, {tally['settled']} settled" in readme
    assert f"({sum(len(p['refine']) for p in plans)} in all, each to the first level" in readme
    left = pl.read_csv(workdir / "results/test" / rounds.OPEN, schema=refine.OPEN_SCHEMA)
    assert left.height == len(plans[-1]["unresolved"]) == table["unresolved_decisions"][-1]
    assert left["at_cap"].sum() == table["unresolved_at_cap"][-1]
    assert ("- Open at the cap, with the images per configuration" in readme) == (left["at_cap"].sum() > 0)


def test_a_refined_rerun_does_nothing_and_a_new_step_count_runs_only_its_own_images(refined_run):
    workdir, config = refined_run
    assert planned_jobs(snakemake(workdir, config, "-n")) == {}
    jobs = planned_jobs(snakemake(workdir, {**config, "steps": [2, 3]}, "-n"))
    assert jobs["generate"] == 4  # 2 models × 2 guidance scales at 3 steps, their first shard only
    assert (jobs["image_features_n"], jobs["score_n"], jobs["refine_plan"]) == (4, 8, 1)


def test_the_refine_example_plans_round_zero_on_the_first_shard_of_every_configuration(tmp_path):
    import yaml
    from helpers import ROOT

    config = yaml.safe_load((ROOT / "config" / "examples" / "toy-refine.yaml").read_text())
    jobs = planned_jobs(snakemake(tmp_path, config, "--dry-run"))
    configurations = 5 * 8 * 2  # models × steps × guidance
    assert jobs["generate"] == jobs["image_features_n"] == configurations and jobs["refine_plan"] == 1
    metrics = config["tasks"]["shapes"]["metrics"]
    assert jobs["score_n"] == len(metrics) * configurations and "image_features" not in jobs
