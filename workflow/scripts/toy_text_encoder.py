"""Rule toy_text_encoder: train the toy family's word-level text encoder."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from pathlib import Path

import torch

from ldmscale import files
from ldmscale.toy import train

with files.job_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    with files.atomic_path(snakemake.output[0]) as out:
        record = train.train_text_encoder(Path(out), snakemake.params.seed, **snakemake.params.recipe)
        files.write_json(Path(out) / "training.json", record)
