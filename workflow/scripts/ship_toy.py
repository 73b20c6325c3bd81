"""Rule ship_toy: the trained toy family as fp16 checkpoints for resources/toy/ (see `make toy-checkpoints`)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from pathlib import Path

from ldmscale import files
from ldmscale.toy import ship

with files.job_log(snakemake.log[0]) as log:
    parts = {Path(p).name: Path(p) for p in snakemake.input.parts}
    members = dict(zip(snakemake.params.widths, zip(snakemake.input.unets, snakemake.input.records)))
    students = dict(
        zip(snakemake.params.student_widths, zip(snakemake.input.student_unets, snakemake.input.student_records))
    )
    record = ship.ship(
        snakemake.output[0], parts, members, snakemake.params.recipe, snakemake.params.repository, students
    )
    log.info("shipped %d files from commit %s", len(record["sha256"]), record["commit"])
