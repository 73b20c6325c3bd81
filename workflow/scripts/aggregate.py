"""Rule aggregate: one row per configuration with all its costs and scores."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from ldmscale import aggregate, files

with files.job_log(snakemake.log[0]) as log:
    table = aggregate.summary(
        flops_files=snakemake.input.flops,
        latency_files=snakemake.input.latency,
        score_files=snakemake.input.scores,
        shard_dirs=snakemake.input.first_shards,
        reference_model=snakemake.params.reference_model,
        training=dict(zip(snakemake.params.trained_models, snakemake.input.training)),
        teachers=snakemake.params.teachers,
    )
    log.info("%d configurations", table.height)
    aggregate.write(table, snakemake.output.parquet, snakemake.output.csv)
    with files.atomic_path(snakemake.output.per_image) as tmp:
        aggregate.per_image(snakemake.input.scores).write_parquet(tmp)
