"""The results path grammar: every per-configuration path of the workflow, its parser, and the names in them.

The rules write these templates and the library parses them back, so both read them from here. The module imports
nothing heavy: the Snakefile imports it when it parses.
"""

from __future__ import annotations

import re
from pathlib import Path

# Every experiment writes into its own folder, results/{experiment}/: the templates below are relative to it. Only the
# prepared models (resources/models/{model}) are shared between experiments.
RESULTS = "results"
DEFAULT_EXPERIMENT = "default"  # config.yaml's (a config file named config.yaml), or a config given as a dict
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

# One configuration of the sweep: the keys of a results path, in the order they appear.
CONFIG_KEYS = ["task", "model", "sampler", "steps", "guidance"]
CONFIGURATION = "{task}/{model}/{sampler}/s{steps}_g{guidance}"

PROMPTS = "tasks/{task}/prompts.json"
FLOPS = "cost/{model}/flops.json"
LATENCY = "cost/{model}/latency_b{batch}.json"
SHARD = f"samples/{CONFIGURATION}/shard{{shard}}"
FEATURES = f"features/{CONFIGURATION}/{{extractor}}.safetensors"
REFERENCE_FEATURES = "reference/{task}/{extractor}/n{n}.safetensors"
SCORE = f"scores/{CONFIGURATION}/{{metric}}.json"
# An adaptively refined sweep (config `refine`) scores a configuration's first n images, round by round.
FEATURES_N = f"features/{CONFIGURATION}/n{{n}}/{{extractor}}.safetensors"
SCORE_N = f"scores/{CONFIGURATION}/n{{n}}/{{metric}}.json"

# A super-resolution task's baselines (task `super_resolution.baselines`): its inputs upscaled without a model, at zero
# sampling cost, scored like any configuration: model = the method, sampler "baseline", 0 steps, guidance 1
# (samples/{task}/bicubic/baseline/s0_g1/...). Never a model size: size-based tables leave them out.
BASELINE = "baseline"
BASELINES = ("bicubic", "bilinear", "nearest")

# The frontier's cost axes (columns of the summary) and its tables (frontier/{table}.csv and .parquet).
COST_AXES = {
    "normalised_cost": "normalised sampling cost (UNet FLOPs / reference × steps)",
    "gflops_per_image": "GFLOPs per image (text encoder + UNet calls + VAE decode)",
    "latency_ms_per_image": "ms per image (profiled components)",
}
TABLES = ("best_guidance", "pareto", "best_per_budget", "best_per_cost", "crossovers")
# The frontier's charts of one metric (frontier/{metric}__{view}.{html,png,svg}): view → (chart kind, cost).
CHART_VIEWS = {
    **{cost: ("cost", cost) for cost in COST_AXES},
    **{f"{cost}__winners": ("winners", cost) for cost in COST_AXES},
    "steps": ("steps", None),
    "train_flops": ("train", None),  # only when the sweep has models ldmscale trained
    "scaling": ("scaling", None),  # the scaling law over measured points (frontier/scaling_curves.parquet)
    "optimal_size": (
        "optimal",
        None,
    ),  # the law's inference-optimal size per budget (frontier/scaling_optimal.csv)
}
DISTILLATION = "distillation"  # frontier/distillation.{csv,parquet}: students against teachers (may be empty)

# Feature extractors, by kind; a key names everything that changes the features and appears in FEATURES paths.
# `pairs` (PSNR, SSIM) and `lpips` compare each output with its own ground truth (super-resolution tasks).
EXTRACTOR_KINDS = ("inception", "clip", "toy", "pairs", "lpips")
PAIRED_EXTRACTORS = ("pairs", "lpips")

_CONFIGURATION_RE = re.compile(
    r"(?:^|/)(?:samples|scores|features)/(?P<task>[^/]+)/(?P<model>[^/]+)/(?P<sampler>[^/]+)"
    r"/s(?P<steps>\d+)_g(?P<guidance>\d+(?:\.\d+)?)/"
)


