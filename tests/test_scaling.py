"""Scaling laws: the fitter against a published fit, laws recovered from synthetic families drawn from them, the
prediction intervals' coverage, the choice between forms, and leave-one-size-out on the shipped toy's default run."""

import math

import numpy as np
import polars as pl
import pytest
from helpers import ROOT

from ldmscale import scaling
from ldmscale.frontier.analysis import best_guidance
from ldmscale.scaling import deployment, fits, law, optimal, points
from ldmscale.scaling.__main__ import main as scaling_main
from ldmscale.scaling.predicted import Size

DATA = ROOT / "tests" / "data"


def test_the_chinchilla_fit_lands_within_a_standard_error_of_besiroglu_et_al():
    """Hoffmann et al.'s Figure 4 as Epoch AI extracted it: D = C / 6N, the 5 highest losses dropped, log residuals.
    Besiroglu et al. 2024, Table 1 (their replication of approach 3): estimate and standard error of each parameter."""
    data = pl.read_csv(DATA / "chinchilla_figure4.csv", comment_prefix="#")
    n, c, loss = (data[k].to_numpy() for k in ("model_size", "training_flop", "loss"))
    keep = loss < np.sort(loss)[-5]
    fitted = law.fit(law.ADDITIVE, n[keep], c[keep] / (6 * n[keep]), loss[keep])
    assert fitted.converged, fitted.message
    published = {"E": (1.8172, 0.03), "A": (482.01, 124.58), "B": (2085.43, 1293.23), "alpha": (0.3478, 0.02),
                 "beta": (0.3658, 0.02)}  # fmt: skip
    for name, value in fitted.named().items():
        estimate, se = published[name]
        assert abs(value - estimate) <= se, (name, value, estimate, se)


# --- synthetic families drawn from a known law ------------------------------------------------------------------------

SIZES = [0.5, 1.0, 2.0, 4.0, 8.0]  # UNet GFLOPs per call
STEPS = [1, 2, 4, 8, 16, 32]
TRUE = {"E": 0.05, "A": 0.2, "alpha": 0.6, "B": 0.5, "beta": 0.9, "gamma": 0.0}
OVERHEAD, REFERENCE, TAU = 0.1, 8.0, 1e15  # GFLOPs per image besides the UNet; normalised cost's x_ref; train FLOPs / x


def truth(x, s, p=TRUE):
    return p["E"] + p["A"] * x ** -p["alpha"] + p["B"] * x ** -p["gamma"] * s ** -p["beta"]


