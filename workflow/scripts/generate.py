"""Rule generate: the images of one configuration shard."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

import torch

from ldmscale import cost, devices, files, generate, models, paths

with files.job_log(snakemake.log[0]), devices.claim():
    torch.set_num_threads(snakemake.threads)
    p, wc = snakemake.params, snakemake.wildcards
    doc = files.read_json(snakemake.input.prompts)
    prompts = {r["index"]: r["prompt"] for r in doc["items"]}
    sr_doc = doc if doc.get("kind") == "super_resolution" else None
    pipe = models.load_pipeline(snakemake.input.model, devices.resolve_device(p.device), p.dtype)
    generate.generate_shard(
        pipe,
        snakemake.output[0],
        prompts,
        paths.shard_indices(len(prompts), p.shard_size, int(wc.shard)),
        task_seed=p.seed,
        sampler=wc.sampler,
        steps=int(wc.steps),
        guidance=float(wc.guidance),
        batch_size=p.batch_size,
        resolution=doc["crop"] if sr_doc else cost.geometry(snakemake.input.model, p.resolution)["resolution"],
        sr_doc=sr_doc,
    )
