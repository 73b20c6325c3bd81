"""Rule charts: every frontier chart of one metric as HTML (Vega inlined), PNG and SVG, in one process."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from ldmscale import files, paths
from ldmscale.frontier.charts import write_charts

with files.job_log(snakemake.log[0]) as log:
    out = snakemake.output
    charts = {paths.CHART_VIEWS[v]: [h, p, s] for v, h, p, s in zip(snakemake.params.views, out.html, out.png, out.svg)}
    write_charts(dict(snakemake.input.items()), snakemake.wildcards.metric, charts)
    log.info("%d charts of %s", len(charts), snakemake.wildcards.metric)
