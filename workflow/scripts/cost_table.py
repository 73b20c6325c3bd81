"""Rule cost_table: params, GFLOPs (and latency, when profiled) per model, as CSV and Markdown."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from pathlib import Path

from ldmscale import cost, files

with files.job_log(snakemake.log[0]) as log:
    read = lambda paths: {Path(f).parent.name: files.read_json(f) for f in paths}  # noqa: E731
    table = cost.cost_table(
        read(snakemake.input.flops),
        read(snakemake.input.get("latency", [])),
        snakemake.params.sources,
        snakemake.params.reference_model,
    )
    log.info("\n%s", table)
    with files.atomic_path(snakemake.output.csv) as tmp:
        table.write_csv(tmp)
    with files.atomic_path(snakemake.output.md) as tmp:
        tmp.write_text(cost.markdown(table))
