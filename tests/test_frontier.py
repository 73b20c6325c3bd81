import math

import polars as pl
import pytest

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
    rows = [("small", 1, 1.0, 0.1, 0.5), ("small", 1, 3.0, 0.1, 0.5), ("small", 2, 1.0, 0.2, float("nan")), ("small", 2, 3.0, 0.2, 0.1)]
    best = frontier.best_guidance(table(rows), "attr_acc")
    assert best["guidance"].to_list() == [1.0, 3.0]


def test_pareto_by_hand():
    front = frontier.pareto(frontier.best_guidance(table(ROWS), "attr_acc"), "normalised_cost", "attr_acc")
    assert list(zip(front["model"], front["steps"])) == [("small", 1), ("small", 4), ("small", 16), ("big", 4), ("big", 16)]


def test_pareto_lower_is_better_metric_gives_the_same_front():
    best = frontier.best_guidance(table(ROWS), "fd_toy")
    front = frontier.pareto(best, "normalised_cost", "fd_toy")
    assert list(zip(front["model"], front["steps"])) == [("small", 1), ("small", 4), ("small", 16), ("big", 4), ("big", 16)]


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
    chart = frontier.chart(df, "normalised_cost", "attr_acc")
    chart.save(str(tmp_path / "c.png"), scale_factor=1)
    chart.save(str(tmp_path / "c.html"), inline=True)
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (tmp_path / "c.html").read_text()
    assert "<script src=" not in html and "cdn.jsdelivr" not in html
    assert "vega" in html.lower()
