"""The non-degeneracy conditions of an experiment, on synthetic sweeps whose answer is known."""

import os
import re

import numpy as np
import polars as pl
import pytest
import yaml
from helpers import ROOT

from ldmscale import experiment
from ldmscale.images import read_images

N = 300
PARAMS = {"s": 1, "m": 5, "l": 25}


def sweep(means: dict[tuple[str, int], float], floor: float = 0.999):
    """Return (summary, per-image) of attr_acc for {(model, steps): mean}, per-image values 0/1, one sampler and guidance."""
    rng = np.random.default_rng(0)
    rows, per_image = [], []
    for (model, steps), mean in means.items():
        values = rng.permutation(np.arange(N) < round(mean * N)).astype(float)
        config = {"task": "t", "model": model, "sampler": "ddim", "steps": steps, "guidance": 1.0}
        half = 1.96 * values.std() / np.sqrt(N)
        rows.append({**config, "attr_acc": values.mean(), "attr_acc_ci_low": values.mean() - half,
                     "attr_acc_ci_high": min(1.0, values.mean() + half), "attr_acc_floor": floor,
                     "unet_params": PARAMS[model], "normalised_cost": steps * PARAMS[model] / 25})  # fmt: skip
        per_image.append(pl.DataFrame({**config, "metric": "attr_acc", "index": range(N), "value": values}))
    return pl.DataFrame(rows), pl.concat(per_image)


def verdicts(means, floor=0.999):
    return {r["condition"]: r["holds"] for r in experiment.conditions(*sweep(means, floor), "attr_acc", reps=300)}


GOOD = {("s", 1): 0.2, ("s", 2): 0.35, ("s", 25): 0.5, ("m", 1): 0.25, ("m", 2): 0.45, ("m", 25): 0.7,
        ("l", 1): 0.3, ("l", 2): 0.5, ("l", 25): 0.9}  # fmt: skip


def test_a_sweep_where_size_and_steps_matter_meets_every_condition():
    result = verdicts(GOOD)
    assert len(result) == 2 + 3 + 1 + 3 and all(result.values()), result


def test_saturated_sizes_and_final_steps_fail_the_conditions_that_say_so():
    saturated = {**GOOD, ("m", 25): 0.997, ("l", 25): 0.997, ("l", 2): 0.997, ("m", 2): 0.99}
    result = verdicts(saturated)
    assert result["largest beats median-size model at 25 steps"] is False
    assert result["largest improves from 2 to 25 steps"] is False
    assert result["l's best is clear of the real-data floor 0.999"] is False
    assert result["largest beats smallest model at 25 steps"] is True
    assert result["s: 25 steps beat 1"] is True


def test_the_command_line_exits_non_zero_when_a_condition_fails(tmp_path, capsys):
    for name, means in (("good", GOOD), ("bad", {**GOOD, ("l", 25): 0.7})):
        summary, per_image = sweep(means)
        summary.write_parquet(tmp_path / f"{name}.parquet")
        per_image.write_parquet(tmp_path / f"{name}_pi.parquet")
    assert experiment.main([str(tmp_path / "good.parquet"), str(tmp_path / "good_pi.parquet")]) == 0
    assert "all 9 conditions checked hold" in capsys.readouterr().out
    assert experiment.main([str(tmp_path / "bad.parquet"), str(tmp_path / "bad_pi.parquet")]) == 1
    out = capsys.readouterr().out
    assert re.search(
        r"\| t \| ddim \| largest beats median-size model at 25 steps \| 0 \[-?[\d.]+, [\d.]+\] \| \*\*no\*\* \|", out
    ), out


def test_the_command_refuses_to_pass_when_it_has_nothing_to_check(tmp_path, capsys):
    """A summary whose metrics have no real-data floor (FID, CLIP score) gives nothing to check by default: it says so
    and exits 2, never "all conditions checked hold"."""
    summary, per_image = sweep(GOOD)
    summary.drop("attr_acc_floor").write_parquet(tmp_path / "s.parquet")
    per_image.write_parquet(tmp_path / "p.parquet")
    args = [str(tmp_path / "s.parquet"), str(tmp_path / "p.parquet")]
    assert experiment.main(args) == 2
    assert "no metric with a floor in" in capsys.readouterr().err
    assert experiment.main([*args, "--metric", "fid"]) == 2
    assert "--metric fid: not in" in capsys.readouterr().err


