"""Cost of sampling: FLOPs counted on the meta device, latency timed on the real one, and the cost formulas."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode


def _counted(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def _component_config(model_dir: Path, name: str) -> dict:
    return json.loads((model_dir / name / "config.json").read_text())


def unet_inputs(config: dict, batch: int, latent_size: int, tokens: int, device="meta") -> tuple:
    """Return (sample, timestep, encoder_hidden_states) for one UNet call at `batch`."""
    return (
        torch.zeros(batch, config["in_channels"], latent_size, latent_size, device=device),
        torch.zeros(batch, dtype=torch.long, device=device),
        torch.zeros(batch, tokens, config["cross_attention_dim"], device=device),
    )


def geometry(model_dir: str | Path, resolution: int | None = None) -> dict:
    """Return the pipeline's image resolution, latent size and text length, from its configs alone."""
    model_dir = Path(model_dir)
    unet = _component_config(model_dir, "unet")
    vae = _component_config(model_dir, "vae")
    text = _component_config(model_dir, "text_encoder")
    factor = 2 ** (len(vae["block_out_channels"]) - 1)
    resolution = resolution or unet["sample_size"] * factor
    if resolution % factor:
        raise ValueError(f"{model_dir}: resolution {resolution} is not a multiple of the VAE factor {factor}")
    return {"resolution": resolution, "latent_size": resolution // factor, "tokens": text["max_position_embeddings"]}


def count_flops(model_dir: str | Path, resolution: int | None = None) -> dict:
    """Return params and FLOPs per call of the UNet (batch 1 and 2), VAE decoder and text encoder.

    Models are built from their configs on the meta device: no weights are read and no
    memory is used, so a 5B UNet counts in seconds. FLOPs are 2 × MACs, attention included.
    """
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import AutoConfig, AutoModel

    model_dir = Path(model_dir)
    geo = geometry(model_dir, resolution)
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(_component_config(model_dir, "unet"))
        vae = AutoencoderKL.from_config(_component_config(model_dir, "vae"))
        text = AutoModel.from_config(AutoConfig.from_pretrained(model_dir / "text_encoder"))
        tokens = torch.zeros(1, geo["tokens"], dtype=torch.long)
        latent = torch.zeros(1, vae.config.latent_channels, geo["latent_size"], geo["latent_size"])
        with torch.no_grad():
            result = {
                "unet": {
                    "params": sum(p.numel() for p in unet.parameters()),
                    "flops_b1": _counted(lambda: unet(*unet_inputs(unet.config, 1, geo["latent_size"], geo["tokens"]))),
                    "flops_b2": _counted(lambda: unet(*unet_inputs(unet.config, 2, geo["latent_size"], geo["tokens"]))),
                },
                "vae_decoder": {
                    "params": sum(p.numel() for n, p in vae.named_parameters() if not n.startswith(("encoder", "quant_conv"))),
                    "flops_b1": _counted(lambda: vae.decode(latent)),
                },
                "text_encoder": {
                    "params": sum(p.numel() for p in text.parameters()),
                    "flops_b1": _counted(lambda: text(tokens)),
                },
            }
    return {**geo, **result}


def sampling_flops(flops: dict, nfe: int, cfg: bool) -> float:
    """Return FLOPs to sample one image: text encoder + NFE UNet calls + VAE decode.

    With classifier-free guidance the prompt and the empty prompt are encoded, and each UNet
    call runs on the doubled batch.
    """
    per_unet_call = flops["unet"]["flops_b2"] if cfg else flops["unet"]["flops_b1"]
    return (2 if cfg else 1) * flops["text_encoder"]["flops_b1"] + nfe * per_unet_call + flops["vae_decoder"]["flops_b1"]


def normalised_cost(unet_flops: float, reference_unet_flops: float, steps: int) -> float:
    """Return the paper's normalised sampling cost: UNet FLOPs relative to the reference model's, times steps."""
    return unet_flops / reference_unet_flops * steps


def sampling_latency_ms(latency: dict, nfe: int, cfg: bool) -> float:
    """Return ms per image from profiled component times at the profiled batch size."""
    ms = latency["median_ms"]
    per_batch = (2 if cfg else 1) * ms["text_encoder"] + nfe * (ms["unet_cfg"] if cfg else ms["unet"]) + ms["vae_decoder"]
    return per_batch / latency["batch"]


def time_ms(fn, device: torch.device, warmup: int, repeats: int) -> list[float]:
    """Return wall times in ms of `repeats` calls after `warmup`, synchronised with CUDA events on a GPU."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize(device)
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return times


def profile_latency(pipe, batch: int, resolution: int, warmup: int = 3, repeats: int = 10) -> dict:
    """Return median and spread of ms per call of each component at `batch`, with peak memory on a GPU."""
    device = pipe.unet.device
    dtype = pipe.unet.dtype
    factor = pipe.vae_scale_factor
    latent_size = resolution // factor
    tokens = pipe.text_encoder.config.max_position_embeddings
    ids = torch.zeros(batch, tokens, dtype=torch.long, device=device)
    latent = torch.zeros(batch, pipe.vae.config.latent_channels, latent_size, latent_size, device=device, dtype=dtype)

    def unet_call(b):
        x, t, ctx = unet_inputs(pipe.unet.config, b, latent_size, tokens, device=device)
        return lambda: pipe.unet(x.to(dtype), t, ctx.to(dtype))

    calls = {
        "unet": unet_call(batch),
        "unet_cfg": unet_call(2 * batch),
        "text_encoder": lambda: pipe.text_encoder(ids),
        "vae_decoder": lambda: pipe.vae.decode(latent),
    }
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = {}
    with torch.inference_mode():
        for name, fn in calls.items():
            times[name] = time_ms(fn, device, warmup, repeats)
    result = {
        "batch": batch,
        "resolution": resolution,
        "dtype": str(dtype).removeprefix("torch."),
        "device": device_name(device),
        "warmup": warmup,
        "repeats": repeats,
        "median_ms": {k: statistics.median(v) for k, v in times.items()},
        "iqr_ms": {k: _iqr(v) for k, v in times.items()},
        "times_ms": times,
    }
    if device.type == "cuda":
        result["peak_memory_bytes"] = torch.cuda.max_memory_allocated(device)
        result["driver"] = torch.version.cuda
    return result


def _iqr(values: list[float]) -> float:
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return q[2] - q[0]


def device_name(device: torch.device) -> str:
    """Return a human label of `device`: the GPU's name, or the CPU's model with its thread count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = "CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"CPU ({model}, {torch.get_num_threads()} threads)"


def cost_table(flops: dict[str, dict], latency: dict[str, dict], sources: dict[str, str], reference_model: str | None):
    """Return one row per model: params, GFLOPs per call of each component, UNet cost relative to the reference's.

    `latency` may be empty (not profiled); the reference defaults to the model with the most UNet FLOPs.
    """
    import polars as pl

    if reference_model is None:
        reference_model = max(flops, key=lambda m: flops[m]["unet"]["flops_b1"])
    reference = flops[reference_model]["unet"]["flops_b1"]
    rows = []
    for name, f in flops.items():
        row = {
            "model": name,
            "source": sources[name],
            "resolution": f["resolution"],
            "unet_params": f["unet"]["params"],
            "unet_gflops": f["unet"]["flops_b1"] / 1e9,
            "unet_relative_cost": normalised_cost(f["unet"]["flops_b1"], reference, 1),
            "text_encoder_gflops": f["text_encoder"]["flops_b1"] / 1e9,
            "vae_decoder_gflops": f["vae_decoder"]["flops_b1"] / 1e9,
        }
        if name in latency:
            lat = latency[name]
            row |= {"unet_ms_per_image": lat["median_ms"]["unet"] / lat["batch"], "latency_batch": lat["batch"], "latency_device": lat["device"]}
        rows.append(row)
    return pl.DataFrame(rows).sort("unet_params").with_columns(pl.lit(reference_model).alias("reference_model"))


def markdown(table) -> str:
    """Return the cost table as a Markdown table for people: params in millions, FLOPs in GFLOPs."""

    def cell(column: str, value) -> str:
        if column == "unet_params":
            return f"{value / 1e6:,.1f} M"
        if column == "unet_relative_cost":
            return f"{value:.3f}"
        return f"{value:,.1f}" if isinstance(value, float) else str(value)

    header = [c for c in table.columns if c != "reference_model"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c, row[c]) for c in header) + " |" for row in table.iter_rows(named=True)]
    reference = table["reference_model"][0]
    return "\n".join(lines) + f"\n\nUNet cost relative to {reference} (batch 1, per call); FLOPs = 2 × MACs.\n"
