"""Rules chart_*: one frontier chart as HTML (Vega inlined), PNG and SVG."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from ldmscale import files
from ldmscale.frontier.charts import write_chart

with files.job_log(snakemake.log[0]):
    tables = dict(snakemake.input.items())
    write_chart(
        snakemake.params.kind, tables, snakemake.wildcards.metric, snakemake.wildcards.get("cost"), snakemake.output
    )
