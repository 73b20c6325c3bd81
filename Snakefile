# ldmscale: size × sampler × steps × guidance sweeps of latent diffusion models, to a cost-quality frontier.
# The DAG, stage by stage: see workflow/rules/ and ../README.md.

# `--configfile F` replaces the default experiment instead of deep-merging into it (its tasks
# would otherwise be added to yours); `--config key=value` still edits whichever is loaded.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/cost.smk"
include: "workflow/rules/generate.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/frontier.smk"
include: "workflow/rules/scaling.smk"
include: "workflow/rules/refine.smk"


rule all:
    input:
        all_targets(),


onsuccess:
    from ldmscale import ending

    print(ending.summary(ROOT, configfiles=workflow.overwrite_configfiles or []), end="")
