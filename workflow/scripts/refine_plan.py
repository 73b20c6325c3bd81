"""Checkpoint refine_plan: one round's unresolved decisions and the configurations that get their next images."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from ldmscale import aggregate, files, refine

with files.job_log(snakemake.log[0]) as log:
    i, p = snakemake.input, snakemake.params
    summary = aggregate.summary(
        flops_files=i.flops,
        latency_files=i.latency,
        score_files=i.scores,
        shard_dirs=i.first_shards,
        reference_model=p.reference_model,
        training=dict(zip(p.trained_models, i.training)),
        teachers=p.teachers,
    )
    per_image = aggregate.per_image(i.scores)
    round_ = int(snakemake.wildcards.round)
    plan = refine.plan(summary, per_image, p.metrics, p.images, p.caps, p.bootstrap, p.looks, round_, p.tolerance,
                       p.budgets)  # fmt: skip
    log.info(
        "round %d: %d images; %d decisions unresolved; %d configurations refined next",
        round_, sum(plan["images"].values()), len(plan["unresolved"]), len(plan["refine"]),
    )  # fmt: skip
    files.write_json(snakemake.output[0], plan)
