import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

# The rule scripts import the same package; put it on the path for parse-time checks too.
REPOSITORY = Path(workflow.current_basedir).parents[1]  # this file is workflow/rules/common.smk; also as a module
sys.path.insert(0, str(REPOSITORY / "workflow"))
from ldmscale import config as cfg, files, paths, rounds, sample_size, samplers as smp, scoring  # noqa: E402
from ldmscale.toy import DATA_VERSION  # noqa: E402

cfg.validate(config, workflow.output_settings.verbose)  # one line per problem; the schema's dump with --verbose
EXPERIMENT = paths.experiment(config, workflow.overwrite_configfiles or [])
ROOT = paths.root(EXPERIMENT)  # everything this experiment writes; prepared models are shared (resources/models)


def results(path):
    """`path` in this experiment's folder, results/{experiment}/ (config `experiment`, else the config file's name)."""
    return f"{ROOT}/{path}"


PROMPTS, FLOPS, LATENCY, SHARD, FEATURES, REFERENCE_FEATURES, SCORE, FEATURES_N, SCORE_N = (
    results(t)
    for t in (paths.PROMPTS, paths.FLOPS, paths.LATENCY, paths.SHARD, paths.FEATURES, paths.REFERENCE_FEATURES,
              paths.SCORE, paths.FEATURES_N, paths.SCORE_N)
)  # fmt: skip
cfg.check(config)
cfg.check_files(
    config, "resources/models"
)  # data, extractor weights, offline hub models: list what to fetch, run nothing
if workflow.is_main_process:  # read the files once per invocation, not in every job; advise once
    cfg.check_contents(config)
    for warning in sample_size.warnings(config):  # advice, not errors: the run goes on
        print(f"ldmscale: warning: {warning}", file=sys.stderr)

# The toy family's parts: trained by this workflow (train_toy) or the checkpoints shipped in the repository.
TOY_BUILT = results(f"toy/v{DATA_VERSION}")
TOY_SHIPPED = str(REPOSITORY / "resources" / "toy" / f"v{DATA_VERSION}")
USES_TOY = any("toy" in m for m in config["models"]) or any(
    scoring.get(m).extractor == "toy" for t in config["tasks"].values() for m in t["metrics"]
)  # its members, or its shared parts (the scorer)
if not config["train_toy"] and USES_TOY:  # a config without the toy family need not have it shipped beside it
    cfg.check_shipped(config, TOY_SHIPPED)
TOY = TOY_BUILT if config["train_toy"] else TOY_SHIPPED
TOY_MODELS = [m["name"] for m in config["models"] if "toy" in m and not m["predict"]]  # trained or shipped
TOY_STUDENTS = cfg.toy_students(config)  # student → teacher: distilled by the workflow
TOY_TEACHERS = [m for m in TOY_MODELS if m not in TOY_STUDENTS]  # trained by train_unet, of either kind
TOY_SR = [m for m in TOY_TEACHERS if cfg.model_entry(config, m)["toy"]["kind"] == "super_resolution"]
TOY_T2I = [m for m in TOY_TEACHERS if m not in TOY_SR]
GENERATING = cfg.generating_models(config)
BASELINES = cfg.baselines(config)  # super-resolution tasks' baselines: scored, never a model
PREDICTED = cfg.predicted_models(config)  # counted, never generated: the scaling law predicts their scores
REFINE = config["refine"]  # None: every configuration gets its task's num_images


wildcard_constraints:
    task=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    model=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    sampler="|".join([*sorted(smp.SAMPLERS), paths.BASELINE]),
    metric="|".join(sorted(scoring.METRICS)),
    steps=r"\d+",
    guidance=r"\d+(\.\d+)?",
    shard=r"\d+",
    batch=r"\d+",
    cost="|".join(paths.COST_AXES),
    extractor="(" + "|".join(paths.EXTRACTOR_KINDS) + r")-[^/]+",
    n=r"\d+",
    round=r"\d+",


def model(wildcards):
    return cfg.model_entry(config, wildcards.model)


def task(wildcards):
    return config["tasks"][wildcards.task]


def toy_member(name):
    """The UNet directory and training (or distillation) record of toy model `name`: made here, or shipped."""
    record = "distill.json" if name in TOY_STUDENTS else "train.json"
    if config["train_toy"]:
        return {"unet": results(f"models/{name}/unet"), "record": results(f"models/{name}/{record}")}
    toy = cfg.model_entry(config, name)["toy"]
    member = paths.toy_member_dir(toy["width"], name in TOY_STUDENTS, toy["kind"])
    return {"unet": f"{TOY_SHIPPED}/{member}/unet", "record": f"{TOY_SHIPPED}/{member}/{record}"}


