"""What a finished run prints: the winners at a few budgets, from the frontier's table, and where to read more.
Standard library only: it runs in Snakemake's main process after every successful run."""

from __future__ import annotations

import csv
from pathlib import Path

BEST = "frontier/best_per_budget.csv"  # in the experiment's results folder
AXIS = "normalised_cost"


def summary(root: str | Path, picks: int = 3, configfiles=()) -> str:
    """Return, per task and metric, the winner on normalised cost at the smallest, a middle and the largest budget,
    from the frontier of the experiment whose results folder is `root` (made from `configfiles`); '' where the run
    made no frontier."""
    path = Path(root) / BEST
    if not path.is_file():
        return ""
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["cost_axis"] == AXIS and r["model"]]
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["task"], row["metric"]), []).append(row)
    lines = ["", "ldmscale: the best configuration within a few budgets of normalised cost"]
    for (task, metric), group in groups.items():
        group.sort(key=lambda r: float(r["budget"]))
        chosen = sorted({0, len(group) // 2, len(group) - 1})[:picks]
        lines.append(f"  {metric}, task {task}:")
        for r in (group[i] for i in chosen):
            sure = {"true": "resolved", "false": "not resolved"}.get(r.get("resolved", "").lower(), "")
            if r.get("status") == "tied within":
                sure = f"tied within {float(r['tolerance']):g}: {r['tied_models']}"
            steps = f"{r['steps']} step{'s' if r['steps'] != '1' else ''}"
            lines.append(f"    budget {float(r['budget']):.3g}: {r['model']}, {r['sampler']}, {steps}, guidance "
                         f"{float(r['guidance']):g}: {float(r['value']):.4g}" + (f" ({sure})" if sure else ""))  # fmt: skip
    lines.append(
        f"  Read more: {root}/frontier/README.md (every budget, cost axis and interval), the charts beside it,"
    )
    config = "".join(f" --configfile {f}" for f in configfiles)
    lines.append(f"  and the report: snakemake{config} --report {root}/report.zip")
    return "\n".join(lines) + "\n"