def experiment(config: dict, configfiles=()) -> str:
    """Return the experiment's name, its folder under results/: config `experiment`, else the name of the last config
    file (toy-sr.yaml → toy-sr; config.yaml, or none, → default). ValueError when it cannot name a folder."""
    stem = Path(configfiles[-1]).stem if configfiles else "config"
    name = config.get("experiment") or (DEFAULT_EXPERIMENT if stem == "config" else stem)
    if not _NAME.fullmatch(name):
        field = "experiment" if config.get("experiment") else f"the config file's name ({configfiles[-1]})"
        raise ValueError(f"{field}: {name!r} cannot name a results folder; use letters, digits, '.', '_' and '-'")
    return name


def root(name: str) -> str:
    """Return experiment `name`'s results folder, which every template above is relative to."""
    return f"{RESULTS}/{name}"


def names_regex(names) -> str:
    """Return a wildcard regex that matches exactly `names` (and nothing when there are none)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


def toy_member_dir(width: int, student: bool, kind: str = "text_to_image") -> str:
    """Return the directory of a shipped toy UNet and its record, relative to the shipped root."""
    if kind == "super_resolution":
        return f"models/c{width}-sr"
    return f"models/c{width}-lcm" if student else f"models/c{width}"


def fmt_guidance(value: float) -> str:
    """Return the guidance scale as it appears in paths: 7.5 → '7.5', 1.0 → '1'."""
    return f"{float(value):g}"


def config_from_path(path: str | Path) -> dict:
    """Return the configuration (task, model, sampler, steps, guidance) of a samples, features or scores path."""
    match = _CONFIGURATION_RE.search(Path(path).as_posix() + "/")
    if match is None:
        raise ValueError(f"{path}: not a results path of one configuration ({SHARD}, {FEATURES} or {SCORE})")
    config = match.groupdict()
    return {**config, "steps": int(config["steps"]), "guidance": float(config["guidance"])}


def shard_ends(num_images: int, shard_size: int | list[int]) -> list[int]:
    """Return where each shard's images end. `shard_size` is the images per shard (the last may hold fewer), or a
    refined configuration's image counts round by round: shard k then holds the images from count k − 1 to count k,
    so each round that gives it more images is one job."""
    if isinstance(shard_size, list):
        return shard_size
    return [min(end, num_images) for end in range(shard_size, num_images + shard_size, shard_size)]


def num_shards(num_images: int, shard_size: int | list[int]) -> int:
    """Return how many shards hold the first `num_images` images (`shard_size`: as `shard_ends` takes it)."""
    ends = shard_ends(num_images, shard_size)
    return next((k + 1 for k, end in enumerate(ends) if end >= num_images), len(ends))


def shard_indices(num_images: int, shard_size: int | list[int], shard: int) -> range:
    """Return the image indices of shard `shard` of `num_images` images (`shard_size`: as `shard_ends` takes it)."""
    ends = shard_ends(num_images, shard_size)
    if not 0 <= shard < len(ends):
        raise ValueError(f"shard {shard} is out of range for {num_images} images in shards of {shard_size}")
    return range(ends[shard - 1] if shard else 0, ends[shard])


def extractor_key(kind: str, options: dict) -> str:
    """Return the name of extractor `kind` as configured in `options` (config `metrics`): inception-tf1, clip-ViT-L-14…"""
    if kind == "inception":
        return f"inception-{options['inception']['resize']}"
    if kind == "clip":
        return f"clip-{options['clip']['model']}"
    if kind == "toy":
        return "toy-scorer"
    if kind == "pairs":
        return "pairs-pixels"
    if kind == "lpips":
        return f"lpips-{options['lpips']['net']}"
    raise ValueError(f"unknown feature extractor {kind!r}; valid: {', '.join(EXTRACTOR_KINDS)}")


def extractor_kind(extractor: str) -> str:
    """Return the kind (inception, clip, toy) of an extractor key written by `extractor_key`."""
    return extractor.split("-", 1)[0]


def extractor_weights(kind: str, options: dict) -> str | None:
    """Return the configured local weights of extractor `kind`: a file, or the toy scorer's directory (pairs: none)."""
    if kind == "toy":
        return options["toy"]["scorer"]
    if kind == "pairs":
        return None
    section, field = {"inception": ("inception", "feature_extractor_weights_path"), "clip": ("clip", "pretrained"),
                      "lpips": ("lpips", "weights")}[kind]  # fmt: skip
    return options[section][field]