def distill_inputs(wildcards):
    """The teacher's UNet and training record, trained here (distil_unet runs only with train_toy)."""
    teacher = TOY_STUDENTS[wildcards.model]
    return {"teacher": results(f"models/{teacher}/unet"), "teacher_record": results(f"models/{teacher}/train.json")}


def model_sources(wildcards):
    """Inputs of prepare_model: the toy parts, the local directory, or none (hub, architecture); and a local LoRA."""
    entry = cfg.source_entry(model(wildcards))
    lora = model(wildcards).get("lora", {})
    inputs = {"lora": lora["local"]["path"]} if "local" in lora else {}
    if "toy" in entry:
        parts = {"vae": f"{TOY}/vae", "text": f"{TOY}/text"}
        return parts if model(wildcards)["predict"] else {"unet": toy_member(wildcards.model)["unet"], **parts}
    if "local" in entry:
        inputs["local"] = entry["local"]["path"]
    return inputs


def shard_dirs(wildcards, images=None):
    """Every shard directory of one configuration (its first `images`: a refined sweep's round)."""
    t = task(wildcards)
    if REFINE and images:
        shards = len(visits(wildcards, lambda counts: counts[-1] >= images))
    else:
        shards = paths.num_shards(images or t["num_images"], t["shard_size"])
    return expand(SHARD, **{k: wildcards[k] for k in paths.CONFIG_KEYS}, shard=range(shards))


def sr_images(t):
    """The folder of high-resolution images a super-resolution task reads (None: a text task, or the toy stream)."""
    return t["super_resolution"]["images"] if t["kind"] == "super_resolution" else None


def task_data(wildcards):
    """Inputs of prepare_task: the prompt file and the real-image folder a task reads, if any."""
    t = task(wildcards)
    if t["kind"] == "super_resolution":
        return {"images": sr_images(t)} if sr_images(t) else {}
    prompts = t["prompts"].get("file", {}).get("path") or t["prompts"].get("coco", {}).get("captions")
    inputs = {"prompts": prompts} if prompts else {}
    if t["reference"]["images"]:
        inputs["images"] = t["reference"]["images"]
    return inputs


def reference_count(t):
    """The number of real images behind a task's reference features (super-resolution: its own crops)."""
    if t["kind"] == "super_resolution":
        return t["num_images"]
    return t["num_images"] if t["reference"]["match"] == "image_id" else t["reference_images"] or t["num_images"]


def metric_settings():
    """config `metrics`, plus where the toy scorer (the toy metrics' extractor) lives; PSNR and SSIM have no settings."""
    return {**config["metrics"], "toy": {"scorer": f"{TOY}/scorer"}, "pairs": {}}


def extractor_options(wildcards):
    """The `metrics` settings that define extractor wildcards.extractor (its kind's section and the batch size)."""
    kind = paths.extractor_kind(wildcards.extractor)
    return {"batch_size": config["metrics"]["batch_size"], kind: metric_settings()[kind]}


def extractor_inputs(wildcards):
    """The task's prompts and the extractor's local weights (toy: the scorer directory; CLIP: and its model config)."""
    kind = paths.extractor_kind(wildcards.extractor)
    weights = paths.extractor_weights(kind, metric_settings())  # the toy scorer: its directory, a rule's output
    inputs = {"prompts": PROMPTS.format(task=wildcards.task)}
    if weights:
        inputs["weights"] = weights
    if sr_images(task(wildcards)):
        inputs["images"] = sr_images(task(wildcards))
    if kind == "clip" and config["metrics"]["clip"]["model_config"]:
        inputs["model_config"] = config["metrics"]["clip"]["model_config"]
    return inputs


def image_feature_inputs(wildcards):
    """The extractor's inputs and the configuration's shards: all, or its first n images (FEATURES_N)."""
    return {**extractor_inputs(wildcards), "shards": shard_dirs(wildcards, int(wildcards.get("n", 0)))}


def score_inputs(wildcards):
    """The task's prompts, the configuration's cached features and, where the metric needs them, the real images'."""
    metric = scoring.get(wildcards.metric)
    key = paths.extractor_key(metric.extractor, config["metrics"])
    features = FEATURES_N if "n" in wildcards.keys() else FEATURES
    inputs = {
        "prompts": PROMPTS.format(task=wildcards.task),
        "features": features.format(**dict(wildcards), extractor=key),
    }
    if metric.needs_reference:
        inputs["reference"] = REFERENCE_FEATURES.format(
            task=wildcards.task, extractor=key, n=reference_count(task(wildcards))
        )
    return inputs


