"""GPU slot claims, tested without a GPU by faking the device list."""

import itertools
import json
import os
import signal
import subprocess
import sys

import pytest

from ldmscale import devices

HOLDER = """
import os, sys, time
sys.path.insert(0, {workflow!r})
from ldmscale import devices
try:
    with devices.claim() as slot:
        print(slot, os.environ["CUDA_VISIBLE_DEVICES"], flush=True)
        time.sleep(60)
except RuntimeError:
    print("busy busy", flush=True)
"""
WORKFLOW = os.path.join(os.path.dirname(devices.__file__), "..")


@pytest.fixture
def fake_gpus(tmp_path, monkeypatch):
    monkeypatch.setenv(devices.SLOTS_ENV, "0,1,2")
    monkeypatch.setenv(devices.LOCK_DIR_ENV, str(tmp_path / "locks"))
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    return tmp_path


def _start_holder():
    return subprocess.Popen([sys.executable, "-c", HOLDER.format(workflow=WORKFLOW)], stdout=subprocess.PIPE, text=True)


def _claimed(proc) -> str:
    """Return the slot a holder claimed ('busy' if none was free), checking CUDA_VISIBLE_DEVICES is that slot."""
    slot, visible = proc.stdout.readline().split()
    assert visible == slot
    return slot


def test_concurrent_jobs_never_share_a_slot_and_a_killed_jobs_slot_comes_back(fake_gpus):
    holders = []
    try:
        holders = [_start_holder() for _ in range(4)]  # started together: they race for 3 slots
        slots = [_claimed(proc) for proc in holders]
        assert sorted(slots) == ["0", "1", "2", "busy"]
        with pytest.raises(RuntimeError, match="no free GPU slot among 0, 1, 2"), devices.claim():
            pass
        victim = next(proc for proc, slot in zip(holders, slots) if slot == "1")
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        with devices.claim() as slot:
            assert slot == "1"
            assert os.environ["CUDA_VISIBLE_DEVICES"] == "1"
    finally:
        for proc in holders:
            proc.kill()
            proc.wait()


def test_cuda_visible_devices_restricts_the_slots(fake_gpus, monkeypatch):
    monkeypatch.delenv(devices.SLOTS_ENV)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5")
    assert devices.visible_slots() == ["2", "5"]
    with devices.claim() as slot:
        assert slot == "2" and os.environ["CUDA_VISIBLE_DEVICES"] == "2"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "2,5"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with devices.claim() as slot:
        assert slot is None


def test_slot_is_released_and_environment_restored_on_exit(fake_gpus, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "7")
    with devices.claim() as first:
        assert first == "0"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "7"
    with devices.claim() as again:
        assert again == "0"


def test_slurm_assignment_is_used_as_is(fake_gpus, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    with devices.claim() as slot:
        assert slot == "3"
    assert not (fake_gpus / "locks").exists()


def test_no_gpus_means_cpu(monkeypatch, tmp_path):
    monkeypatch.delenv(devices.SLOTS_ENV, raising=False)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    if devices.visible_slots():
        pytest.skip("this machine has GPUs")
    with devices.claim(tmp_path) as slot:
        assert slot is None


JOB = """
import json, sys, time
sys.path.insert(0, {workflow!r})
from ldmscale import devices
with devices.claim() as slot:
    start = time.time()
    time.sleep(0.5)
    record = {{"slot": slot, "start": start, "end": time.time()}}
open(sys.argv[1], "w").write(json.dumps(record))
"""


@pytest.mark.workflow
def test_snakemake_gpu_resource_jobs_hold_distinct_slots(fake_gpus):
    """Six gpu=1 jobs under --resources gpu=2 on three fake GPUs: no two overlap on one slot."""
    (fake_gpus / "job.py").write_text(JOB.format(workflow=WORKFLOW))
    (fake_gpus / "Snakefile").write_text(
        f'rule all:\n    input: expand("done/{{i}}.json", i=range(6))\n\n'
        f'rule job:\n    output: "done/{{i}}.json"\n    resources: gpu=1\n'
        f'    shell: "{sys.executable} job.py {{output}}"\n'
    )
    cmd = [sys.executable, "-m", "snakemake", "--cores", "6", "--resources", "gpu=2", "--quiet"]
    proc = subprocess.run(cmd, cwd=fake_gpus, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = [json.loads(p.read_text()) for p in sorted((fake_gpus / "done").iterdir())]
    assert len(records) == 6 and {r["slot"] for r in records} <= {"0", "1", "2"}
    for a, b in itertools.combinations(records, 2):
        if a["slot"] == b["slot"]:
            assert a["end"] <= b["start"] or b["end"] <= a["start"]
