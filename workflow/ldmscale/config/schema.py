"""The schema's complaints, one line each: `tasks.coco: unknown key 'num_image' (did you mean num_images?)` instead of
the schema and the instance printed whole. Used where Snakemake's `validate` fails; its own message stays available
under `--verbose`."""

from __future__ import annotations

import difflib
from pathlib import Path


def _where(path) -> str:
    """Return a config path as the user writes it: tasks.coco.metrics[1]."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the config"


def _line(error) -> str:
    """Return one line for one schema error, naming where it is."""
    where = _where(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {}))
        lines = []
        for key in sorted(k for k in error.instance if k not in known):
            close = difflib.get_close_matches(key, known, n=1)
            lines.append(f"{where}: unknown key {key!r}" + (f" (did you mean {close[0]}?)" if close else
                                                             f"; valid keys: {', '.join(known)}"))  # fmt: skip
        return "\n".join(lines)
    if error.validator == "required":
        return f"{where}: {error.message.replace(' is a required property', '')} is required"
    if error.context:  # anyOf / oneOf: the closest branch's complaint
        from jsonschema.exceptions import best_match

        return _line(best_match(error.context))
    return f"{where}: {error.message}"


SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"


def validate(config: dict, verbose: bool = False) -> None:
    """Validate `config` against the schema and fill in its defaults (Snakemake's `validate`); ValueError with one line
    per problem where it does not fit (Snakemake's own error, the schema and the instance printed whole, when
    `verbose`)."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate as snakemake_validate

    try:
        snakemake_validate(config, str(SCHEMA))
    except WorkflowError:
        if verbose:
            raise
        raise ValueError(
            f"config does not fit the schema (workflow/schemas/config.schema.yaml; --verbose prints it):\n"
            f"{problems(config, SCHEMA)}"
        ) from None


def problems(config: dict, schema_path: str | Path) -> str:
    """Return every schema error of `config`, one line each, sorted by where it is."""
    import yaml
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    schema = yaml.safe_load(Path(schema_path).read_text())
    registry = Registry().with_resource(uri="", resource=Resource.from_contents(schema))
    errors = Draft202012Validator(schema, registry=registry).iter_errors(config)
    lines = [_line(e) for e in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])]
    return "\n".join(dict.fromkeys(line for line in lines if line))
