"""What a sweep will cost before it runs, from its config: per model its configurations, images and jobs, the GFLOPs
of sampling them, and, once its latency was profiled, the device-hours; in all, and the wall time on N devices.

Counts come from the config alone (the same sweep product and shard numbering as the workflow's). GFLOPs and hours
need the model's cost records (`results/{experiment}/cost/{model}/flops.json`, `latency_b{batch}.json`: seconds on the meta
device, and one profiling job); where a record is missing the row says which command makes it. UNet calls per image
are the sampler's (`samplers.expected_nfe`, on the prepared model's scheduler where there is one), and guidance above
1 doubles the batch: an estimate; the run counts the calls it makes.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from . import config as cfg
from . import files, paths, scoring
from .image_cost import sampling_flops, sampling_latency_ms


def _nfe(sampler: str, steps: int, model_dir: Path, cache: dict) -> int:
    key = (sampler, steps, model_dir)
    if key not in cache:
        from . import samplers

        scheduler = model_dir / "scheduler" / "scheduler_config.json"
        base = files.read_json(scheduler) if scheduler.is_file() else {}
        cache[key] = samplers.expected_nfe(sampler, steps, base)
    return cache[key]


def count_missing(config: dict, results: str | Path) -> list[str]:
    """Count on the meta device, into the experiment's folder `results`' cost/{model}/flops.json, the FLOPs of every
    local and architecture model that has no record yet (their configs are at hand; seconds each, no weights read);
    return the names counted. Toy and hub models get theirs from the workflow (`snakemake {results}/cost/…`)."""
    import tempfile

    from . import architectures, cost

    counted = []
    for model in config["models"]:
        out = Path(results) / paths.FLOPS.format(model=model["name"])
        kind = cfg.source(model)
        if out.is_file() or kind not in ("local", "architecture") or "lora" in model:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            where = model["local"]["path"] if kind == "local" else Path(tmp) / "model"
            if kind == "architecture":
                spec = model["architecture"]
                architectures.write(where, spec["preset"], spec["base_channels"], spec["unet"])
            files.write_json(out, cost.count_flops(where, cfg.cost_resolution(config)))
        counted.append(model["name"])
    return counted


def rows(config: dict, results: str | Path, models: str | Path = "resources/models") -> list[dict]:
    """Return one row per generating model: configurations, images, jobs per rule, GFLOPs and hours (None where its
    cost record in the experiment's folder `results` is missing), and the latency device."""
    results, models, cache = Path(results), Path(models), {}
    batch = config["cost"]["latency_batch"]
    out = defaultdict(lambda: {"configurations": 0, "images": 0, "generate": 0, "image_features": 0, "score": 0,
                               "gflops": 0.0, "hours": 0.0})  # fmt: skip
    for c in cfg.configurations(config):
        task = config["tasks"][c["task"]]
        n, row = task["num_images"], out[c["model"]]
        extractors = {scoring.get(m).extractor for m in task["metrics"]}
        row["configurations"] += 1
        row["images"] += n
        row["generate"] += paths.num_shards(n, task["shard_size"])
        row["image_features"] += len(extractors)
        row["score"] += len(task["metrics"])
        flops_path = results / paths.FLOPS.format(model=c["model"])
        latency_path = results / paths.LATENCY.format(model=c["model"], batch=batch)
        guided = float(c["guidance"]) > 1
        has_flops, has_latency = flops_path.is_file(), latency_path.is_file()
        nfe = _nfe(c["sampler"], c["steps"], models / c["model"], cache) if (
            has_flops or has_latency) else None  # fmt: skip
        gflops = n * sampling_flops(files.read_json(flops_path), nfe, guided) / 1e9 if has_flops else None
        latency = files.read_json(latency_path) if has_latency else None
        hours = n * sampling_latency_ms(latency, nfe, guided) / 3.6e6 if has_latency else None
        row["gflops"] = None if gflops is None or row["gflops"] is None else row["gflops"] + gflops
        row["hours"] = None if hours is None or row["hours"] is None else row["hours"] + hours
        row["device"] = latency["device"] if latency else row.get("device")
    return [{"model": model, **row} for model, row in out.items()]


def _unit(devices: set[str]) -> str:
    return "CPU-hours" if devices and all(d.startswith("CPU") for d in devices) else "GPU-hours"


def text(table: list[dict], results: str, gpus: int | None = None) -> str:
    """Return the plan as a table, its totals, and what to run where a cost record in `results` (the experiment's
    folder) is missing."""
    if not table:
        return f"no model generates: this sweep only costs its models ({results}/cost/table.csv)\n"
    devices = {r["device"] for r in table if r.get("device")}
    unit = _unit(devices)
    lines = [f"| model | configurations | images | generate / features / score jobs | GFLOPs | {unit} |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for r in table:
        gflops = "–" if r["gflops"] is None else f"{r['gflops']:.3g}"
        hours = "–" if r["hours"] is None else f"{r['hours']:.3g}"
        lines.append(f"| {r['model']} | {r['configurations']} | {r['images']} | {r['generate']} / "
                     f"{r['image_features']} / {r['score']} | {gflops} | {hours} |")  # fmt: skip
    total = {k: sum(r[k] for r in table) for k in ("configurations", "images", "generate", "image_features", "score")}
    lines.append(f"| all | {total['configurations']} | {total['images']} | {total['generate']} / "
                 f"{total['image_features']} / {total['score']} | "
                 f"{_sum(table, 'gflops', '.3g')} | {_sum(table, 'hours', '.3g')} |")  # fmt: skip
    if devices:
        lines.append(f"\nlatency measured on {', '.join(sorted(devices))}")
    hours = [r["hours"] for r in table]
    if gpus and all(h is not None for h in hours):
        lines.append(f"on {gpus} device(s): at least {sum(hours) / gpus:.3g} hours of sampling (jobs' start-up aside)")
    for r in table:
        missing = [what for what, key in (("flops.json", "gflops"), ("latency", "hours")) if r[key] is None]
        if missing:
            lines.append(f"{r['model']}: no {' or '.join(missing)} yet; `snakemake {results}/cost/{r['model']}/flops.json` "
                         "counts FLOPs in seconds (and profile_latency times it)")  # fmt: skip
    return "\n".join(lines) + "\n"


def _sum(table: list[dict], key: str, spec: str) -> str:
    values = [r[key] for r in table]
    return "–" if any(v is None for v in values) else format(sum(values), spec)
