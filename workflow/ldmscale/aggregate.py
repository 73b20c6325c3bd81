"""The summary table: one row per configuration with every cost and score, joined from the rules' JSON."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from . import files, images
from .image_cost import normalised_cost, sampling_flops, sampling_latency_ms
from .paths import BASELINE, config_from_path

# A super-resolution baseline (paths.BASELINE) samples nothing: zero on every cost axis, and no model size.
BASELINE_COSTS = {"baseline": True, "nfe": 0, "cfg": False, "unet_params": None, "unet_gflops": None,
                  "gflops_per_image": 0.0, "normalised_cost": 0.0, "reference_model": None, "latency_ms_per_image": 0.0,
                  "latency_device": None, "latency_batch": None, "train_flops": None, "distilled_from": None}  # fmt: skip


def summary(
    flops_files, latency_files, score_files, shard_dirs, reference_model: str | None, training=None, teachers=None
) -> pl.DataFrame:
    """Return the summary table of the sweep; `training` maps models trained by ldmscale to their train.json, and
    `teachers` distilled models to the model each was distilled from (the distilled_from column; null otherwise)."""
    training = {model: files.read_json(path) for model, path in (training or {}).items()}
    flops = {Path(f).parent.name: files.read_json(f) for f in flops_files}
    latency = {Path(f).parent.name: files.read_json(f) for f in latency_files}
    if reference_model is None:
        reference_model = max(flops, key=lambda m: flops[m]["unet"]["flops_b1"])
    reference_flops = flops[reference_model]["unet"]["flops_b1"]

    rows: dict[tuple, dict] = {}
    for shard in shard_dirs:
        config = config_from_path(shard)
        if config["sampler"] == BASELINE:
            rows[tuple(config.values())] = {**config, **BASELINE_COSTS}
            continue
        manifest = images.read_manifest(shard, verify=False)
        nfe, cfg = manifest["nfe"]["calls"], manifest["nfe"]["batch_multiplier"] == 2
        f, lat = flops[config["model"]], latency[config["model"]]
        rows[tuple(config.values())] = {
            **config,
            "baseline": False,
            "nfe": nfe,
            "cfg": cfg,
            "unet_params": f["unet"]["params"],
            "unet_gflops": f["unet"]["flops_b1"] / 1e9,
            "gflops_per_image": sampling_flops(f, nfe, cfg) / 1e9,
            "normalised_cost": normalised_cost(f["unet"]["flops_b1"], reference_flops, config["steps"]),
            "reference_model": reference_model,
            "latency_ms_per_image": sampling_latency_ms(lat, nfe, cfg),
            "latency_device": lat["device"],
            "latency_batch": lat["batch"],
            "train_flops": training[config["model"]]["train_flops"] if config["model"] in training else None,
            "distilled_from": (teachers or {}).get(config["model"]),
        }
    for path in score_files:
        config = config_from_path(path)
        result = files.read_json(path)
        row = rows[tuple(config.values())]
        metric = result["metric"]
        row[metric], row[f"{metric}_ci_low"], row[f"{metric}_ci_high"] = (
            result["value"],
            result["ci_low"],
            result["ci_high"],
        )
        if "floor" in result:  # the real-data floor: what real images score at this sample size
            row[f"{metric}_floor"] = result["floor"]
        row["num_images"] = result["n"]
    overrides = {"distilled_from": pl.String, "latency_device": pl.String, "reference_model": pl.String}
    return pl.DataFrame(list(rows.values()), schema_overrides=overrides, infer_schema_length=None).sort(
        ["task", "unet_params", "model", "sampler", "steps", "guidance"]
    )


def per_image(score_files) -> pl.DataFrame:
    """Return the per-image values behind every score that has them: one row per (configuration, metric, image index).

    Image i of a task has the same prompt and initial latent in every configuration, so these
    values pair across configurations by `index` (the frontier's bootstrap resamples indices).
    Set-level metrics such as Fréchet distances have no per-image values and no rows here.
    """
    frames = []
    for path in score_files:
        result = files.read_json(path)
        if "per_image" in result:
            values = result["per_image"]
            config = {k: [v] * len(values) for k, v in config_from_path(path).items()}
            frames.append(
                pl.DataFrame(
                    {**config, "metric": [result["metric"]] * len(values), "index": range(len(values)), "value": values}
                )
            )
    schema = {"task": pl.String, "model": pl.String, "sampler": pl.String, "steps": pl.Int64, "guidance": pl.Float64,
              "metric": pl.String, "index": pl.Int64, "value": pl.Float64}  # fmt: skip
    return pl.concat([f.cast(schema) for f in frames]) if frames else pl.DataFrame(schema=schema)


def write(table: pl.DataFrame, parquet_path: str, csv_path: str) -> None:
    """Write the summary as parquet (for code) and CSV (for people), atomically."""
    with files.atomic_path(parquet_path) as tmp:
        table.write_parquet(tmp)
    with files.atomic_path(csv_path) as tmp:
        table.write_csv(tmp)
