"""What planning a sweep costs: `snakemake -n` on ldmscale against a trivial workflow with the same DAG shape.

The trivial workflow has ldmscale's rules, paths, wildcards, edges and a `log:` per rule (every ldmscale rule has
one), and nothing else: no config validation, no imports, no input functions, no params; each job would only touch
its outputs. Its planning time and memory are Snakemake's own floor for the DAG; what ldmscale takes beyond it is
the cost of parsing ldmscale. Both get the same sweep, written into a temporary directory, and the same command
(`snakemake -n --cores 1`, no profile); the dry runs' job totals are printed so that the shapes can be compared.

    python workflow/benchmarks/dag.py                       # the paper-scale sweep: 11 × 3 × 8 × 8 × 30 (~67,655 jobs)
    python workflow/benchmarks/dag.py --widths 3 --shards 4 # a quick one
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SAMPLERS = ["ddim", "ddpm", "dpmpp_2m", "euler", "euler_a", "heun"]  # ldmscale.samplers.SAMPLERS, without importing it
STEPS = [4, 8, 12, 16, 20, 25, 32, 50]
GUIDANCE = [1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.5]
METRICS = ["attr_acc", "fd_toy"]  # the toy task's metrics; fd_toy needs reference statistics
COST_AXES = ["normalised_cost", "gflops_per_image", "latency_ms_per_image"]  # ldmscale.paths.COST_AXES
TABLES = ["pareto", "best_guidance", "best_per_cost", "best_per_budget", "crossovers"]
SHARD_SIZE = 128
LATENCY_BATCH = 64


def sweep(args: argparse.Namespace) -> dict:
    """Return the sweep's axes: model names and widths, samplers, steps, guidance scales, shards."""
    if (
        not 1 <= args.samplers <= len(SAMPLERS)
        or not 1 <= args.steps <= len(STEPS)
        or not 1 <= args.guidance <= len(GUIDANCE)
    ):
        raise SystemExit(f"--samplers ≤ {len(SAMPLERS)}, --steps ≤ {len(STEPS)}, --guidance ≤ {len(GUIDANCE)}")
    widths = [8 * (k + 1) for k in range(args.widths)]
    return {
        "models": {f"toy-c{w}": w for w in widths},
        "samplers": SAMPLERS[: args.samplers],
        "steps": STEPS[: args.steps],
        "guidance": GUIDANCE[: args.guidance],
        "shards": args.shards,
    }


def ldmscale_config(s: dict) -> dict:
    """Return the ldmscale config of the sweep: toy models trained here (any width), one task of `shards` shards."""
    return {
        "train_toy": True,
        "models": [{"name": name, "toy": {"width": width}} for name, width in s["models"].items()],
        "samplers": s["samplers"],
        "steps": s["steps"],
        "guidance": s["guidance"],
        "tasks": {
            "shapes": {
                "num_images": s["shards"] * SHARD_SIZE,
                "shard_size": SHARD_SIZE,
                "batch_size": LATENCY_BATCH,
                "metrics": METRICS,
            }
        },
        "cost": {"batch_sizes": [1, LATENCY_BATCH], "latency_batch": LATENCY_BATCH},
    }


