"""GPU slots: Snakemake counts GPUs (--resources gpu=N) but never says which one; each job claims its own.

A job takes the first device whose lock file it can `flock` without blocking, sets
CUDA_VISIBLE_DEVICES to it before CUDA starts, and holds the lock until it exits. The
kernel drops the lock when the process dies, however it dies, so a killed job's slot
comes back by itself. Under SLURM the scheduler's assignment is used as it is.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("ldmscale")

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
