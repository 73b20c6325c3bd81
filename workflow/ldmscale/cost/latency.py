"""Latency of each component call, timed on the runtime device (warm-up, CUDA events, median), and end to end."""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from .. import denoisers
from ..devices import device_info, peak_tflops
from ..image_cost import sampling_latency_ms
from .flops import TEXT_ENCODERS, _counted, denoiser_inputs, denoiser_tokens, text_calls_with_cfg, text_length


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
    autoencoder, name = autoencoder_of(pipe), denoisers.family_of(pipe).denoiser
    if channels_last:
        denoisers.of(pipe).to(memory_format=torch.channels_last)
        autoencoder.to(memory_format=torch.channels_last)
    if compile:
        setattr(pipe, name, torch.compile(denoisers.of(pipe)))
        autoencoder.decode = torch.compile(autoencoder.decode)


def autoencoder_of(pipe):
    """Return the pipeline's autoencoder: its VAE, or LDMSuperResolutionPipeline's VQ model."""
    return pipe.vae if getattr(pipe, "vae", None) is not None else pipe.vqvae


def _latent_size(pipe, resolution: int) -> int:
    """Return the latent's side at image side `resolution` (an SR pipeline's input is at this size too)."""
    return resolution // 2 ** (len(autoencoder_of(pipe).config.block_out_channels) - 1)


def profile_latency(
    pipe,
    batch: int,
    resolution: int,
    warmup: int = 3,
    repeats: int = 10,
    channels_last: bool = False,
    compile: bool = False,
) -> dict:
    """Return per component call at `batch`: median ms and spread, FLOPs, TFLOP/s, MFU and peak memory.

    FLOPs are counted on the eager modules before the switches apply, with the same inputs
    as the timed calls. Peak memory is per component (`max_memory_allocated` after a reset,
    weights of every loaded component included) and only on a GPU: PyTorch's CPU allocator
    keeps no peak, so on CPU it is null rather than estimated.
    """
    denoiser = denoisers.of(pipe)
    device, dtype = denoiser.device, denoiser.dtype
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    autoencoder = autoencoder_of(pipe)
    latent_size = _latent_size(pipe, resolution)
    texts = {name: getattr(pipe, name) for name in TEXT_ENCODERS if getattr(pipe, name, None) is not None}
    lengths = {name: text_length(text.config.to_dict(), type(pipe).__name__) for name, text in texts.items()}
    tokens = denoiser_tokens(lengths, type(pipe).__name__)  # 0 without text (LDM-SR, DiT)
    ids = {name: torch.zeros(batch, n, dtype=torch.long, device=device) for name, n in lengths.items()}
    shape = (batch, autoencoder.config.latent_channels, latent_size, latent_size)
    latent = torch.zeros(shape, device=device, dtype=dtype)
    latent = latent.to(memory_format=memory_format)

    def denoiser_call(b):
        inputs = _cast(denoiser_inputs(dict(denoiser.config), b, latent_size, tokens, device=device), dtype)
        first = "sample" if "sample" in inputs else "hidden_states"
        inputs[first] = inputs[first].to(memory_format=memory_format)
        return lambda: denoisers.of(pipe)(**inputs)  # the compiled module once the switches apply

    calls = {  # the denoiser's, UNet or transformer, under "unet" as in flops.json
        "unet": denoiser_call(batch),
        "unet_cfg": denoiser_call(2 * batch),
        "text_encoder": lambda: [text(ids[name]) for name, text in texts.items()],  # each encoder once per prompt
        "vae_decoder": lambda: autoencoder.decode(latent),
    }
    info = device_info(device)
    peak = peak_tflops(info["name"], dtype) if device.type == "cuda" else None
    with torch.inference_mode():
        flops = {name: _counted(fn) for name, fn in calls.items()}
        # every Attention module's processor (UNet2DModel, LDM-SR's, has no attn_processors property)
        attention = sorted({type(m.processor).__name__ for m in denoiser.modules() if hasattr(m, "processor")})
        apply_switches(pipe, channels_last, compile)
        times, memory, first = {}, {}, {}
        for name, fn in calls.items():
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            # the first call alone, in wall time: with compile on it holds the compilation
            t0 = time.perf_counter()
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            first[name] = (time.perf_counter() - t0) * 1e3
            times[name] = time_ms(fn, device, max(warmup - 1, 0), repeats)
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
        "first_call_ms": first,
        "median_ms": median,
        "text_encoder_calls_with_cfg": text_calls_with_cfg(dict(pipe.config)),
        "iqr_ms": {k: _iqr(v) for k, v in times.items()},
        "min_ms": {k: min(v) for k, v in times.items()},
        "max_ms": {k: max(v) for k, v in times.items()},
        "times_ms": times,
        "flops_per_call": flops,
        "achieved_tflops": achieved,
        "peak_tflops": peak,
        "mfu": {k: achieved[k] / peak if peak else None for k in calls},
        "peak_memory_bytes": memory,
        "peak_memory_note": None
        if device.type == "cuda"
        else "not measured on CPU: PyTorch's CPU allocator keeps no peak",
    }


