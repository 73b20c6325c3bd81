"""Rule refinement: results/{experiment}/frontier/refinement.csv, one row per round of an adaptively refined sweep, and
refinement_open.csv, one row per decision its last round leaves open."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from ldmscale import files, refine

with files.job_log(snakemake.log[0]) as log:
    p = snakemake.params
    plans = [files.read_json(path) for path in snakemake.input.plans]
    seconds = refine.generate_seconds(p.benchmarks, plans[-1]["images"])
    table = refine.refinement_table(plans, p.caps, p.shard_sizes, seconds)
    last = table.row(-1, named=True)
    log.info("%d rounds: %d images (uniform: %d), %d generate jobs (uniform: %d)", table.height,
             last["images_total"], last["uniform_images"], last["generate_jobs"], last["uniform_generate_jobs"])  # fmt: skip
    with files.atomic_path(snakemake.output.rounds) as tmp:
        table.write_csv(tmp)
    with files.atomic_path(snakemake.output.open) as tmp:
        refine.open_decisions(plans[-1], p.caps).write_csv(tmp)
