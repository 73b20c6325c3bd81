import polars as pl
import pytest

from ldmscale import aggregate, files


def test_summary_joins_costs_and_scores_by_hand(tmp_path):
    def put(rel, data):
        path = tmp_path / rel
        files.write_json(path, data)
        return str(path)

    flops = {
        "unet": {"params": 10, "flops_b1": 2e9, "flops_b2": 4e9},
        "text_encoder": {"flops_b1": 1e9},
        "vae_decoder": {"flops_b1": 3e9},
    }
    latency = {
        "batch": 2,
        "device": "CPU",
        "median_ms": {"unet": 4.0, "unet_cfg": 8.0, "text_encoder": 1.0, "vae_decoder": 2.0},
    }
    shard = tmp_path / "results/samples/t/m/ddim/s5_g3/shard0"
    put(shard / "manifest.json", {"nfe": {"calls": 5, "batch_multiplier": 2}, "images": []})
    score = put(
        "results/scores/t/m/ddim/s5_g3/attr_acc.json",
        {"metric": "attr_acc", "value": 0.5, "ci_low": 0.4, "ci_high": 0.6, "n": 8},
    )
    training = {"m": put("results/models/m/train.json", {"train_flops": 7e12})}
    table = aggregate.summary(
        [put("results/cost/m/flops.json", flops)], [put("results/cost/m/latency_b2.json", latency)], [score], [str(shard)], None,
        training,
    )  # fmt: skip
    row = table.row(0, named=True)
    assert row["gflops_per_image"] == pytest.approx(2 * 1 + 5 * 4 + 3)
    assert row["normalised_cost"] == pytest.approx(5.0)  # the only model is its own reference
    assert row["latency_ms_per_image"] == pytest.approx((2 * 1 + 5 * 8 + 2) / 2)
    assert (row["cfg"], row["nfe"], row["attr_acc"], row["attr_acc_ci_low"]) == (True, 5, 0.5, 0.4)
    assert row["train_flops"] == 7e12 and row["baseline"] is False
    assert isinstance(table, pl.DataFrame) and table.height == 1
    # a super-resolution baseline samples nothing: zero on every cost axis, no model size, no cost record read
    base = tmp_path / "results/samples/t/bicubic/baseline/s0_g1/shard0"
    put(base / "manifest.json", {"nfe": {"calls": 0, "batch_multiplier": 1}, "images": []})
    base_score = put("results/scores/t/bicubic/baseline/s0_g1/attr_acc.json",
                     {"metric": "attr_acc", "value": 0.3, "ci_low": 0.2, "ci_high": 0.4, "n": 8})  # fmt: skip
    both = aggregate.summary([put("results/cost/m/flops.json", flops)], [put("results/cost/m/latency_b2.json", latency)],
                             [score, base_score], [str(shard), str(base)], None, training)  # fmt: skip
    row = both.filter(pl.col("model") == "bicubic").row(0, named=True)
    assert row["baseline"] and (row["normalised_cost"], row["gflops_per_image"], row["latency_ms_per_image"]) == (
        0,
        0,
        0,
    )
    assert row["unet_params"] is None and row["train_flops"] is None and row["attr_acc"] == 0.3
    assert both.filter(pl.col("model") == "m")["normalised_cost"].to_list() == [5.0]  # the reference is a model


def test_per_image_values_pair_by_index_and_skip_set_level_metrics(tmp_path):
    acc, fd = (
        tmp_path / "results/scores/t/m/ddim/s5_g3/attr_acc.json",
        tmp_path / "results/scores/t/m/ddim/s5_g3/fd_toy.json",
    )
    files.write_json(acc, {"metric": "attr_acc", "value": 0.5, "per_image": [0.0, 1.0, 0.5]})
    files.write_json(fd, {"metric": "fd_toy", "value": 3.0})
    table = aggregate.per_image([str(acc), str(fd)])
    assert table["index"].to_list() == [0, 1, 2] and table["value"].to_list() == [0.0, 1.0, 0.5]
    assert table.row(0, named=True) == {"task": "t", "model": "m", "sampler": "ddim", "steps": 5, "guidance": 3.0,
                                        "metric": "attr_acc", "index": 0, "value": 0.0}  # fmt: skip
    assert aggregate.per_image([str(fd)]).is_empty()