def family(seed: int, p=TRUE, n: int = 128) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (summary, per-image) of kid_toy (lower is better, per-image values) for SIZES × STEPS: per image the law's
    value plus a shared image effect (the pairing) and noise, one guidance scale."""
    rng = np.random.default_rng(seed)
    image = rng.normal(0, 0.05, n)
    rows, per_image = [], []
    for i, x in enumerate(SIZES):
        for s in STEPS:
            config = {"task": "t", "model": f"m{i}", "sampler": "ddim", "steps": s, "guidance": 1.0}
            values = truth(x, s, p) + image + rng.normal(0, 0.08, n)
            rows.append({**config, "unet_gflops": x, "kid_toy": values.mean(), "kid_toy_ci_low": 0.0,
                         "kid_toy_ci_high": 1.0, "distilled_from": None, "nfe": s, "cfg": False,
                         "gflops_per_image": x * s + OVERHEAD, "normalised_cost": x * s / REFERENCE,
                         "unet_params": int(x * 1e6), "train_flops": int(TAU * x)})  # fmt: skip
            per_image.append(pl.DataFrame({**config, "metric": "kid_toy", "index": range(n), "value": values}))
    return pl.DataFrame(rows), pl.concat(per_image)


def test_a_law_is_recovered_within_its_intervals():
    summary, per_image = family(0)
    pts = points.points(summary, per_image, "kid_toy", 200)
    assert pts.paired and pts.target.description == "kid_toy"
    fitted = fits.fit_law(pts, law.ADDITIVE)
    assert fitted.fit.converged and fitted.failed == 0
    for p in fitted.parameters():
        assert p["ci_low"] <= TRUE[p["parameter"]] <= p["ci_high"], p
        assert p["ci_low"] <= p["estimate"] <= p["ci_high"], p


def test_prediction_intervals_hold_their_coverage_on_held_out_sizes():
    """Ten synthetic families, each interior size held out in turn at every step count: the measured score falls in
    its 95% prediction interval about as often as it should (printed against nominal)."""
    inside = []
    for seed in range(10):
        pts = points.points(*family(seed), "kid_toy", 60)
        rows = fits.leave_one_size_out(pts, law.ADDITIVE)
        inside += [r["inside"] for r in rows if r["position"] == "interior"]
    coverage = float(np.mean(inside))
    print(f"prediction-interval coverage on held-out interior sizes: {coverage:.3f} (nominal 0.95, n = {len(inside)})")
    assert 0.85 <= coverage <= 1.0, coverage


def test_the_form_that_fits_wins_leave_one_size_out():
    """Drawn from a coupled law, where steps help larger models less (γ = 0.6): the additive form predicts held-out
    sizes worse, and the coupled one is chosen."""
    coupled = {**TRUE, "gamma": 0.6, "B": 1.0}
    summary, per_image = family(1, coupled)
    tables = scaling.analyse(summary, per_image, "kid_toy", 60, ["additive", "coupled"])
    verdict = tables["scaling"].group_by("form").agg(pl.col("chosen").first(), pl.col("loso_median_abs_error").first())
    errors = dict(zip(verdict["form"], verdict["loso_median_abs_error"]))
    assert errors["additive"] > 1.5 * errors["coupled"], errors
    assert dict(zip(verdict["form"], verdict["chosen"])) == {"additive": False, "coupled": True}


def test_a_higher_is_better_metric_is_fitted_as_its_distance_from_its_bound():
    summary, per_image = family(2)
    flipped = summary.rename({"kid_toy": "attr_acc"}).with_columns(attr_acc=1 - pl.col("attr_acc"))
    flipped = flipped.rename({"kid_toy_ci_low": "attr_acc_ci_low", "kid_toy_ci_high": "attr_acc_ci_high"})
    per_image = per_image.with_columns(metric=pl.lit("attr_acc"), value=1 - pl.col("value"))
    pts = points.points(flipped, per_image, "attr_acc", 20)
    assert pts.target.description == "1 − attr_acc (its bound)"
    assert pts.q == pytest.approx(summary.sort(["model", "steps"])["kid_toy"].to_numpy())


def test_too_few_sizes_are_said_and_not_fitted():
    summary, per_image = family(3)
    two = summary.filter(pl.col("model").is_in(["m0", "m1"]))
    tables = scaling.analyse(two, per_image, "kid_toy", 20, ["additive"])
    assert tables["scaling"].is_empty()
    (note,) = tables["notes"]["note"].to_list()
    assert note.startswith("no law fitted: 2 model size(s) and 6 step count(s)")
    assert "No law fitted: 2 model size(s)" in scaling.markdown(tables)


def test_an_unknown_form_names_the_valid_ones():
    with pytest.raises(ValueError, match="unknown law form 'cubic'; valid forms: additive, coupled"):
        law.form("cubic")


# --- the shipped toy: the default run's summary and per-image values (tests/data/default_run_*.parquet) ----------------


@pytest.fixture(scope="module")
def toy_tables():
    summary = pl.read_parquet(DATA / "default_run_summary.parquet")
    per_image = pl.read_parquet(DATA / "default_run_per_image.parquet")
    return scaling.analyse(summary, per_image, "attr_acc", 100, ["additive", "coupled"])


def test_the_toy_is_held_out_size_by_size_and_its_interior_sizes_are_predicted(toy_tables):
    """The acceptance target: interior sizes inside their 95% prediction interval at ≥ 80% of their step counts, and
    within 0.03 attr_acc at the median, for the form used."""
    used = toy_tables["scaling"].filter(pl.col("chosen"))["form"][0]
    held = toy_tables["validation"].filter(pl.col("form") == used)
    assert sorted(set(held["held_out"])) == ["toy-c16", "toy-c24", "toy-c32", "toy-c48", "toy-c8"]
    assert held.height == 5 * 8 and held["converged"].all()
    interior = held.filter(pl.col("position") == "interior")
    assert set(interior["held_out"]) == {"toy-c16", "toy-c24", "toy-c32"}
    assert interior["inside"].mean() >= 0.8, interior
    assert interior["error"].abs().median() <= 0.03, interior
    assert set(held.filter(pl.col("position") != "interior")["position"]) == {"smallest", "largest"}


def test_a_floor_the_toy_does_not_show_is_said_to_be_at_its_bound(toy_tables):
    """The coupled law leaves no irreducible error in 1 − attr_acc on the toy: E sinks towards zero, where the loss is
    flat in it, and the table says that the data do not pin it down rather than print an arbitrary tiny E."""
    coupled = (
        toy_tables["scaling"].filter((pl.col("form") == "coupled") & (pl.col("parameter") == "E")).row(0, named=True)
    )
    assert coupled["at_bound"] and coupled["estimate"] < 1e-6


def test_the_command_prints_the_fit_and_a_held_out_size(tmp_path, capsys):
    summary, per_image = family(4)
    summary.write_parquet(tmp_path / "s.parquet")
    per_image.write_parquet(tmp_path / "p.parquet")
    args = [str(tmp_path / "s.parquet"), str(tmp_path / "p.parquet"), "--metric", "kid_toy", "--reps", "20"]
    scaling_main([*args, "--form", "additive"])
    assert "- additive (used): q = E + A·x^−α + B·s^−β; E " in capsys.readouterr().out
    scaling_main([*args, "--hold-out", "m2"])
    out = capsys.readouterr().out
    assert "additive law fitted without m2 (converged)" in out and out.count("\n| ") == 6 + 1  # header, 6 step counts
    with pytest.raises(ValueError, match="--hold-out m9: no such model in task t, sampler ddim; models: m0, m1"):
        scaling_main([*args, "--hold-out", "m9"])


# --- the inference-optimal size ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "named"),
    [(law.ADDITIVE, [0.05, 0.2, 0.5, 0.6, 0.9]), (law.COUPLED, [0.05, 0.2, 1.0, 0.6, 0.9, 0.4])],
    ids=["additive", "coupled"],
)
def test_the_closed_form_optimum_agrees_with_a_brute_force_search(form, named):
    """On a fine log grid of sizes with steps = K / size (the budget spent exactly), the best size is the closed form's."""
    theta = np.array([math.log(v) for v in named[:3]] + named[3:])
    for k in (2.0, 20.0, 200.0):
        x_star = float(optimal.closed_form(theta, k))
        sizes = np.geomspace(1e-6, k, 400_001)  # at least one step: size ≤ K
        q = form.log_predict(theta, np.log(sizes), np.log(k / sizes))
        brute = sizes[np.argmin(q)]
        assert 1e-6 < x_star < k and x_star == pytest.approx(brute, rel=1e-3), (k, x_star, brute)


