"""Rule distill_unet: distil one toy member into a few-step student with the shared recipe."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from pathlib import Path

import torch

from ldmscale import files
from ldmscale.toy import distill

with files.job_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    with files.atomic_path(snakemake.output.unet) as out:
        record = distill.distill_unet(
            Path(out),
            Path(snakemake.input.teacher),
            Path(snakemake.input.vae),
            Path(snakemake.input.text),
            snakemake.params.recipe,
        )
    teacher = files.read_json(snakemake.input.teacher_record)
    record |= {
        "teacher_train_flops": teacher["train_flops"],
        "train_flops": teacher["train_flops"] + record["distill_flops"],
        "train_flops_note": "the teacher's training FLOPs plus the distillation's",
    }
    files.write_json(snakemake.output.record, {**record, "threads": snakemake.threads, "versions": files.python_info()})