def metric_options(wildcards):
    """The config `metrics` section the metric reads (KID: its subsets), so that changing it reruns only that metric."""
    section = scoring.get(wildcards.metric).options
    return config["metrics"][section] if section else {}


def score_files(images=None):
    """Every score of the sweep and of its baselines: of all images, or of `images[configuration]` (a refined sweep's
    round; it has no baselines)."""
    return [
        SCORE.format(**c, metric=m) if images is None else SCORE_N.format(**c, metric=m, n=images[rounds.key(c)])
        for c in cfg.configurations(config) + BASELINES
        for m in config["tasks"][c["task"]]["metrics"]
    ]


def summary_inputs(images=None):
    """What one summary row per configuration reads: costs, first shards (calls), training records and scores."""
    return {
        "flops": expand(FLOPS, model=summary_cost_models()),
        "latency": expand(LATENCY, model=GENERATING, batch=config["cost"]["latency_batch"]),
        "scores": score_files(images),
        "first_shards": [SHARD.format(**c, shard=0) for c in cfg.configurations(config) + BASELINES],
        "training": [toy_member(m)["record"] for m in TOY_MODELS],
    }


PLANS = {}  # plan path → (modification time, plan): the input functions of every job read the same few plans


def plan(r):
    """Round r's plan (raises until the refine_plan checkpoint has written it)."""
    path = checkpoints.refine_plan.get(round=r).output[0]
    stamp = Path(path).stat().st_mtime_ns
    if PLANS.get(path, (None,))[0] != stamp:
        PLANS[path] = (stamp, files.read_json(path))
    return PLANS[path][1]


def round_images(r):
    """{configuration: images} in round r of a refined sweep: the first level, then what the last plan gives."""
    if r == 0:
        return rounds.initial(cfg.configurations(config), REFINE, config["tasks"])
    return rounds.advance(plan(r - 1), REFINE, config["tasks"])


def visits(wildcards, enough):
    """The image counts a refined configuration has had, round by round without repeats, as far as `enough(counts)`
    needs (or to the last round). Its shard k holds the images from count k − 1 to count k: each round that gives it
    more images, however many levels it jumps, is one generate job."""
    name, counts, r = rounds.key({k: wildcards[k] for k in paths.CONFIG_KEYS}), [], 0
    while True:
        n = round_images(r)[name]
        counts += [n] if not counts or n > counts[-1] else []
        if enough(counts) or not plan(r)["refine"]:
            return counts
        r += 1


def generate_shards(wildcards):
    """generate's shard_size param: the task's; in a refined sweep, the configuration's image counts up to its shard's
    end (paths.shard_ends), unless its shards so far are exactly the task's shard_size ones (a uniform run's shards
    are then reused)."""
    t, k = task(wildcards), int(wildcards.shard)
    if not REFINE:
        return t["shard_size"]
    ends = visits(wildcards, lambda counts: len(counts) > k)[: k + 1]
    return t["shard_size"] if ends == paths.shard_ends(t["num_images"], t["shard_size"])[: k + 1] else ends


def plan_files():
    """Every round's plan, up to the first that refines nothing (the last round); raises until each is written."""
    r = 0
    while plan(r)["refine"]:
        r += 1
    return [checkpoints.refine_plan.get(round=i).output[0] for i in range(r + 1)]


def refine_inputs(wildcards):
    """Round wildcards.round's summary inputs: every configuration scored on the images it has in that round."""
    return summary_inputs(round_images(int(wildcards.round)))


def aggregate_inputs(wildcards):
    """The summary inputs: every image, or a refined sweep's last round's images (its plan's)."""
    return summary_inputs(plan(len(plan_files()) - 1)["images"] if REFINE else None)


def frontier_inputs(wildcards):
    """The summary and per-image values, the scaling law's README section, and a refined sweep's record of its rounds
    and of the decisions it leaves open."""
    inputs = {"summary": results("summary.parquet"), "per_image": results("per_image.parquet"),
              "scaling": results("frontier/scaling.md")}  # fmt: skip
    refined = {"refinement": results(rounds.REFINEMENT), "refinement_open": results(rounds.OPEN)}
    return inputs | (refined if REFINE else {})


def looks():
    """How many times a refined sweep can compare two configurations (1: a uniform sweep's one look)."""
    return rounds.looks(REFINE, config["tasks"]) if REFINE else 1