def trivial_snakefile(s: dict) -> str:
    """Return a Snakefile with ldmscale's DAG for the sweep and rules that do nothing but name files."""
    axes = {k: s[k] for k in ("samplers", "steps", "guidance")}
    return f"""\
MODELS = {list(s["models"])!r}
SAMPLERS = {axes["samplers"]!r}
STEPS = {axes["steps"]!r}
GUIDANCE = {[f"{g:g}" for g in axes["guidance"]]!r}
SHARDS = list(range({s["shards"]}))
NUM_IMAGES = {s["shards"] * SHARD_SIZE}
METRICS = {METRICS!r}
COSTS = {COST_AXES!r}
TABLES = {TABLES!r}
TOY = "results/toy/v2"
CONFIG = "{{task}}/{{model}}/{{sampler}}/s{{steps}}_g{{guidance}}"
SHARD = "results/samples/" + CONFIG + "/shard{{shard}}"
VIEWS = COSTS + [c + "__winners" for c in COSTS] + ["steps", "train_flops"]


wildcard_constraints:
    task=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    model=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    sampler="|".join(SAMPLERS),
    metric="|".join(METRICS),
    steps=r"\\d+",
    guidance=r"\\d+(\\.\\d+)?",
    shard=r"\\d+",
    n=r"\\d+",
    extractor=r"(inception|clip|toy)-[^/]+",
    batch=r"\\d+",
    cost="|".join(COSTS),


rule all:
    input:
        "results/summary.parquet",
        "results/frontier/best_per_budget.csv",
        expand("results/frontier/{{metric}}__{{view}}.{{ext}}", metric=METRICS, view=VIEWS, ext=["html", "png", "svg"]),
        expand("results/frontier/grids/shapes/{{sampler}}_g{{guidance}}.png", sampler=SAMPLERS, guidance=GUIDANCE[-1]),


rule toy_text_encoder:
    output:
        directory(TOY + "/text"),
    log:
        "logs/toy_text_encoder.log",
    shell:
        "touch {{output}}"


rule toy_autoencoder:
    output:
        directory(TOY + "/vae"),
    log:
        "logs/toy_autoencoder.log",
    shell:
        "touch {{output}}"


rule toy_scorer:
    output:
        directory(TOY + "/scorer"),
    log:
        "logs/toy_scorer.log",
    shell:
        "touch {{output}}"


rule train_unet:
    input:
        text=TOY + "/text",
        vae=TOY + "/vae",
    output:
        unet=directory("results/models/{{model}}/unet"),
        record="results/models/{{model}}/train.json",
    log:
        "logs/train_unet/{{model}}.log",
    shell:
        "touch {{output}}"


rule prepare_model:
    input:
        unet="results/models/{{model}}/unet",
        vae=TOY + "/vae",
        text=TOY + "/text",
    output:
        directory("resources/models/{{model}}"),
    log:
        "logs/prepare_model/{{model}}.log",
    shell:
        "touch {{output}}"


rule count_flops:
    input:
        "resources/models/{{model}}",
    output:
        "results/cost/{{model}}/flops.json",
    log:
        "logs/count_flops/{{model}}.log",
    shell:
        "touch {{output}}"


rule profile_latency:
    input:
        "resources/models/{{model}}",
    output:
        "results/cost/{{model}}/latency_b{{batch}}.json",
    log:
        "logs/profile_latency/{{model}}_b{{batch}}.log",
    shell:
        "touch {{output}}"


rule prepare_task:
    output:
        "results/tasks/{{task}}/prompts.json",
    log:
        "logs/prepare_task/{{task}}.log",
    shell:
        "touch {{output}}"


rule reference_features:
    input:
        prompts="results/tasks/{{task}}/prompts.json",
        weights=TOY + "/scorer",
    output:
        "results/reference/{{task}}/{{extractor}}/n{{n}}.safetensors",
    log:
        "logs/reference_features/{{task}}/{{extractor}}/n{{n}}.log",
    shell:
        "touch {{output}}"


rule generate:
    input:
        model="resources/models/{{model}}",
        prompts="results/tasks/{{task}}/prompts.json",
    output:
        directory(SHARD),
    log:
        "logs/generate/" + CONFIG + "/shard{{shard}}.log",
    shell:
        "touch {{output}}"


rule image_features:
    input:
        prompts="results/tasks/{{task}}/prompts.json",
        weights=TOY + "/scorer",
        shards=expand(SHARD, shard=SHARDS, allow_missing=True),
    output:
        "results/features/" + CONFIG + "/{{extractor}}.safetensors",
    log:
        "logs/image_features/" + CONFIG + "/{{extractor}}.log",
    shell:
        "touch {{output}}"


rule score:
    input:
        prompts="results/tasks/{{task}}/prompts.json",
        features="results/features/" + CONFIG + "/toy-scorer.safetensors",
        reference=lambda wc: [f"results/reference/{{wc.task}}/toy-scorer/n{{NUM_IMAGES}}.safetensors"] if wc.metric == "fd_toy" else [],
    output:
        "results/scores/" + CONFIG + "/{{metric}}.json",
    log:
        "logs/score/" + CONFIG + "/{{metric}}.log",
    shell:
        "touch {{output}}"


rule aggregate:
    input:
        flops=expand("results/cost/{{model}}/flops.json", model=MODELS),
        latency=expand("results/cost/{{model}}/latency_b{LATENCY_BATCH}.json", model=MODELS),
        scores=expand(
            "results/scores/shapes/{{model}}/{{sampler}}/s{{steps}}_g{{guidance}}/{{metric}}.json",
            model=MODELS, sampler=SAMPLERS, steps=STEPS, guidance=GUIDANCE, metric=METRICS,
        ),
        first_shards=expand(
            "results/samples/shapes/{{model}}/{{sampler}}/s{{steps}}_g{{guidance}}/shard0",
            model=MODELS, sampler=SAMPLERS, steps=STEPS, guidance=GUIDANCE,
        ),
        training=expand("results/models/{{model}}/train.json", model=MODELS),
    output:
        parquet="results/summary.parquet",
        csv="results/summary.csv",
        per_image="results/per_image.parquet",
    log:
        "logs/aggregate.log",
    shell:
        "touch {{output}}"


rule frontier:
    input:
        summary="results/summary.parquet",
        per_image="results/per_image.parquet",
    output:
        tables=expand("results/frontier/{{table}}.csv", table=TABLES),
        parquet=expand("results/frontier/{{table}}.parquet", table=TABLES),
        distillation=multiext("results/frontier/distillation", ".csv", ".parquet"),
        readme="results/frontier/README.md",
    log:
        "logs/frontier.log",
    shell:
        "touch {{output}}"


rule charts:
    input:
        "results/frontier/best_guidance.parquet",
        "results/frontier/pareto.parquet",
        "results/frontier/best_per_cost.parquet",
        "results/frontier/crossovers.parquet",
    output:
        expand("results/frontier/{{{{metric}}}}__{{view}}.{{ext}}", view=VIEWS, ext=["html", "png", "svg"]),
    log:
        "logs/charts/{{metric}}.log",
    shell:
        "touch {{output}}"


rule sample_grid:
    input:
        prompts="results/tasks/{{task}}/prompts.json",
        shards=expand(
            "results/samples/{{task}}/{{model}}/{{sampler}}/s{{steps}}_g{{guidance}}/shard{{shard}}",
            model=MODELS, steps=STEPS, shard=SHARDS, allow_missing=True,
        ),
    output:
        "results/frontier/grids/{{task}}/{{sampler}}_g{{guidance}}.png",
    log:
        "logs/sample_grid/{{task}}/{{sampler}}_g{{guidance}}.log",
    shell:
        "touch {{output}}"
"""


