"""Rule sample_grid: the same prompts across models (rows) × steps (columns), one PNG per task, sampler and guidance."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from ldmscale import files, grids

with files.job_log(snakemake.log[0]):
    p = snakemake.params
    grids.write(
        snakemake.input.shards,
        files.read_json(snakemake.input.prompts),
        p.models,
        p.steps,
        p.images,
        p.cell_px,
        snakemake.output[0],
    )
