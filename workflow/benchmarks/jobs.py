"""Where a run's job time goes: per rule, the number of jobs, their summed time and its fixed-cost share.

Every rule script logs, through `files.job_log`, its start-up (interpreter, imports and Snakemake's
script preamble, before the job's own code) and the seconds of its own code. This adds them up over
the logs of a finished run:

    python workflow/benchmarks/jobs.py results/default/logs/
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from pathlib import Path

STARTUP = re.compile(r"start-up: ([\d.]+) s before the job's own code")
OWN = re.compile(r"own code: ([\d.]+) s")


def job_times(log_dir: Path) -> dict[str, list[tuple[float, float]]]:
    """Return {rule: [(start-up s, own-code s) per job]} from the logs under `log_dir` (results/{experiment}/logs/{rule}/...)."""
    out = defaultdict(list)
    for log in sorted(log_dir.rglob("*.log")):
        text = log.read_text(errors="replace")
        startup, own = STARTUP.findall(text), OWN.findall(text)
        if startup and own:
            rule = log.relative_to(log_dir).parts[0].removesuffix(".log")
            out[rule].append((float(startup[-1]), float(own[-1])))
    return dict(out)


def table(times: dict[str, list[tuple[float, float]]]) -> str:
    """Return a Markdown table: jobs, summed job time, start-up share, per rule and in total."""
    rows = [
        "| rule | jobs | job time (s) | start-up (s) | start-up share | median job (s) |",
        "|---|---|---|---|---|---|",
    ]
    every = []
    for rule, jobs in sorted(times.items(), key=lambda kv: -sum(a + b for a, b in kv[1])):
        every += jobs
        rows.append(_row(rule, jobs))
    rows.append(_row("**all**", every))
    return "\n".join(rows)


def _row(name: str, jobs: list[tuple[float, float]]) -> str:
    total, startup = sum(a + b for a, b in jobs), sum(a for a, _ in jobs)
    median = sorted(a + b for a, b in jobs)[len(jobs) // 2]
    return f"| {name} | {len(jobs)} | {total:.0f} | {startup:.0f} | {startup / total:.0%} | {median:.1f} |"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "logs",
        type=Path,
        nargs="?",
        default=Path("results/default/logs"),
        help="the run's log folder (default: results/default/logs)",
    )
    args = parser.parse_args(argv)
    times = job_times(args.logs)
    if not times:
        raise SystemExit(
            f"{args.logs}: no job log has start-up and own-code lines (logs of a run before they were added?)"
        )
    print(table(times))


if __name__ == "__main__":
    main()
