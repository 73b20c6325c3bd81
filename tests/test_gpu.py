"""GPU slot claims, tested without a GPU by faking the device list."""

import os
import signal
import subprocess
import sys
import time

import pytest

from ldmscale import gpu

HOLDER = """
import sys, time
sys.path.insert(0, {workflow!r})
from ldmscale import gpu
with gpu.claim() as slot:
    print(slot, flush=True)
    import os
    print(os.environ["CUDA_VISIBLE_DEVICES"], flush=True)
    time.sleep(60)
"""


@pytest.fixture
def fake_gpus(tmp_path, monkeypatch):
    monkeypatch.setenv(gpu.SLOTS_ENV, "0,1,2")
    monkeypatch.setenv(gpu.LOCK_DIR_ENV, str(tmp_path / "locks"))
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    return tmp_path


def _holder(workflow):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER.format(workflow=workflow)], stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    slot = proc.stdout.readline().strip()
    assert proc.stdout.readline().strip() == slot  # CUDA_VISIBLE_DEVICES is the claimed slot
    return proc, slot


def test_concurrent_jobs_never_share_a_slot_and_a_killed_jobs_slot_comes_back(fake_gpus):
    workflow = os.path.join(os.path.dirname(gpu.__file__), "..")
    holders = [_holder(workflow) for _ in range(3)]
    try:
        assert sorted(slot for _, slot in holders) == ["0", "1", "2"]
        with pytest.raises(RuntimeError, match="no free GPU slot among 0, 1, 2"):
            with gpu.claim():
                pass
        victim, freed = holders[1]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        time.sleep(0.1)
        with gpu.claim() as slot:
            assert slot == freed
            assert os.environ["CUDA_VISIBLE_DEVICES"] == freed
    finally:
        for proc, _ in holders:
            proc.kill()
            proc.wait()


def test_slot_is_released_and_environment_restored_on_exit(fake_gpus, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "7")
    with gpu.claim() as first:
        assert first == "0"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "7"
    with gpu.claim() as again:
        assert again == "0"


def test_slurm_assignment_is_used_as_is(fake_gpus, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    with gpu.claim() as slot:
        assert slot == "3"
    assert not (fake_gpus / "locks").exists()


def test_no_gpus_means_cpu(monkeypatch, tmp_path):
    monkeypatch.delenv(gpu.SLOTS_ENV, raising=False)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    if gpu.visible_slots():
        pytest.skip("this machine has GPUs")
    with gpu.claim(tmp_path) as slot:
        assert slot is None
