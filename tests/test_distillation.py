"""The distillation table: students against their teachers and against every undistilled model, worked by hand."""

import numpy as np
import polars as pl
import pytest

from ldmscale.frontier import distillation, summary
from ldmscale.frontier.analysis import best_guidance
from ldmscale.frontier.uncertainty import per_image_values, task_counts

N = 200
# (model, distilled_from, params, steps, normalised cost, share of images right)
ROWS = [
    ("small", None, 1, 4, 0.4, 0.50),
    ("small", None, 1, 16, 1.6, 0.60),
    ("big", None, 10, 4, 4.0, 0.70),
    ("big", None, 10, 16, 16.0, 0.80),
    ("big-lcm", "big", 10, 1, 1.0, 0.55),
    ("big-lcm", "big", 10, 4, 4.0, 0.75),
]


def sweep():
    """Per-image 0/1 values with exactly the stated share right (the first k images), so means are exact."""
    rows, per_image = [], []
    for model, teacher, params, steps, cost, share in ROWS:
        values = (np.arange(N) < round(share * N)).astype(float)
        config = {"task": "t", "model": model, "sampler": "lcm" if teacher else "ddim", "steps": steps, "guidance": 1.0}
        rows.append({**config, "normalised_cost": cost, "attr_acc": share, "attr_acc_ci_low": share - 0.05,
                     "attr_acc_ci_high": share + 0.05, "unet_params": params, "distilled_from": teacher})  # fmt: skip
        per_image.append(pl.DataFrame({**config, "metric": "attr_acc", "index": range(N), "value": values}))
    return pl.DataFrame(rows), pl.concat(per_image)


@pytest.fixture(scope="module")
def table():
    df, per_image = sweep()
    best = best_guidance(df, "attr_acc")
    values = per_image_values(per_image, "attr_acc")
    return distillation.distillation(df, best, "attr_acc", values, task_counts(best, values, 2000))


def test_student_against_its_teacher_at_the_same_steps_and_where_the_teacher_catches_up(table):
    rows = {r["steps"]: r for r in table.iter_rows(named=True)}
    assert set(rows) == {1, 4} and all(r["distilled_from"] == "big" for r in rows.values())
    # 1 step: the teacher was not swept at 1 step; it first reaches 0.55 at 4 steps, cost 4: 4× the student's cost.
    assert rows[1]["teacher_value"] is None
    assert rows[1]["teacher_catch_up_cost"] == 4.0 and rows[1]["acceleration"] == pytest.approx(4.0)
    # 4 steps: student 0.75 vs teacher 0.70 at 4 steps; the teacher needs 16 steps (cost 16) to catch up: 4×.
    assert rows[4]["margin_over_teacher"] == pytest.approx(0.05) and rows[4]["margin_over_teacher_resolved"]
    assert (
        rows[4]["margin_over_teacher_ci_low"] > 0
    )  # 10 more images right out of 200, never fewer: all resamples agree
    assert rows[4]["acceleration"] == pytest.approx(4.0)
    # Each resample re-makes the catch-up: at 4 steps the student's lead of 10 images in 200 always holds, at 1 step
    # the teacher always needs its 4 steps (0.70 against 0.55).
    assert rows[4]["acceleration_ci_low"] == rows[4]["acceleration_ci_high"] == pytest.approx(4.0)
    assert rows[1]["teacher_catch_up_cost_ci_low"] == rows[1]["teacher_catch_up_cost_ci_high"] == 4.0


def test_best_undistilled_within_the_students_cost(table):
    rows = {r["steps"]: r for r in table.iter_rows(named=True)}
    # At cost 1.0 only small (4 steps, 0.50) fits: the student leads by 0.05, so the margin (undistilled − student) < 0.
    assert rows[1]["best_undistilled_model"] == "small" and rows[1]["undistilled_margin"] == pytest.approx(-0.05)
    # At cost 4.0: big at 4 steps (0.70) beats small at 16 (0.60); the student (0.75) is still 0.05 ahead.
    assert rows[4]["best_undistilled"].startswith("big, ddim, 4 steps")
    assert rows[4]["undistilled_margin"] == pytest.approx(-0.05) and rows[4]["undistilled_separable"]


def test_lower_is_better_metrics_compare_the_right_way():
    df, per_image = sweep()
    df = df.with_columns(fd_toy=1 - pl.col("attr_acc"), fd_toy_ci_low=0.0, fd_toy_ci_high=1.0)
    best = best_guidance(df, "fd_toy")
    rows = {r["steps"]: r for r in distillation.distillation(df, best, "fd_toy", {}, {}).iter_rows(named=True)}
    assert rows[4]["margin_over_teacher"] == pytest.approx(0.05) and rows[4]["acceleration"] == pytest.approx(4.0)


def test_no_distilled_model_gives_an_empty_table_and_no_readme_section():
    df, per_image = sweep()
    df = df.filter(pl.col("distilled_from").is_null())
    empty = distillation.distillation(df, best_guidance(df, "attr_acc"), "attr_acc", {}, {})
    assert empty.is_empty() and empty.columns == list(distillation.COLUMNS)
    assert summary.distillation_markdown(empty) == ""


def test_readme_section_names_student_teacher_and_acceleration(table):
    text = summary.distillation_markdown(table)
    assert "## Distilled models" in text and "| attr_acc | big-lcm, lcm, 4 steps" in text and "4× [4, 4]" in text


def equal_counts_summed_differently(total=645, n=128, attributes=7):
    """Return two per-image fractions of `attributes` with the same count right in all, `total`, whose means differ in
    the last digit as floats (one a permutation of the other): as the toy's c48-lcm at 1 step and c48 at 2 steps."""
    rng = np.random.default_rng(0)
    while True:
        counts = np.minimum(rng.multinomial(total, np.full(n, 1 / n)), attributes)
        while counts.sum() < total:
            i = rng.integers(n)
            counts[i] += counts[i] < attributes
        a, b = counts / attributes, rng.permutation(counts / attributes)
        if a.mean() > b.mean():
            return a, b


def test_a_teacher_that_gets_as_many_attributes_right_has_caught_up():
    student, teacher = equal_counts_summed_differently()
    assert student.mean() != teacher.mean() and student.mean() * 896 == pytest.approx(645)  # the floats do differ
    n = len(student)
    rows, per_image = [], []
    for model, teacher_of, steps, values in [("t", None, 1, np.full(n, 0.5)), ("t", None, 2, teacher),
                                            ("t", None, 3, np.full(n, 0.9)), ("t-lcm", "t", 1, student)]:  # fmt: skip
        config = {"task": "x", "model": model, "sampler": "ddim", "steps": steps, "guidance": 1.0}
        rows.append({**config, "normalised_cost": float(steps), "attr_acc": values.mean(), "attr_acc_ci_low": 0.0,
                     "attr_acc_ci_high": 1.0, "unet_params": 1, "distilled_from": teacher_of})  # fmt: skip
        per_image.append(pl.DataFrame({**config, "metric": "attr_acc", "index": range(n), "value": values}))
    df, per_image = pl.DataFrame(rows), pl.concat(per_image)
    best, values = best_guidance(df, "attr_acc"), per_image_values(per_image, "attr_acc")
    (row,) = distillation.distillation(df, best, "attr_acc", values, task_counts(best, values, 500)).to_dicts()
    assert row["teacher_catch_up"] == "t, ddim, 2 steps, guidance 1" and row["acceleration"] == 2.0
    assert row["acceleration_ci_low"] <= 2.0 <= row["acceleration_ci_high"]
