"""Bad configs fail before any job runs, with a message that names the field."""

import json
import re
import shutil

import pytest
import yaml
from helpers import ROOT, planned_jobs, snakemake, tiny_config

SHIPPED = ROOT / "resources" / "toy" / "v2" / "SHIPPED.json"  # any existing .json passes the existence check

HUB = {"repo_id": "org/model", "revision": "a1" * 20}
BAD = {
    "unknown sampler": (
        dict(samplers=["ddim", "plms"]),
        r"samplers\[1\]: unknown sampler 'plms'; valid samplers: ddim",
    ),
    "steps <= 0": (dict(steps=[4, 0]), r"\nsteps\[1\]: 0 is less than the minimum of 1\n"),
    "negative guidance": (
        dict(guidance=[-1.5]),
        r"\nguidance\[0\]: -1.5 is less than the minimum of 0\n",
    ),
    "duplicate model": (
        dict(models=[{"name": "a", "toy": {"width": 8}}, {"name": "a", "toy": {"width": 16}}]),
        r"models\[0\] \('a'\): duplicate model name",
    ),
    "no source": (
        dict(models=[{"name": "a"}]),
        r"models\[0\] \('a'\): needs exactly one source of toy, local, hub, architecture; found none",
    ),
    "hub revision not a commit": (
        dict(models=[{"name": "a", "hub": {"repo_id": "nota-ai/bk-sdm-tiny", "revision": "main"}}]),
        r"models\[0\] \('a'\): hub.revision 'main' is not a commit hash",
    ),
    "no task for generating models": (
        dict(tasks={}, train_toy=False),
        r"tasks: at least one task is needed when a model generates",
    ),
    "latency off with generating models": (
        dict(cost={"latency": False}),
        r"cost.latency: false is only for architecture-only sweeps",
    ),
    "unknown architecture preset": (
        dict(models=[{"name": "a", "architecture": {"preset": "sd2"}}]),
        r"models\[0\] \('a'\): architecture.preset 'sd2' is unknown; valid presets: sd1.5, sd-c64",
    ),
    "unknown UNet field": (
        dict(models=[{"name": "a", "architecture": {"unet": {"layers_per_block": 1, "depth": 3}}}]),
        r"models\[0\] \('a'\): architecture.unet: depth not UNet2DConditionModel config fields",
    ),
    "missing local path": (
        dict(models=[{"name": "a", "local": {"path": "/nonexistent/sd"}}]),
        r"models\[0\] \('a'\): local.path '/nonexistent/sd' does not exist",
    ),
    "unknown metric": (
        dict(tasks={"t": {"num_images": 4, "metrics": ["niqe"]}}),
        r"tasks.t.metrics\[0\]: unknown metric 'niqe'",
    ),
    "fid without real images": (
        dict(tasks={"t": {"num_images": 4, "metrics": ["fid"]}}),
        r"tasks.t.metrics\[0\]: fid compares with real images; set tasks.t.reference.images",
    ),
    "fid without Inception weights": (
        dict(
            tasks={
                "t": {"num_images": 4, "metrics": ["attr_acc", "fid"], "reference": {"images": "/", "image_size": 32}}
            }
        ),
        r"metrics.inception.feature_extractor_weights_path: not set; FID and KID need Inception weights",
    ),
    "CLIP weights not safetensors": (
        dict(tasks={"t": {"num_images": 4, "metrics": ["clip_score"]}}, metrics={"clip": {"pretrained": "/clip.bin"}}),
        r"metrics.clip.pretrained: '/clip.bin' must end in .safetensors",
    ),
    "missing prompt file": (
        dict(
            tasks={"t": {"num_images": 4, "metrics": ["clip_score"], "prompts": {"file": {"path": "/no/prompts.csv"}}}}
        ),
        r"tasks.t.prompts.file.path: '/no/prompts.csv' does not exist",
    ),
    "missing captions file": (
        dict(
            tasks={
                "t": {
                    "num_images": 4,
                    "metrics": ["clip_score"],
                    "prompts": {"coco": {"captions": str(ROOT / "pyproject.json")}},
                }
            }
        ),
        r"tasks.t.prompts.coco.captions: '\S+/pyproject.json' does not exist",
    ),
    "toy metric on COCO prompts": (
        dict(tasks={"t": {"num_images": 4, "metrics": ["attr_acc"], "prompts": {"coco": {"captions": str(SHIPPED)}}}}),
        r"tasks.t.metrics\[0\]: attr_acc scores toy captions; it needs prompts: \{toy: …\}",
    ),
    "shard not multiple of batch": (
        dict(tasks={"t": {"num_images": 8, "shard_size": 6, "batch_size": 4, "metrics": ["attr_acc"]}}),
        r"tasks.t.shard_size \(6\) must be a multiple of batch_size \(4\)",
    ),
    "budgets not increasing": (
        dict(frontier={"budgets": {"normalised_cost": [1, 4, 2]}}),
        r"frontier.budgets.normalised_cost: \[1, 4, 2\] must be strictly increasing",
    ),
    "grid guidance not swept": (
        dict(frontier={"grid_guidance": 5.0}),
        r"frontier.grid_guidance: 5.0 is not one of guidance",
    ),
    "unknown field": (dict(sampler=["ddim"]), r"\nthe config: unknown key 'sampler' \(did you mean samplers\?\)\n"),
    "unknown end-to-end sampler": (
        dict(cost={"end_to_end": [{"sampler": "plms", "steps": 2, "guidance": 1.0}]}),
        r"cost.end_to_end\[0\].sampler: unknown sampler 'plms'",
    ),
    "unknown sampler of one model": (
        dict(models=[{"name": "a", "toy": {"width": 8}, "samplers": ["lcm", "plms"]}]),
        r"models\[0\] \('a'\)\.samplers\[1\]: unknown sampler 'plms'; valid samplers: ddim",
    ),
    "one model's steps <= 0": (
        dict(models=[{"name": "a", "toy": {"width": 8}, "steps": [1, 0]}]),
        r"\nmodels\[0\].steps\[1\]: 0 is less than the minimum of 1\n",
    ),
    "sweep settings on an architecture model": (
        dict(models=[{"name": "a", "toy": {"width": 8}}, {"name": "b", "architecture": {}, "steps": [4]}]),
        r"models\[1\] \('b'\): steps is for models that generate; an architecture model is only costed",
    ),
    "a misspelt task field": (
        dict(tasks={"coco": {"num_image": 10, "metrics": ["attr_acc"]}}),
        r"\ntasks.coco: unknown key 'num_image' \(did you mean num_images\?\)\ntasks.coco: 'num_images' is required\n",
    ),
    "a placeholder revision": (
        dict(models=[{"name": "a", "hub": {"repo_id": "org/model", "revision": "0" * 40}}]),
        r"models\[0\] \('a'\): hub.revision is a placeholder \(all zeros\); pin the commit",
    ),
    "a predicted hub model": (
        dict(models=[{"name": "a", "toy": {"width": 8}}, {"name": "b", "hub": HUB, "predict": True}]),
        r"models\[1\] \('b'\): predict: true is for a size nobody trained, given as a toy width or an architecture; "
        r"this entry's source is hub",
    ),
    "sweep settings on a predicted size": (
        dict(
            models=[
                {"name": "a", "toy": {"width": 8}},
                {"name": "b", "toy": {"width": 64}, "predict": True, "steps": [4]},
            ]
        ),  # fmt: skip
        r"models\[1\] \('b'\): steps is for models that generate; a predicted model is only costed",
    ),
    "LoRA from a pickle file": (
        dict(models=[{"name": "a", "base": {"hub": HUB}, "lora": {"local": {"path": "/loras/lcm.bin"}}}]),
        r"models\[0\] \('a'\): lora.local.path '/loras/lcm.bin' is not a .safetensors file; LoRA weights are "
        r"loaded from safetensors only",
    ),
    "LoRA hub file from a pickle": (
        dict(models=[{"name": "a", "base": {"hub": HUB}, "lora": {"hub": {**HUB, "weight_name": "lora.bin"}}}]),
        r"models\[0\] \('a'\): lora.hub.weight_name 'lora.bin' is not a .safetensors file",
    ),
    "LoRA without a pinned revision": (
        dict(
            models=[{"name": "a", "base": {"hub": HUB}, "lora": {"hub": {"repo_id": "x/lcm-lora", "revision": "v1"}}}]
        ),
        r"models\[0\] \('a'\): lora.hub.revision 'v1' is not a commit hash",
    ),
    "LoRA base without a pinned revision": (
        dict(models=[{"name": "a", "base": {"hub": {**HUB, "revision": "main"}}, "lora": {"hub": HUB}}]),
        r"models\[0\] \('a'\): base.hub.revision 'main' is not a commit hash",
    ),
    "LoRA without a base": (
        dict(models=[{"name": "a", "hub": HUB, "lora": {"hub": HUB}}]),
        r"models\[0\] \('a'\): base and lora go together",
    ),
    "LoRA on a toy base": (
        dict(models=[{"name": "a", "base": {"toy": {"width": 8}}, "lora": {"hub": HUB}}]),
        r"\nmodels\[0\].base: unknown key 'toy'; valid keys: local, hub\n",
    ),
    "distilled from a model not in the sweep": (
        dict(models=[{"name": "a", "toy": {"width": 8}, "distilled_from": "teacher"}]),
        r"models\[0\] \('a'\): distilled_from 'teacher' is not another model that generates in this sweep",
    ),
    "toy student of another width": (
        dict(models=[{"name": "a", "toy": {"width": 8}}, {"name": "b", "toy": {"width": 16}, "distilled_from": "a"}]),
        r"models\[1\] \('b'\): toy.width 16 differs from its teacher 'a''s 8",
    ),
    "toy student of a hub model": (
        dict(models=[{"name": "h", "hub": HUB}, {"name": "b", "toy": {"width": 8}, "distilled_from": "h"}]),
        r"models\[1\] \('b'\): a toy model's distilled_from must name a toy model that is trained",
    ),
    "distillation guidance range reversed": (
        dict(toy={"distill": {"w_min": 3.0, "w_max": 1.0}}),
        r"toy.distill.w_min \(3.0\) is above w_max \(1.0\)",
    ),
    "compile without warm-up": (
        dict(cost={"compile": True, "warmup": 0}),
        r"cost.warmup must be at least 1 with cost.compile",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_fails_before_any_job_naming_the_field(tmp_path, case):
    changes, message = BAD[case]
    proc = snakemake(tmp_path, tiny_config(**changes), "--dry-run", check=False)
    assert proc.returncode != 0
    assert pytest.importorskip("re").search(message, proc.stdout + proc.stderr), proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()


def test_tiny_config_plans_every_rule(tmp_path):
    jobs = planned_jobs(snakemake(tmp_path, tiny_config(), "--dry-run"))
    assert jobs["generate"] == 2 * 2 * 2  # models × guidance × shards
    assert jobs["score"] == 2 * 2 * 2  # models × guidance × metrics
    assert (
        jobs["image_features"] == 2 * 2 and jobs["reference_features"] == 1
    )  # the toy scorer's, once per configuration
    assert jobs["train_unet"] == 2 and jobs["frontier"] == 1 and jobs["sample_grid"] == 1
    assert jobs["charts"] == 2  # one per metric


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: shutil.rmtree(d / "vae"), r"\S+/local: component 'vae' is listed in model_index.json but \S+/vae is missing"),
        (lambda d: (d / "text_encoder" / "model.safetensors").unlink(), r"\S+/text_encoder: no .safetensors weights"),
        (lambda d: (d / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"\x08" + b"\0" * 7 + b"{"),
         r"\S+/unet/diffusion_pytorch_model.safetensors: corrupt or truncated safetensors file"),
    ],
    ids=["missing component", "no weights", "corrupt weights"],
)  # fmt: skip
def test_broken_local_model_fails_before_any_job_naming_the_file(tmp_path, tiny_pipeline_dir, damage, message):
    local = tmp_path / "local"
    shutil.copytree(tiny_pipeline_dir, local)
    damage(local)
    proc = snakemake(
        tmp_path / "work",
        tiny_config(models=[{"name": "mine", "local": {"path": str(local)}}]),
        "--dry-run",
        check=False,
    )
    assert proc.returncode != 0
    assert re.search(r"config: models\[0\] \('mine'\): local.path: " + message, proc.stdout + proc.stderr), (
        proc.stdout + proc.stderr
    )