def dry_run(cmd: list[str], cwd: Path) -> dict:
    """Run a dry run; return its wall time, peak resident memory and job total (from the 'Job stats' table)."""
    log = cwd / "dry_run.log"
    start = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, not the sum of every child's
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{text[-3000:]}")
    table = text.split("Job stats:", 1)[-1].split("Reasons:", 1)[0]
    counts = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}
    total = counts.pop("total", 0)
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024, "jobs": total, "jobs_per_rule": counts}


def snakemake_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--dry-run", "--cores", "1", "--workflow-profile", "none", *args]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", type=int, default=11, help="toy models (widths 8, 16, ...)")
    parser.add_argument("--samplers", type=int, default=3, help=f"the first N of {SAMPLERS}")
    parser.add_argument("--steps", type=int, default=8, help=f"the first N of {STEPS}")
    parser.add_argument("--guidance", type=int, default=8, help=f"the first N of {GUIDANCE}")
    parser.add_argument("--shards", type=int, default=30, help=f"shards of {SHARD_SIZE} images per configuration")
    parser.add_argument("--only", choices=["ldmscale", "snakemake"], help="time one of the two")
    parser.add_argument("--output", type=Path, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    s = sweep(args)
    result = {"sweep": {**s, "models": list(s["models"])}}
    with tempfile.TemporaryDirectory(prefix="ldmscale-dag-") as tmp:
        tmp = Path(tmp)
        if args.only != "ldmscale":
            (tmp / "trivial").mkdir()
            (tmp / "trivial" / "Snakefile").write_text(trivial_snakefile(s))
            result["snakemake"] = dry_run(snakemake_cmd(), tmp / "trivial")
        if args.only != "snakemake":
            (tmp / "ldmscale").mkdir()
            (tmp / "ldmscale" / "config.yaml").write_text(yaml.safe_dump(ldmscale_config(s), sort_keys=False))
            cmd = snakemake_cmd("-s", str(ROOT / "Snakefile"), "--configfile", "config.yaml")
            result["ldmscale"] = dry_run(cmd, tmp / "ldmscale")
    shape = " × ".join(
        str(len(s[k]) if isinstance(s[k], (list, dict)) else s[k])
        for k in ("models", "samplers", "steps", "guidance", "shards")
    )
    print(f"sweep: {shape} (models × samplers × steps × guidance × shards)")
    for name in ("snakemake", "ldmscale"):
        if name in result:
            r = result[name]
            print(
                f"{name:>9}: {r['jobs']:>7,} jobs planned in {r['seconds']:8.1f} s, peak memory {r['peak_rss_mb']:8.1f} MB"
            )
    if "snakemake" in result and "ldmscale" in result:
        a, b = result["ldmscale"], result["snakemake"]
        result["ratio"] = {"time": a["seconds"] / b["seconds"], "memory": a["peak_rss_mb"] / b["peak_rss_mb"]}
        print(
            f"    ratio: time {result['ratio']['time']:.2f}×, memory {result['ratio']['memory']:.2f}× (ldmscale / snakemake)"
        )
        if a["jobs_per_rule"] != b["jobs_per_rule"]:
            print(f"warning: the DAGs differ: ldmscale {a['jobs_per_rule']}, trivial {b['jobs_per_rule']}")
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