def test_by_steps_names_the_best_model_at_each_step_count_with_its_paired_margin(tmp_path, capsys):
    means = {**GOOD, ("m", 2): 0.5}  # at 2 steps m and l tie: 150 of 300 images each
    rows = experiment.by_steps(*sweep(means), "attr_acc", reps=300)
    found = {r["steps"]: (r["winner"], r["runner_up"], r["separable"]) for r in rows}
    assert found == {1: ("l", "m", False), 2: ("m", "l", False), 25: ("l", "m", True)}  # a tie goes to the smaller
    assert rows[2]["margin"] == pytest.approx(0.2) and 0 < rows[2]["margin_ci_low"] < 0.2 < rows[2]["margin_ci_high"]
    summary, per_image = sweep(means)
    summary.write_parquet(tmp_path / "s.parquet")
    per_image.write_parquet(tmp_path / "p.parquet")
    assert experiment.main([str(tmp_path / "s.parquet"), str(tmp_path / "p.parquet"), "--by-steps"]) == 0
    assert "| t | ddim | 25 | l: 0.9 | m | +0.2 [" in capsys.readouterr().out


# --- the shipped family, at the default run's N (its images: same prompts, same per-index seeds) ---------------------

SHIPPED_N = yaml.safe_load((ROOT / "config.yaml").read_text())["tasks"]["shapes"]["num_images"]  # 128


@pytest.fixture(scope="module")
def shipped_sweep(tmp_path_factory):
    """Return (summary, per-image) of attr_acc for the default config's smallest, median and largest toy models, at its
    lowest, second-lowest and largest step counts and each guidance scale (DDIM), on SHIPPED_N images."""
    import torch

    from ldmscale import features, generate, models, tasks
    from ldmscale.toy import data, nets

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    shipped = ROOT / "resources" / "toy" / f"v{data.DATA_VERSION}"
    widths = sorted(m["toy"]["width"] for m in config["models"] if not m.get("predict"))  # the shipped ones
    steps = sorted(config["steps"])
    doc = tasks.prompts(config["tasks"]["shapes"]["prompts"], SHIPPED_N)
    prompts = {item["index"]: item["prompt"] for item in doc["items"]}
    labels = np.array([item["labels"] for item in doc["items"]])
    real, real_labels, _ = data.dataset(doc["seed"], 10_000, SHIPPED_N, 32)
    floor = features.toy_features(shipped / "scorer", [real])["predictions"] == real_labels
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", 2)))  # 1 on an xdist worker
    tmp = tmp_path_factory.mktemp("shipped")
    rows, per_image = [], []
    for width in dict.fromkeys([widths[0], widths[len(widths) // 2], widths[-1]]):
        pipe_dir = tmp / f"c{width}"
        nets.assemble(pipe_dir, shipped / "models" / f"c{width}" / "unet", shipped / "vae", shipped / "text")
        pipe = models.load_pipeline(pipe_dir, "cpu", "float32")
        for n in (steps[0], steps[1], steps[-1]):
            for guidance in config["guidance"]:
                out = tmp / f"c{width}_s{n}_g{guidance}"
                generate.generate_shard(
                    pipe, out, prompts, range(SHIPPED_N), config["tasks"]["shapes"]["seed"], "ddim", n, guidance, 64, 32
                )
                predictions = features.toy_features(shipped / "scorer", [read_images(sorted(out.glob("*.png")))])[
                    "predictions"
                ]
                values = (predictions == labels).mean(1)
                config_key = {
                    "task": "shapes",
                    "model": f"c{width}",
                    "sampler": "ddim",
                    "steps": n,
                    "guidance": guidance,
                }
                low, high = np.quantile(
                    [values[np.random.default_rng(k).integers(0, SHIPPED_N, SHIPPED_N)].mean() for k in range(500)],
                    [0.025, 0.975],
                )
                rows.append({**config_key, "attr_acc": values.mean(), "attr_acc_ci_low": low, "attr_acc_ci_high": high,
                             "attr_acc_floor": floor.mean(), "unet_params": width, "normalised_cost": n * width})  # fmt: skip
                per_image.append(
                    pl.DataFrame({**config_key, "metric": "attr_acc", "index": range(SHIPPED_N), "value": values})
                )
    return pl.DataFrame(rows), pl.concat(per_image)


# What the shipped family does not meet (empty: every condition of the default experiment holds).
NOT_YET_MET = []


def test_the_shipped_family_meets_every_condition(shipped_sweep):
    rows = experiment.conditions(*shipped_sweep, "attr_acc")
    print(experiment.table(rows, "attr_acc"))
    assert [r["condition"] for r in rows if not r["holds"]] == NOT_YET_MET
