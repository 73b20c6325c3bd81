"""Rule toy_text_encoder: train the toy family's word-level text encoder."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from pathlib import Path

import torch

from ldmscale import io
from ldmscale.toy import train

with io.job_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    with io.atomic_path(snakemake.output[0]) as out:
        record = train.train_text_encoder(Path(out), snakemake.params.seed, **snakemake.params.recipe)
        io.write_json(Path(out) / "training.json", record)
