"""Rule prepare_task: the task's prompts, one per image index, with what the scorer needs, and its real images
(super-resolution: its crops and how their inputs are made)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from ldmscale import files, tasks

with files.job_log(snakemake.log[0]):
    p = snakemake.params
    if p.kind == "super_resolution":
        doc = tasks.super_resolution(p.super_resolution, p.num_images)
    else:
        doc = tasks.prompts(p.prompts, p.num_images, p.reference, p.reference_images)
    files.write_json(snakemake.output[0], doc)
