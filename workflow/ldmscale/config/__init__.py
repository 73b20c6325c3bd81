"""Config: the sweep it describes (`sweep`), the checks a JSON schema cannot express (`checks`, entry point `check`;
`analysis`, the frontier's and the refinement's settings),
and the files it needs (`available`, entry point `check_files`). Everything is re-exported here: `config.check(...)`."""

from .available import (
    check_contents,
    check_files,
    check_shipped,
    extractor_files_missing,
    hub_models_missing,
    task_files_missing,
)
from .checks import (
    COMMIT_RE,
    GUIDANCE_RE,
    _check_refine,
    check,
    check_architecture,
    check_extractors,
    check_task_data,
)
from .schema import SCHEMA, validate
from .schema import problems as schema_problems
from .sweep import (
    SOURCES,
    SWEEP_AXES,
    baselines,
    configurations,
    cost_resolution,
    describe_source,
    generating_models,
    model_entry,
    model_sweep,
    predicted_models,
    sample_grids,
    source,
    source_entry,
    teachers,
    toy_students,
)

__all__ = [
    "COMMIT_RE", "GUIDANCE_RE", "SCHEMA", "SOURCES", "SWEEP_AXES", "_check_refine", "baselines", "check", "check_architecture",
    "check_contents", "check_extractors", "check_files", "check_shipped", "check_task_data", "configurations", "cost_resolution",
    "describe_source", "extractor_files_missing", "generating_models", "hub_models_missing", "model_entry",
    "model_sweep", "predicted_models", "sample_grids", "schema_problems", "source", "source_entry",
    "task_files_missing", "teachers", "toy_students", "validate",
]  # fmt: skip