def test_below_one_step_the_optimum_spends_the_budget_on_size():
    theta = np.array([math.log(0.05), math.log(0.2), math.log(0.5), 0.6, 0.9])
    k = 0.001  # the closed form asks for x* > K, that is fewer than one step
    assert optimal.closed_form(theta, k) > k
    assert optimal.at_least_one_step(optimal.closed_form(theta, k), k) == k


def test_the_optimal_size_follows_the_budget_and_says_where_it_extrapolates():
    summary, per_image = family(5)
    summary = summary.with_columns(normalised_cost=pl.col("unet_gflops") * pl.col("steps") / 8.0)  # reference: 8 GFLOPs
    tables = scaling.analyse(
        summary, per_image, "kid_toy", 40, ["additive"], {"normalised_cost": [0.5, 2.0, 8.0, 64.0, 1000.0]}
    )
    rows = tables["optimal"].sort("budget").to_dicts()
    assert [r["x_star"] for r in rows] == sorted(r["x_star"] for r in rows)  # a larger budget, a larger size
    assert all(r["x_star_ci_low"] <= r["x_star"] <= r["x_star_ci_high"] for r in rows)
    assert rows[-1]["extrapolated"] and rows[-1]["x_star"] > max(SIZES)
    for r in rows:  # the swept configuration named fits the budget
        assert r["grid_x"] * r["grid_steps"] <= r["budget"] * 8.0 * (1 + 1e-9)


# --- sizes nobody trained, and the size to deploy ----------------------------------------------------------------------


def size(x: float, name: str = "m-big") -> Size:
    """A predicted size of x UNet GFLOPs per call, costed as the synthetic family is (OVERHEAD split between the
    text encoder and the decoder)."""
    half = OVERHEAD / 2 * 1e9
    return Size(name, {"unet": {"flops_b1": x * 1e9, "flops_b2": 2 * x * 1e9, "params": int(x * 1e6)},
                       "text_encoder": {"flops_b1": half}, "vae_decoder": {"flops_b1": half}})  # fmt: skip


def test_a_size_nobody_trained_is_costed_and_predicted_where_the_truth_lies():
    """A size twice the largest: its costs are the family's arithmetic, and at every step count the law drawn from
    predicts it within its prediction interval (an extrapolation, and said so)."""
    summary, per_image = family(6, n=512)
    tables = scaling.analyse(summary, per_image, "kid_toy", 100, ["additive"], {}, [size(16.0)])
    rows = tables["predicted_scores"].sort("steps").to_dicts()
    assert [r["steps"] for r in rows] == STEPS and all(r["extrapolated"] for r in rows)
    for r in rows:
        assert r["gflops_per_image"] == pytest.approx(16.0 * r["steps"] + OVERHEAD)
        assert r["normalised_cost"] == pytest.approx(16.0 * r["steps"] / REFERENCE)
        assert r["pi_low"] <= truth(16.0, r["steps"]) <= r["pi_high"], r
        assert r["band_low"] <= r["predicted"] <= r["band_high"] and r["pi_low"] <= r["band_low"]