def test_the_all_samplers_example_plans_its_sweep(tmp_path):
    config = yaml.safe_load((ROOT / "config" / "examples" / "toy-samplers.yaml").read_text())
    jobs = planned_jobs(snakemake(tmp_path, config, "--dry-run"))
    assert jobs["generate"] == jobs["image_features"] == 5 * 3 * 5 * 2  # models × samplers × steps × guidance
    assert "train_unet" not in jobs  # the shipped checkpoints


def test_the_family_config_trains_and_ships_every_member_of_both_kinds(tmp_path):
    config = yaml.safe_load((ROOT / "config" / "toy-family.yaml").read_text())
    jobs = planned_jobs(snakemake(tmp_path, config, "--dry-run", "--", "ship_toy"))
    assert jobs["train_unet"] == 10 and jobs["distill_unet"] == 5 and jobs["ship_toy"] == 1  # 5 t2i + 5 SR members
    with pytest.raises(ValueError, match="tasks: at least one task is needed"):  # no tasks: only to train the family
        cfg_check({**config, "train_toy": False})


def test_the_sr_example_sweeps_the_shipped_sr_members_over_steps(tmp_path):
    config = yaml.safe_load((ROOT / "config" / "examples" / "toy-sr.yaml").read_text())
    jobs = planned_jobs(snakemake(tmp_path, config, "--dry-run"))
    assert jobs["generate"] == 5 * 5 and "train_unet" not in jobs  # 5 models × 5 steps, guidance 1 only; shipped