def image_caps():
    """{configuration: the most images it can get}: its task's num_images."""
    return {rounds.key(c): config["tasks"][c["task"]]["num_images"] for c in cfg.configurations(config)}


METRICS_USED = sorted({m for t in config["tasks"].values() for m in t["metrics"]})
GRIDS = cfg.sample_grids(config)  # (sampler, guidance) → model → steps


def summary_cost_models():
    """Models whose FLOPs the summary needs: the generating ones, and the cost reference (which may be an architecture)."""
    reference = config["cost"]["reference_model"]
    return GENERATING + ([reference] if reference and reference not in GENERATING else [])


def cost_table_inputs(wildcards):
    """Every model's FLOPs, and its latency unless cost.latency is off."""
    names = [m["name"] for m in config["models"]]
    inputs = {"flops": expand(FLOPS, model=names)}
    if config["cost"]["latency"]:
        inputs["latency"] = expand(LATENCY, model=names, batch=config["cost"]["latency_batch"])
    return inputs


def model_descriptions():
    """Model name → its source in words, for the cost table."""
    return {m["name"]: cfg.describe_source(m) for m in config["models"]}


def all_targets():
    """The cost table when the sweep has architecture-only models; the summary and frontier when any model generates."""
    targets = [results("cost/table.csv")] if len(GENERATING) < len(config["models"]) else []
    if GENERATING:
        targets += [results("summary.parquet"), results("frontier/best_per_budget.csv"), *frontier_plots()]
    return targets + ([results(rounds.REFINEMENT)] if REFINE and GENERATING else [])


# The charts of each metric (training compute only when ldmscale trained models); their PNGs in the report.
CHART_VIEWS = [v for v in paths.CHART_VIEWS if v != "train_flops" or TOY_MODELS]
CHART_REPORT = {
    "cost": ("quality_vs_cost.rst", "Quality vs cost"),
    "winners": ("winners.rst", "Frontier"),
    "steps": ("quality_vs_steps.rst", "Quality vs steps"),
    "train": ("quality_vs_training.rst", "Quality vs training compute"),
    "scaling": ("quality_vs_steps_law.rst", "Scaling law"),
    "optimal": ("optimal_size.rst", "Scaling law"),
}


def chart_pngs():
    """The PNG of each chart of one {metric}, each under its kind's category of the report."""
    pngs = []
    for view in CHART_VIEWS:
        kind, cost = paths.CHART_VIEWS[view]
        caption, category = CHART_REPORT[kind]
        labels = {"metric": "{metric}", **({"cost axis": cost} if cost else {})}
        subcategory = "{metric}" if cost else None
        png = report(
            results(f"frontier/{{metric}}__{view}.png"),
            caption=f"../report/{caption}",
            category=category,
            subcategory=subcategory,
            labels=labels,
        )
        pngs.append(png)
    return pngs


def frontier_plots():
    """Every chart (HTML, PNG, SVG) and sample grid."""
    charts = expand(
        results("frontier/{metric}__{view}.{ext}"), metric=METRICS_USED, view=CHART_VIEWS, ext=["html", "png", "svg"]
    )
    grids = [
        results(f"frontier/grids/{task}/{sampler}_g{guidance}.png")
        for task in config["tasks"]
        for sampler, guidance in GRIDS
    ]
    return charts + grids


def grid_shards(wildcards):
    """The shards of every model and step count at one task, sampler and guidance that hold a sample grid's cells
    (the first grid_images images: every configuration has them, refined or not)."""
    grid = config["frontier"]["grid_images"]  # a refined sweep's first shard holds initial_images, at least as many
    shards = range(1 if REFINE else paths.num_shards(grid, task(wildcards)["shard_size"]))
    rows = GRIDS[(wildcards.sampler, wildcards.guidance)]
    return [
        SHARD.format(**dict(wildcards), model=m, steps=n, shard=i)
        for m, steps in rows.items()
        for n in steps
        for i in shards
    ]


def grid_rows(wildcards):
    """The models (rows) and step counts (columns, every row's) of one sample grid."""
    rows = GRIDS[(wildcards.sampler, wildcards.guidance)]
    return {"models": list(rows), "steps": sorted({n for steps in rows.values() for n in steps})}


def device():
    return config["runtime"]["device"]


def latency_dtype():
    """The dtype latency is profiled in: cost.dtype, else the runtime's."""
    return config["cost"]["dtype"] or config["runtime"]["dtype"]
