"""The cost of sampling one image from a model's counted FLOPs and timed components: arithmetic only, no torch, so
that a job which only reads cost records (the summary, the scaling law's predicted sizes) need not import it."""

from __future__ import annotations


def sampling_flops(flops: dict, nfe: int, cfg: bool) -> float:
    """Return FLOPs to sample one image: text encoder + NFE UNet calls + VAE decode.

    With classifier-free guidance the prompt and the empty prompt are encoded (SDXL's zeros for the
    empty prompt: only the prompt), and each UNet call runs on the doubled batch.
    """
    per_unet_call = flops["unet"]["flops_b2"] if cfg else flops["unet"]["flops_b1"]
    text = flops["text_encoder"]
    return (
        (text.get("calls_with_cfg", 2) if cfg else 1) * text["flops_b1"]
        + nfe * per_unet_call
        + flops["vae_decoder"]["flops_b1"]
    )


def sampling_latency_ms(latency: dict, nfe: int, cfg: bool) -> float:
    """Return ms per image from profiled component times at the profiled batch size."""
    ms, text_calls = latency["median_ms"], latency.get("text_encoder_calls_with_cfg", 2)
    per_batch = (
        (text_calls if cfg else 1) * ms["text_encoder"]
        + nfe * (ms["unet_cfg"] if cfg else ms["unet"])
        + ms["vae_decoder"]
    )
    return per_batch / latency["batch"]


def normalised_cost(unet_flops: float, reference_unet_flops: float, steps: int) -> float:
    """Return the paper's normalised sampling cost: UNet FLOPs relative to the reference model's, times steps."""
    return unet_flops / reference_unet_flops * steps


def devices_note(table) -> str:
    """Return a warning where the models' latency was measured on more than one device ('' otherwise): latencies
    from different devices do not compare."""
    if "latency_device" not in table.columns:
        return ""
    by_device = table.filter(table["latency_device"].is_not_null()).group_by("latency_device", maintain_order=True)
    groups = {device: sorted(rows["model"].unique()) for (device,), rows in by_device}
    if len(groups) < 2:
        return ""
    where = "; ".join(f"{', '.join(models)} on {device}" for device, models in groups.items())
    return (f"\n**Latency was measured on {len(groups)} devices** ({where}): latencies of models on different devices "
            "are not comparable. Profile every model on one device (on SLURM, pin `gpu_model` for profile_latency in "
            "profiles/slurm/config.yaml).\n")  # fmt: skip
