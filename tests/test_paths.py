import subprocess
import sys

import pytest

from ldmscale import paths, scoring

CONFIG = {"task": "coco", "model": "sd-v1.4", "sampler": "dpmpp_2m", "steps": 25, "guidance": 7.5}


def test_config_is_parsed_back_from_every_per_configuration_path():
    assert paths.config_from_path("results/scores/coco/sd-v1.4/dpmpp_2m/s25_g7.5/fid.json") == CONFIG
    assert paths.config_from_path("/x/results/samples/coco/sd-v1.4/dpmpp_2m/s25_g7.5/shard3") == CONFIG
    written = {**CONFIG, "guidance": paths.fmt_guidance(CONFIG["guidance"])}
    for template, extra in ((paths.SHARD, {"shard": 0}), (paths.SCORE, {"metric": "fid"}),
                            (paths.FEATURES, {"extractor": "inception-tf1"})):  # fmt: skip
        assert paths.config_from_path(template.format(**written, **extra)) == CONFIG
    whole = paths.config_from_path(paths.SHARD.format(**{**written, "guidance": "1"}, shard=2))
    assert whole["guidance"] == 1.0 and whole["steps"] == 25


def test_a_path_of_no_configuration_is_refused_with_its_name():
    with pytest.raises(ValueError, match="results/cost/m/flops.json: not a results path of one configuration"):
        paths.config_from_path("results/cost/m/flops.json")


def test_guidance_is_written_without_a_trailing_zero():
    assert [paths.fmt_guidance(g) for g in (1.0, 7.5, 3, 12.25)] == ["1", "7.5", "3", "12.25"]


def test_a_refined_configurations_shards_end_at_its_image_counts():
    levels = [32, 64, 128, 256, 512]
    assert [paths.shard_indices(512, levels, k) for k in range(5)] == [
        range(0, 32), range(32, 64), range(64, 128), range(128, 256), range(256, 512)]  # fmt: skip
    assert [paths.num_shards(n, levels) for n in levels] == [1, 2, 3, 4, 5]
    assert paths.num_shards(100, 32) == 4 and paths.shard_ends(100, 32) == [32, 64, 96, 100]
    with pytest.raises(ValueError, match="shard 5 is out of range"):
        paths.shard_indices(512, levels, 5)


def test_shard_indices_cover_every_image_once():
    covered = [i for k in range(paths.num_shards(10, 4)) for i in paths.shard_indices(10, 4, k)]
    assert covered == list(range(10))
    with pytest.raises(ValueError, match="shard 3 is out of range for 10 images"):
        paths.shard_indices(10, 4, 3)


def test_every_metric_reads_a_known_extractor_with_a_key():
    options = {
        "inception": {"resize": "tf1"},
        "clip": {"model": "ViT-B-32"},
        "toy": {"scorer": "s"},
        "lpips": {"net": "alex"},
    }
    for name, metric in scoring.METRICS.items():
        assert metric.extractor in paths.EXTRACTOR_KINDS, name
        key = paths.extractor_key(metric.extractor, options)
        assert paths.extractor_kind(key) == metric.extractor
    with pytest.raises(ValueError, match="unknown feature extractor 'dino'"):
        paths.extractor_key("dino", options)


def test_the_modules_the_snakefile_parses_with_import_nothing_heavy():
    """common.smk imports config, paths, samplers, scoring and toy; none may pull in torch, polars or PIL."""
    code = (
        "import sys; from ldmscale import config, paths, samplers, scoring, toy; "
        "print(sorted({'torch', 'PIL', 'polars', 'altair', 'diffusers'} & set(sys.modules)))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="workflow")
    assert run.stdout.strip() == "[]"


def test_the_package_has_no_import_cycle():
    """Every `from . import x` / `from .x import y` in ldmscale, at any depth of a module, forms an acyclic graph."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "workflow" / "ldmscale"
    name = {
        p: ".".join(p.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__")
        for p in root.rglob("*.py")
    }
    graph = {}
    for path, module in name.items():
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
                for alias in node.names:
                    edges.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in name.values() else target)
        graph[module] = edges - {module}

    def visit(module, stack):
        assert module not in stack, f"import cycle: {' → '.join([*stack, module])}"
        for target in graph.get(module, ()):
            if target != package_of(module):
                visit(target, [*stack, module])

    def package_of(module):  # a submodule importing its own package's __init__ is how relative imports start
        return module.rsplit(".", 1)[0]

    for module in graph:
        visit(module, [])


def test_an_experiment_is_named_by_its_config_key_or_file_and_owns_a_folder_under_results():
    assert paths.experiment({}, []) == paths.experiment({}, ["config.yaml"]) == "default"
    assert paths.experiment({}, ["a.yaml", "config/examples/toy-sr.yaml"]) == "toy-sr"  # the last file given
    assert paths.experiment({"experiment": "mine"}, ["config/examples/toy-sr.yaml"]) == "mine"
    assert paths.root("toy-sr") == "results/toy-sr"
    with pytest.raises(ValueError, match=r"the config file's name \(my sweep.yaml\): 'my sweep' cannot name"):
        paths.experiment({}, ["my sweep.yaml"])


def test_no_library_module_is_over_400_lines():
    """docs/configuration.md promises modules of at most 400 lines: a longer one is split by concern, not grown."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "workflow" / "ldmscale"
    long = {str(p.relative_to(root)): n for p in root.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert not long, f"over 400 lines: {long}"
