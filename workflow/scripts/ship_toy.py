"""Rule ship_toy: the trained toy family as fp16 checkpoints for resources/toy/ (see `make toy-checkpoints`)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from pathlib import Path

from ldmscale import files
from ldmscale.toy import ship

with files.job_log(snakemake.log[0]) as log:
    parts = {Path(p).name: Path(p) for p in snakemake.input.parts}
    p, i = snakemake.params, snakemake.input
    members = dict(zip(p.widths, zip(i.unets, i.records)))
    students = dict(zip(p.student_widths, zip(i.student_unets, i.student_records)))
    sr_members = dict(zip(p.sr_widths, zip(i.sr_unets, i.sr_records)))
    record = ship.ship(snakemake.output[0], parts, members, p.recipe, p.repository, students, sr_members)
    log.info("shipped %d files from commit %s", len(record["sha256"]), record["commit"])
