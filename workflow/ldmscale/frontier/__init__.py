"""The answer: best guidance per (model, sampler, steps), Pareto sets, best configuration per budget, crossovers with
paired-bootstrap intervals, the plain-words summary and the charts.

One module per concern, each importing only those above it:

- the configuration keys, cost axes and table names live in `ldmscale.paths` (the path grammar);
- `ranking`: the one ranking every choice makes, ties, budgets as filters, configurations in words;
- `uncertainty`: the paired bootstrap over images, a task's candidates re-chosen in every resample (`Sweep`), margins;
- `family`: which claims are resolved, family-wise over the claims of one (task, metric, cost axis);
- `distillation`: students against their teachers and every undistilled model;
- `analysis`: best guidance, Pareto sets, best per budget, crossovers and the tidy tables (`analyse`);
- `baselines`: super-resolution baselines against every model;
- `layers`: the charts' shared axes and layers; `charts`: the altair charts and `write_charts`;
- `summary`: the plain-words README.md and `write_all`; `refined`: its section on an adaptively refined sweep.

Every public name is re-exported here, so `from ldmscale import frontier; frontier.analyse(...)` works as before.
"""

from ..paths import CONFIG_KEYS, COST_AXES
from .analysis import (
    ALL_SAMPLERS,
    KEEP,
    MARGIN_COLUMNS,
    TABLES,
    analyse,
    axis_tables,
    best_guidance,
    best_per_budget,
    budget_edges,
    crossovers,
    pareto,
    tidy,
)
from .charts import (
    CHARTS,
    chart,
    cost_chart,
    save,
    steps_chart,
    train_chart,
    winners_chart,
    write_charts,
)
from .family import Claim, judge
from .layers import AXIS_TITLES, PANEL, WINNERS_HEIGHT
from .ranking import describe, quantise
from .summary import summary_markdown, write_all
from .uncertainty import (
    BOOTSTRAP_SEED,
    LEVEL,
    NO_RUNNER_UP,
    NOT_RESOLVED,
    RESOLVED,
    Resamples,
    Sweep,
    adjusted_level,
    compare,
    per_image_values,
    resample_counts,
)

__all__ = [
    "ALL_SAMPLERS",
    "AXIS_TITLES",
    "BOOTSTRAP_SEED",
    "CHARTS",
    "CONFIG_KEYS",
    "COST_AXES",
    "KEEP",
    "LEVEL",
    "MARGIN_COLUMNS",
    "NOT_RESOLVED",
    "NO_RUNNER_UP",
    "PANEL",
    "RESOLVED",
    "Claim",
    "Resamples",
    "Sweep",
    "TABLES",
    "WINNERS_HEIGHT",
    "adjusted_level",
    "analyse",
    "axis_tables",
    "best_guidance",
    "best_per_budget",
    "budget_edges",
    "chart",
    "compare",
    "cost_chart",
    "crossovers",
    "describe",
    "judge",
    "pareto",
    "per_image_values",
    "quantise",
    "resample_counts",
    "save",
    "steps_chart",
    "summary_markdown",
    "tidy",
    "train_chart",
    "winners_chart",
    "write_all",
    "write_charts",
]
