"""The `ldmscale` command: `plan` (what a sweep will cost), `check` (is a config runnable), and the analyses that read
a finished run, `experiment` and `scaling`.

    ldmscale plan [config.yaml] [--gpus N]
    ldmscale check [config.yaml]
    ldmscale experiment results/default/summary.parquet results/default/per_image.parquet [--metric M]
    ldmscale scaling results/default/summary.parquet results/default/per_image.parquet --metric M [--hold-out MODEL]

`plan` reads the cost records of the config's experiment (results/{experiment}/cost/, see `paths.experiment`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def load(path: str) -> dict:
    """Return the config at `path` with the schema's defaults filled in; ValueError naming every problem."""
    import yaml

    from . import config as cfg

    config = yaml.safe_load(Path(path).read_text())
    cfg.validate(config)
    cfg.check(config)
    return config


def _check(args) -> int:
    from . import config as cfg
    from . import sample_size

    config = load(args.config)
    cfg.check_files(config, "resources/models")
    cfg.check_contents(config)
    for warning in sample_size.warnings(config):
        print(f"warning: {warning}", file=sys.stderr)
    runs = cfg.configurations(config)
    print(f"{args.config}: fits the schema and every check; {len(config['models'])} models, {len(runs)} configurations")
    return 0


def _plan(args) -> int:
    from . import plan

    config = load(args.config)
    results = plan.paths.root(plan.paths.experiment(config, [args.config]))
    if args.count:
        for name in plan.count_missing(config, results):
            print(f"counted the FLOPs of {name} on the meta device: {results}/{plan.paths.FLOPS.format(model=name)}")
    print(plan.text(plan.rows(config, results), results, args.gpus), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ldmscale", description="what a sweep of latent diffusion models costs and answers"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, run, what in (("plan", _plan, "what a sweep will cost, before it runs"),
                            ("check", _check, "whether a config is runnable: schema, checks, files")):  # fmt: skip
        sub = commands.add_parser(name, help=what)
        sub.add_argument("config", nargs="?", default="config.yaml")
        if name == "plan":
            sub.add_argument("--gpus", type=int, help="devices that sample at once: the wall time on them")
            sub.add_argument("--count", action="store_true", help="first count the FLOPs of local and architecture "
                             "models that have no record (meta device, seconds each)")  # fmt: skip
        sub.set_defaults(run=run)
    for name in ("experiment", "scaling"):
        commands.add_parser(name, help=f"python -m ldmscale.{name}", add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "experiment":
        from .experiment import main as experiment

        return experiment(rest)
    if args.command == "scaling":
        from .scaling.__main__ import main as scaling

        return scaling(rest) or 0
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    try:
        return args.run(args)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