def test_each_budget_pits_the_best_predicted_against_the_best_measured_and_judges_the_margin():
    """At normalised budget 16 a 16-GFLOP size can take 8 steps, worse in truth than m3 (8 GFLOPs) at 16 steps by 0.016;
    at 64 it takes 32 steps and beats m3 at 32 by 0.02. Both choices are the brute-force bests within the budget, and
    the verdicts are the truth's (per-image noise 0.08 over 512 images)."""
    summary, per_image = family(7, n=512)
    budgets = {"normalised_cost": [1.0, 16.0, 64.0]}
    tables = scaling.analyse(summary, per_image, "kid_toy", 200, ["additive"], budgets, [size(16.0)])
    predicted, scores = tables["predicted_scores"], tables["predicted"].sort("budget").to_dicts()
    assert scores[0]["verdict"] == "no predicted configuration fits"  # 2 normalised cost at one step
    for row in scores[1:]:
        fits = predicted.filter(pl.col("normalised_cost") <= row["budget"] * (1 + 1e-9)).sort("predicted")
        assert (row["predicted_model"], row["predicted_steps"]) == ("m-big", fits["steps"][0])
        measured = (
            summary.filter(pl.col("normalised_cost") <= row["budget"] * (1 + 1e-9)).sort("kid_toy").row(0, named=True)
        )
        assert row["measured"] == f"{measured['model']}, ddim, {measured['steps']} steps, guidance 1"
        assert row["margin"] == pytest.approx(measured["kid_toy"] - row["predicted"])  # lower is better: positive leads
        assert row["margin_ci_low"] <= row["margin"] <= row["margin_ci_high"]
    assert scores[1]["verdict"].startswith("predicted to trail") and scores[2]["verdict"].startswith(
        "predicted to lead"
    )
    assert "a m-big (an extrapolation) at 32 steps would score" in scaling.markdown(tables)


def test_the_toy_sampling_cost_is_exactly_two_unet_calls_a_step_plus_a_fixed_part():
    """The default run's guided configurations cost u·x·s + o GFLOPs with u = 2 (the doubled batch) and o the text
    encoder twice and the decoder once, the same for every size."""
    summary = pl.read_parquet(DATA / "default_run_summary.parquet")
    cost = optimal.inference_cost(best_guidance(summary, "attr_acc"))
    assert cost.u == pytest.approx(2.0, rel=1e-9) and cost.error < 1e-9
    assert 0.05 < cost.o < 0.1  # the toy decoder and text encoder: about 0.08 GFLOPs


def test_the_size_to_deploy_grows_with_the_images_served_and_covers_the_truths_choice():
    """Few images: training dominates, and the answer is the smallest size that reaches the target with many steps;
    many: sampling dominates, and it is the size that reaches it at the fewest FLOPs per image. On the same grid, the
    true law's answer lies in the interval over refits."""
    summary, per_image = family(8, n=512)
    pts = points.points(summary, per_image, "kid_toy", 100)
    fitted, target = fits.fit_law(pts, law.ADDITIVE), 0.16
    best = best_guidance(summary, "kid_toy")
    cost = optimal.inference_cost(best)
    served = [1.0, 1e3, 1e6, 1e9]
    rows, why = deployment.deployment(fitted, best, target, served, cost)
    assert why is None and [r["images_served"] for r in rows] == served
    assert [r["x"] for r in rows] == sorted(r["x"] for r in rows) and rows[0]["x"] < rows[-1]["x"]
    x = np.geomspace(pts.x.min(), pts.x.max() * deployment.EXTEND, deployment.GRID)
    s = np.arange(1, 2 * int(pts.s.max()) + 1, dtype=float)
    gx, gs = (a.ravel() for a in np.meshgrid(x, s, indexing="ij"))
    for r in rows:
        total = np.where(truth(gx, gs) <= target, TAU * gx + r["images_served"] * cost(gx, gs) * 1e9, np.inf)
        best = gx[np.argmin(total)]
        assert r["x_ci_low"] <= best <= r["x_ci_high"], (r, best)
        assert r["total_flops"] == pytest.approx(r["train_flops"] + r["images_served"] * r["flops_per_image"])
    assert rows[-1]["measured_model"] is not None and rows[0]["tau"] == pytest.approx(TAU)


def test_no_training_flops_no_deployment_table():
    summary, per_image = family(9)
    summary = summary.with_columns(train_flops=pl.lit(None, pl.Int64))
    tables = scaling.analyse(summary, per_image, "kid_toy", 20, ["additive"], {}, (), 0.2, [1e6])
    assert tables["deployment"].is_empty()
    assert "no train_flops in the summary" in " ".join(tables["notes"]["note"])
