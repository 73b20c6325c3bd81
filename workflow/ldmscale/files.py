"""Atomic file output, hashing and logging helpers shared by the rule scripts."""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

IMAGE_TYPES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")  # what folders of real images are read for


def images_in(folder: str | os.PathLike) -> list[Path]:
    """Return the image files (IMAGE_TYPES) of a folder, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_TYPES)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of `path`; rename it onto `path` only if the block succeeds.

    Works for files and directories alike: a job killed inside the block leaves
    only a `.tmp-<pid>` sibling, never something at `path` that looks finished.
    Such leftovers are removed on entry: Snakemake's lock and DAG let only one job
    write `path` at a time, so any other temporary of `path` is a dead job's.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{glob.escape(path.name)}.tmp-*"):
        _remove(stale)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        _remove(tmp)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write `data` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Return the parsed JSON content of `path`, naming the file if it is malformed."""
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err


@contextlib.contextmanager
def job_log(log_path: str | os.PathLike | None) -> Iterator[logging.Logger]:
    """Send stdout, stderr (progress bars included) and the `ldmscale` logger to the rule's log file."""
    logger = logging.getLogger("ldmscale")
    if not log_path:
        yield logger
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", buffering=1) as f, contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
        handler = logging.StreamHandler(f)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        # A job's fixed cost (interpreter, imports, Snakemake's script preamble) against its own work:
        # workflow/benchmarks/jobs.py adds these two lines up over a run.
        logger.info("start-up: %.2f s before the job's own code", startup_seconds())
        began = time.perf_counter()
        try:
            yield logger
        except BaseException:
            logger.exception("job failed")
            raise
        finally:
            logger.info("own code: %.2f s", time.perf_counter() - began)
            logger.removeHandler(handler)


def startup_seconds() -> float:
    """Return the seconds since this process started (psutil reads the OS's record of its creation)."""
    import psutil

    return time.time() - psutil.Process().create_time()


def python_info() -> dict[str, str]:
    """Return the interpreter and key library versions, recorded beside every result."""
    import torch

    info = {"python": sys.version.split()[0], "torch": torch.__version__}
    for name in ("diffusers", "transformers"):
        module = sys.modules.get(name)
        if module is not None:
            info[name] = module.__version__
    return info


def commit(repository: str | Path) -> str | None:
    """Return the repository's HEAD commit, with '+dirty' when it has uncommitted changes (None outside git)."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repository, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repository,
                               capture_output=True, text=True, check=True)  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def provenance(config: dict, configfiles, repository: str | Path) -> dict:
    """Return what made a result: the config's SHA-256 (as resolved, its files and any --config edits together, keys
    sorted), the config files named, and the commit of the ldmscale repository that ran it."""
    import hashlib

    text = json.dumps(config, sort_keys=True, default=str)
    return {"config_sha256": hashlib.sha256(text.encode()).hexdigest(), "configfiles": [str(f) for f in configfiles],
            "commit": commit(repository)}  # fmt: skip
