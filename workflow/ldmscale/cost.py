"""Cost of sampling: FLOPs counted on the meta device, latency timed on the real one, and the cost formulas."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import time
from pathlib import Path

import torch
import torch.utils.flop_counter as flop_counter_module
from torch.utils.flop_counter import FlopCounterMode


def flop_counter() -> FlopCounterMode:
    """Return a FlopCounterMode that also counts attention run by PyTorch's CPU SDPA kernels.

    torch's registry covers SDPA's CUDA kernels and the math path (which the meta device
    takes) but not the fused CPU kernel, whose attention would otherwise count as 0 FLOPs.
    """
    aten = torch.ops.aten
    cpu_kernels = {
        "_scaled_dot_product_flash_attention_for_cpu": flop_counter_module.sdpa_flop,
        "_scaled_dot_product_flash_attention_for_cpu_backward": flop_counter_module.sdpa_backward_flop,
    }
    mapping = {getattr(aten, op): formula.__wrapped__ for op, formula in cpu_kernels.items() if hasattr(aten, op)}
    return FlopCounterMode(display=False, custom_mapping=mapping)


def _counted(fn) -> int:
    with flop_counter() as counter:
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


def apply_switches(pipe, channels_last: bool, compile: bool) -> None:
    """Switch the pipeline's UNet and VAE to channels-last memory and/or torch.compile them, in place.

    As diffusers' own guide does it: the UNet module is replaced by its compiled wrapper (which
    forwards .config, .dtype and hooks) and the VAE's decode method by a compiled one.
    """
    if channels_last:
        pipe.unet.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
    if compile:
        pipe.unet = torch.compile(pipe.unet)
        pipe.vae.decode = torch.compile(pipe.vae.decode)


def profile_latency(
    pipe, batch: int, resolution: int, warmup: int = 3, repeats: int = 10, channels_last: bool = False, compile: bool = False
) -> dict:
    """Return per component call at `batch`: median ms and spread, FLOPs, TFLOP/s, MFU and peak memory.

    FLOPs are counted on the eager modules before the switches apply, with the same inputs
    as the timed calls. Peak memory is per component (`max_memory_allocated` after a reset,
    weights of every loaded component included) and only on a GPU: PyTorch's CPU allocator
    keeps no peak, so on CPU it is null rather than estimated.
    """
    device = pipe.unet.device
    dtype = pipe.unet.dtype
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    latent_size = resolution // pipe.vae_scale_factor
    tokens = pipe.text_encoder.config.max_position_embeddings
    ids = torch.zeros(batch, tokens, dtype=torch.long, device=device)
    latent = torch.zeros(batch, pipe.vae.config.latent_channels, latent_size, latent_size, device=device, dtype=dtype)
    latent = latent.to(memory_format=memory_format)

    def unet_call(b):
        x, t, ctx = unet_inputs(pipe.unet.config, b, latent_size, tokens, device=device)
        x = x.to(dtype).to(memory_format=memory_format)
        return lambda: pipe.unet(x, t, ctx.to(dtype))

    calls = {
        "unet": unet_call(batch),
        "unet_cfg": unet_call(2 * batch),
        "text_encoder": lambda: pipe.text_encoder(ids),
        "vae_decoder": lambda: pipe.vae.decode(latent),
    }
    info = device_info(device)
    peak = peak_tflops(info["name"], dtype) if device.type == "cuda" else None
    with torch.inference_mode():
        flops = {name: _counted(fn) for name, fn in calls.items()}
        attention = sorted({type(p).__name__ for p in pipe.unet.attn_processors.values()})
        apply_switches(pipe, channels_last, compile)
        times, memory = {}, {}
        for name, fn in calls.items():
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            times[name] = time_ms(fn, device, warmup, repeats)
            memory[name] = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    median = {k: statistics.median(v) for k, v in times.items()}
    achieved = {k: flops[k] / (median[k] * 1e-3) / 1e12 for k in calls}
    return {
        "batch": batch,
        "resolution": resolution,
        "dtype": str(dtype).removeprefix("torch."),
        "device": info["name"],
        "device_info": info,
        "attention": attention,
        "channels_last": channels_last,
        "compile": compile,
        "warmup": warmup,
        "repeats": repeats,
        "median_ms": median,
        "iqr_ms": {k: _iqr(v) for k, v in times.items()},
        "min_ms": {k: min(v) for k, v in times.items()},
        "max_ms": {k: max(v) for k, v in times.items()},
        "times_ms": times,
        "flops_per_call": flops,
        "achieved_tflops": achieved,
        "peak_tflops": peak,
        "mfu": {k: achieved[k] / peak if peak else None for k in calls},
        "peak_memory_bytes": memory,
        "peak_memory_note": None if device.type == "cuda" else "not measured on CPU: PyTorch's CPU allocator keeps no peak",
    }


def end_to_end(pipe, latency: dict, configurations: list[dict], warmup: int = 1, repeats: int = 3) -> list[dict]:
    """Return, per configuration, ms per image derived from the component times beside a direct pipeline timing.

    Each configuration (sampler, steps, guidance) runs the whole pipeline at the profiled
    batch size and resolution; its UNet calls are counted with the same hook as generation,
    so the derived figure uses the real NFE. The gap between the two is what the component
    sum leaves out: scheduler steps, guidance arithmetic, post-processing, launch gaps.
    """
    from . import generate, samplers

    device, batch, resolution = pipe.unet.device, latency["batch"], latency["resolution"]
    original = pipe.scheduler
    results = []
    try:
        for c in configurations:
            pipe.scheduler = samplers.scheduler(c["sampler"], original.config)
            run = _pipeline_call(pipe, batch, resolution, c["steps"], c["guidance"])
            counter = generate.CallCounter(pipe.unet)
            try:
                run()  # the first warm-up call, counted
                unet_batches = counter.take()
            finally:
                counter.remove()
            nfe, cfg = len(unet_batches), unet_batches[0] == 2 * batch
            measured = [ms / batch for ms in time_ms(run, device, max(warmup - 1, 0), repeats)]
            derived = sampling_latency_ms(latency, nfe, cfg)
            results.append({
                **c, "nfe": nfe, "cfg": cfg, "repeats": repeats,
                "derived_ms_per_image": derived,
                "measured_ms_per_image": statistics.median(measured),
                "measured_iqr_ms": _iqr(measured),
                "measured_over_derived": statistics.median(measured) / derived,
            })  # fmt: skip
    finally:
        pipe.scheduler = original
    return results


def _pipeline_call(pipe, batch: int, resolution: int, steps: int, guidance: float):
    """Return a function that generates `batch` images with the pipeline as it is set up."""
    return lambda: pipe(
        prompt=[""] * batch, height=resolution, width=resolution, num_inference_steps=steps,
        guidance_scale=guidance, generator=torch.Generator().manual_seed(0), output_type="np",
    )  # fmt: skip


def _iqr(values: list[float]) -> float:
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return q[2] - q[0]


# Dense peaks (no 2:4 sparsity: half of the datasheets' headline figures) of 16-bit tensor-core
# matmuls with fp32 accumulation, in TFLOP/s, from NVIDIA's datasheets. Matched in order against
# torch's device name ("NVIDIA H100 80GB HBM3" is the SXM part). float16 and bfloat16 share the
# figure on these parts. float32 has no entry on purpose: cuDNN runs fp32 convolutions as TF32 on
# tensor cores while matmuls stay on CUDA cores by default, so no single peak applies.
PEAK_TFLOPS_16BIT = [
    (r"\bH100\b.*\bPCIe\b", 756.0),
    (r"\bH100 NVL\b", 835.0),
    (r"\bH100\b", 989.4),
    (r"\bH200 NVL\b", 835.0),
    (r"\bH200\b", 989.4),
    (r"\bA100\b", 312.0),
    (r"\bL40S\b", 362.05),
    (r"\bL40\b", 181.05),
    (r"\bL4\b", 121.0),
    (r"\bA10\b", 125.0),
]


def peak_tflops(device_name: str, dtype: torch.dtype) -> float | None:
    """Return the device's dense peak TFLOP/s for `dtype`, or None where the table has none (never a guess)."""
    if dtype not in (torch.float16, torch.bfloat16):
        return None
    return next((peak for pattern, peak in PEAK_TFLOPS_16BIT if re.search(pattern, device_name)), None)


def device_info(device: torch.device) -> dict:
    """Return the device's type and name, and on a GPU the CUDA runtime, driver, memory and compute capability."""
    if device.type != "cuda":
        return {"type": device.type, "name": device_name(device)}
    props = torch.cuda.get_device_properties(device)
    return {
        "type": "cuda",
        "name": props.name,
        "cuda_runtime": torch.version.cuda,
        "driver": nvidia_driver(),
        "memory_bytes": props.total_memory,
        "capability": f"{props.major}.{props.minor}",
    }


def nvidia_driver() -> str | None:
    """Return the NVIDIA driver version from NVML (pynvml) when installed, else from nvidia-smi, else None."""
    try:
        import pynvml
    except ImportError:
        pass
    else:
        pynvml.nvmlInit()
        try:
            version = pynvml.nvmlSystemGetDriverVersion()
        finally:
            pynvml.nvmlShutdown()
        return version.decode() if isinstance(version, bytes) else version
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.splitlines()[0].strip() if out.strip() else None


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
