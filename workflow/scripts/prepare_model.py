"""Rule prepare_model: make resources/models/{model} a validated diffusers pipeline directory (or, for an
architecture-only model, its components' configs); a LoRA model's base with its LoRA fused in."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from pathlib import Path

from ldmscale import architectures, files, lora, models
from ldmscale.toy import nets, predicted, upscale


def prepare(source: str, spec: dict, inputs, out: str) -> None:
    seed = snakemake.params.untrained_seed
    if source == "toy" and seed is not None:  # a size nobody trained (predict: true): counted on its untrained UNet
        predicted.assemble(out, spec["width"], spec["kind"], Path(inputs.vae), Path(inputs.text), seed)
    elif source == "toy":
        assemble = upscale.assemble if spec["kind"] == "super_resolution" else nets.assemble
        assemble(out, Path(inputs.unet), Path(inputs.vae), Path(inputs.text))
    elif source == "local":
        models.copy_local(inputs.local, out)
    elif source == "hub":
        models.fetch_hub(spec["repo_id"], spec["revision"], out)
    else:
        architectures.write(out, spec["preset"], spec["base_channels"], spec["unet"])


with files.job_log(snakemake.log[0]) as log:
    inputs, out, p = snakemake.input, snakemake.output[0], snakemake.params
    if p.lora is None:
        prepare(p.source, p.spec, inputs, out)
    else:  # the base into a scratch directory beside the output, then the fused pipeline into the output
        base = Path(out).with_name(f".{Path(out).name}.base")
        prepare(p.source, p.spec, inputs, str(base))
        hub = p.lora.get("hub")
        lora_file = lora.hub_file(hub["repo_id"], hub["revision"], hub["weight_name"]) if hub else inputs.lora
        lora.prepare(base, lora_file, out, p.lora["scale"], {"base": {p.source: p.spec}, "source": p.lora})
        log.info("LoRA %s fused at scale %s", lora_file, p.lora["scale"])
    if p.source == "architecture":
        log.info("architecture %s: configs only, random weights when used", p.spec)
    else:
        log.info("components: %s", models.validate_pipeline_dir(out))
