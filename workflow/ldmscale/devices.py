"""Devices: which one a job runs on, which GPU slot it holds, and what the device is (name, driver, peak FLOP/s).

GPU slots: Snakemake counts GPUs (--resources gpu=N) but never says which one; each job claims its own.
A job takes the first device whose lock file it can `flock` without blocking, sets
CUDA_VISIBLE_DEVICES to it before CUDA starts, and holds the lock until it exits. The
kernel drops the lock when the process dies, however it dies, so a killed job's slot
comes back by itself. Under SLURM the scheduler's assignment is used as it is.

torch is imported inside the functions that need it: claiming a slot must not start CUDA, and
importing this module costs nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

log = logging.getLogger("ldmscale")


# --- GPU slots ---------------------------------------------------------------------------------------------------

SLOTS_ENV = "LDMSCALE_GPU_SLOTS"  # comma-separated device ids; overrides detection (tests, or a subset of GPUs)
LOCK_DIR_ENV = "LDMSCALE_GPU_LOCK_DIR"
DEFAULT_LOCK_DIR = ".snakemake/ldmscale-gpu-locks"


def visible_slots() -> list[str]:
    """Return the device ids a job may claim: $LDMSCALE_GPU_SLOTS, else $CUDA_VISIBLE_DEVICES, else the driver's GPUs.

    A CUDA_VISIBLE_DEVICES set around `snakemake` restricts the workflow to those GPUs (set
    but empty: none); each job narrows it to the one it claims.
    """
    if os.environ.get(SLOTS_ENV):
        return _ids(os.environ[SLOTS_ENV])
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        return _ids(os.environ["CUDA_VISIBLE_DEVICES"])
    gpus = Path("/proc/driver/nvidia/gpus")  # read without starting CUDA, which must not start before the claim
    return [str(i) for i in range(len(list(gpus.iterdir())))] if gpus.is_dir() else []


def _ids(text: str) -> list[str]:
    """Return the device ids of a comma-separated list; CUDA reads -1 as no device."""
    return [s.strip() for s in text.split(",") if s.strip() and s.strip() != "-1"]


@contextlib.contextmanager
def claim(lock_dir: str | os.PathLike | None = None) -> Iterator[str | None]:
    """Hold a free GPU slot for the duration of the block and yield its id (None on a machine without GPUs)."""
    if os.environ.get("SLURM_JOB_ID"):
        yield os.environ.get("CUDA_VISIBLE_DEVICES")
        return
    slots = visible_slots()
    if not slots:
        yield None
        return
    lock_dir = Path(lock_dir or os.environ.get(LOCK_DIR_ENV, DEFAULT_LOCK_DIR))
    lock_dir.mkdir(parents=True, exist_ok=True)
    slot, handle = _lock_first_free(slots, lock_dir)
    previous = os.environ.get("CUDA_VISIBLE_DEVICES")
    os.environ["CUDA_VISIBLE_DEVICES"] = slot
    log.info("claimed GPU slot %s (lock %s)", slot, handle.name)
    try:
        yield slot
    finally:
        if previous is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = previous
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _lock_first_free(slots: list[str], lock_dir: Path):
    """Return (slot, open lock file) for the first slot whose lock is free; raise if none is."""
    for slot in slots:
        # Not "w": that would wipe the holder's pid before the lock. Not `with`: the caller holds it open.
        handle = open(lock_dir / f"gpu{slot}.lock", "a+")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        return slot, handle
    raise RuntimeError(
        f"no free GPU slot among {', '.join(slots)} (locks in {lock_dir}): "
        "--resources gpu=N must not exceed the number of GPUs"
    )


# --- the runtime device and what it is ------------------------------------------------------------------------------


def resolve_device(name: str) -> str:
    """Return 'cuda' or 'cpu' for a runtime.device setting ('auto' picks CUDA when present)."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("runtime.device is 'cuda' but torch sees no CUDA device; set runtime.device: auto or cpu")
    return name


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
    import torch

    if dtype not in (torch.float16, torch.bfloat16):
        return None
    return next((peak for pattern, peak in PEAK_TFLOPS_16BIT if re.search(pattern, device_name)), None)


def device_info(device: torch.device) -> dict:
    """Return the device's type and name, and on a GPU the CUDA runtime, driver, memory and compute capability."""
    import torch

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
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.splitlines()[0].strip() if out.strip() else None


def device_name(device: torch.device) -> str:
    """Return a human label of `device`: the GPU's name, or the CPU's model with its thread count."""
    import torch

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
