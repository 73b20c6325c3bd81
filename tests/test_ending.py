"""What a finished run prints: the winners at the smallest, a middle and the largest budget, from the frontier's table."""

import polars as pl

from ldmscale import ending


def test_a_finished_run_names_the_winners_at_three_budgets_and_where_to_read_more(tmp_path):
    rows = [{"task": "t", "metric": "attr_acc", "cost_axis": axis, "budget": b, "model": f"m{b}", "sampler": "ddim",
             "steps": 1 if b == 1 else 4, "guidance": 3.0, "value": b / 10, "resolved": b != 5}
            for axis in ("normalised_cost", "latency_ms_per_image") for b in (1, 2, 5, 9)]  # fmt: skip
    (tmp_path / "frontier").mkdir()
    pl.DataFrame(rows).write_csv(tmp_path / "frontier" / "best_per_budget.csv")
    text = ending.summary(tmp_path)
    assert "  attr_acc, task t:\n    budget 1: m1, ddim, 1 step, guidance 3: 0.1 (resolved)\n" in text
    assert "    budget 5: m5, ddim, 4 steps, guidance 3: 0.5 (not resolved)\n" in text
    assert "budget 9: m9" in text and "budget 2:" not in text and text.count("    budget ") == 3  # one cost axis
    assert f"Read more: {tmp_path}/frontier/README.md" in text
    assert f"and the report: snakemake --report {tmp_path}/report.zip" in text
    named = ending.summary(tmp_path, configfiles=["config/examples/toy-sr.yaml"])
    assert f"snakemake --configfile config/examples/toy-sr.yaml --report {tmp_path}/report.zip" in named
    assert ending.summary(tmp_path / "none") == ""
