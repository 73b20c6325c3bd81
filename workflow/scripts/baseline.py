"""Rule baseline: one shard of a super-resolution task's inputs upscaled without a model (bicubic, say)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from ldmscale import files, paths, sr

with files.job_log(snakemake.log[0]):
    doc = files.read_json(snakemake.input.prompts)
    indices = paths.shard_indices(len(doc["items"]), snakemake.params.shard_size, int(snakemake.wildcards.shard))
    sr.write_baseline_shard(doc, snakemake.wildcards.model, indices, snakemake.output[0])