def end_to_end(pipe, latency: dict, configurations: list[dict], warmup: int = 1, repeats: int = 3) -> list[dict]:
    """Return, per configuration, ms per image derived from the component times beside a direct pipeline timing.

    Each configuration (sampler, steps, guidance) runs the whole pipeline at the profiled
    batch size and resolution; its UNet calls are counted with the same hook as generation,
    so the derived figure uses the real NFE. The gap between the two is what the component
    sum leaves out: scheduler steps, guidance arithmetic, post-processing, launch gaps. A configuration whose sampler
    does not fit the model (a diffusion sampler for a flow-matching model, or the reverse: `samplers.check_fits`) is
    not this model's to check, and is left out.
    """
    from .. import generate, samplers

    device, batch, resolution = denoisers.of(pipe).device, latency["batch"], latency["resolution"]
    original = pipe.scheduler
    own = {"_class_name": type(original).__name__, **original.config}
    results = []
    try:
        for c in (c for c in configurations if samplers.fits(c["sampler"], own)):
            if type(pipe).__name__ in generate.SR_PIPELINES:  # no text to guide by: run as SR tasks run it
                c = {**c, "guidance": 1.0}
            pipe.scheduler = samplers.scheduler(c["sampler"], original.config)
            run = _pipeline_call(
                pipe, batch, resolution, c["steps"], c["guidance"], **samplers.get(c["sampler"]).call_options
            )
            counter = generate.CallCounter(denoisers.of(pipe))
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


def _cast(inputs, dtype: torch.dtype):
    """Return the denoiser inputs with every floating-point tensor (nested dicts too) in `dtype` (None kept)."""
    if isinstance(inputs, dict):
        return {k: _cast(v, dtype) for k, v in inputs.items()}
    return inputs.to(dtype) if inputs is not None and inputs.is_floating_point() else inputs


def _pipeline_call(pipe, batch: int, resolution: int, steps: int, guidance: float, **options):
    """Return a function that generates `batch` images with the pipeline as it is set up (`options`: the sampler's);
    a super-resolution pipeline upscales mid-grey inputs at the latent's size to `resolution`."""
    from .. import generate

    family = denoisers.family_of(pipe)
    call = {"prompt": [""] * batch, "num_inference_steps": steps, "guidance_scale": guidance, "output_type": "np",
            "generator": torch.Generator().manual_seed(0), **options, **family.call_options}  # fmt: skip
    if family.conditioning == "class":
        call["prompt"] = ["0"] * batch  # class 0
        return lambda: generate.class_conditional(pipe, call, list(range(batch)), noise_seed=0)
    if type(pipe).__name__ in generate.SR_PIPELINES:
        side = _latent_size(pipe, resolution)
        grey = [np.full((side, side, 3), 128, np.uint8)] * batch
        return lambda: generate.upscale(pipe, grey, list(range(batch)), 20, call)
    return lambda: pipe(height=resolution, width=resolution, **call)


def _iqr(values: list[float]) -> float:
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return q[2] - q[0]