def cfg_check(config):
    from snakemake.utils import validate

    from ldmscale import config as cfg

    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    cfg.check(config)


def test_a_model_sweeps_its_own_samplers_steps_and_guidance_and_the_rest_keep_the_sweeps():
    from ldmscale import config as cfg

    config = tiny_config(
        models=[
            {"name": "teacher", "toy": {"width": 8}},
            {"name": "student", "toy": {"width": 8}, "samplers": ["lcm"], "steps": [4, 1], "guidance": [1.5]},
        ],
        frontier={"grid_guidance": None},
    )
    configs = {(c["model"], c["sampler"], c["steps"], c["guidance"]) for c in cfg.configurations(config)}
    assert configs == {
        ("teacher", "ddim", 2, "1"),
        ("teacher", "ddim", 2, "2"),
        ("student", "lcm", 1, "1.5"),
        ("student", "lcm", 4, "1.5"),
    }
    # One grid per sampler, at the grid guidance or, for a model that lacks it, its own largest scale.
    assert cfg.sample_grids(config) == {("ddim", "2"): {"teacher": [2]}, ("lcm", "1.5"): {"student": [1, 4]}}


def test_the_lcm_example_is_valid_and_sweeps_distilled_members_on_their_own_axes():
    from snakemake.utils import validate

    from ldmscale import config as cfg

    text = (ROOT / "config" / "examples" / "lcm.yaml").read_text()
    config = yaml.safe_load(text)
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    with pytest.raises(ValueError, match=r"models\[0\] \('sd15'\): hub.revision is a placeholder"):
        cfg.check(config)  # its revisions are for the user to pin
    config = yaml.safe_load(text.replace("0" * 40, "a1" * 20))
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    cfg.check(config)
    by_model = {}
    for c in cfg.configurations(config):
        by_model.setdefault(c["model"], set()).add((c["sampler"], c["steps"]))
    assert by_model["sd15-lcm-lora"] == {("lcm", n) for n in (1, 2, 4, 8)}
    assert by_model["sdxl"] == {(s, n) for s in ("ddim", "dpmpp_2m") for n in (4, 8, 16, 25, 50)}
    assert cfg.describe_source(cfg.model_entry(config, "segmind-vega-rt")).startswith("lora segmind/Segmind-VegaRT@")


def test_files_that_are_there_but_cannot_serve_are_refused_before_any_job(tmp_path):
    """A captions file with fewer images than num_images asks for, and extractor weights that are not a safetensors
    file (here: 0 bytes), fail at check time, naming the field, instead of inside prepare_task or a feature job."""
    captions = tmp_path / "captions.json"
    captions.write_text(
        json.dumps({"annotations": [{"id": i, "image_id": i // 2, "caption": f"c{i}"} for i in range(40)]})
    )
    weights = tmp_path / "inception.safetensors"
    weights.write_bytes(b"")
    task = {"num_images": 5000, "metrics": ["clip_score"], "prompts": {"coco": {"captions": str(captions)}}}
    config = tiny_config(tasks={"coco": task}, metrics={"clip": {"pretrained": str(weights)}})
    proc = snakemake(tmp_path / "work", config, "--dry-run", check=False)
    assert proc.returncode != 0
    assert "config: tasks.coco.num_images: 5000 images asked for, but tasks.coco.prompts.coco.captions has 20" in (
        proc.stdout + proc.stderr
    )
    task["num_images"] = 20
    proc = snakemake(tmp_path / "work", config, "--dry-run", check=False)
    assert proc.returncode != 0
    assert f"config: metrics.clip.pretrained: {weights} is not a readable safetensors file" in proc.stdout + proc.stderr


def test_the_check_command_says_what_it_checked_or_names_every_problem(tmp_path, capsys, monkeypatch):
    from ldmscale import cli

    monkeypatch.chdir(ROOT)
    assert cli.main(["check", "config.yaml"]) == 0
    assert "config.yaml: fits the schema and every check; 6 models, 80 configurations" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"models": [{"name": "a", "toy": {"width": 8}}], "sampler": ["ddim"]}))
    assert cli.main(["check", str(bad)]) == 1
    assert "the config: unknown key 'sampler' (did you mean samplers?)" in capsys.readouterr().err


def test_a_folder_of_real_images_too_small_for_the_reference_statistics_is_refused(tmp_path):
    from PIL import Image

    from ldmscale import config as cfg

    for i in range(5):
        Image.new("RGB", (8, 8)).save(tmp_path / f"real{i}.png")
    task = {"kind": "text", "num_images": 8, "metrics": ["attr_acc"], "prompts": {"toy": {"seed": 0}},
            "reference": {"images": str(tmp_path), "match": "sample"}, "reference_images": None}  # fmt: skip
    config = {"tasks": {"t": task}, "metrics": {}}
    with pytest.raises(ValueError, match=r"tasks.t.reference.images: \S+ holds 5 images; the task's reference "
                                         r"statistics need 8 \(reference_images, else num_images\)"):  # fmt: skip
        cfg.check_contents(config)
    task["reference_images"] = 4
    cfg.check_contents(config)  # 4 of the 5 images: enough


def test_a_model_named_like_a_baseline_is_refused_and_a_refined_sweep_has_no_baselines():
    from ldmscale import config as cfg

    config = yaml.safe_load((ROOT / "config" / "examples" / "toy-sr.yaml").read_text())
    assert [b["model"] for b in cfg.baselines(config)] == ["bicubic", "nearest"]  # on the one SR task
    del config["tasks"]["upscale"]["super_resolution"]["baselines"]
    cfg.validate(config)
    assert [b["model"] for b in cfg.baselines(config)] == ["bicubic"]  # the default
    assert cfg.baselines({**config, "refine": {"initial_images": 32}}) == []
    with pytest.raises(ValueError, match=r"models\[0\] \('bicubic'\): 'bicubic' names a super-resolution baseline"):
        cfg_check({**config, "models": [{"name": "bicubic", "toy": {"width": 8, "kind": "super_resolution"}}]})


def test_a_tolerance_for_a_metric_no_task_scores_is_refused_naming_the_field():
    config = tiny_config(frontier={"tolerance": {"attr_acc": 0.01, "fid": 1.0}})
    with pytest.raises(
        ValueError, match=r"frontier.tolerance.fid: not a metric of any task; metrics: attr_acc, kid_toy"
    ):
        cfg_check(config)
    cfg_check(tiny_config(frontier={"tolerance": {"attr_acc": 0.01}}))
    refined = tiny_config(refine={"initial_images": 4, "tolerance": {"kid": 1.0}})
    with pytest.raises(ValueError, match=r"refine.tolerance.kid: not a metric of any task"):
        cfg_check(refined)


def test_refinement_without_a_tolerance_for_each_metric_is_refused_naming_the_field():
    refined = tiny_config(refine={"initial_images": 4, "tolerance": {"attr_acc": 0.02}})
    with pytest.raises(ValueError, match=r"refine.tolerance.kid_toy: missing; refinement needs, for every metric"):
        cfg_check(refined)
    refined["refine"]["tolerance"]["kid_toy"] = 0.5
    cfg_check(refined)
