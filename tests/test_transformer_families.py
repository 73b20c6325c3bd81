"""Diffusion-transformer pipelines (issue 35): tiny random DiT, PixArt-α and SD3 pipelines built and saved here, each
generated with its calls counted, costed on the meta device against a count of a real pipeline call, profiled, and
checked for the samplers that fit it."""

from __future__ import annotations

import json
import shutil

import pytest

from ldmscale import cost, denoisers, files, generate, models, samplers

ID2LABEL = {"0": "circle, round", "1": "square"}
TOY_T5 = {"d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2, "num_heads": 4}


@pytest.fixture(scope="module")
def transformer_pipelines(tmp_path_factory, tiny_parts) -> dict:
    """Return {pipeline class: saved directory} of tiny random DiT, PixArt-α and SD3 pipelines with the toy VAE and
    tokenizer (T5 and CLIP encoders of toy size), checksums recorded."""
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        DiTPipeline,
        DiTTransformer2DModel,
        FlowMatchEulerDiscreteScheduler,
        FluxPipeline,
        FluxTransformer2DModel,
        PixArtAlphaPipeline,
        PixArtTransformer2DModel,
        SD3Transformer2DModel,  # fmt: skip
        StableDiffusion3Pipeline,
    )
    from transformers import (
        CLIPTextConfig,
        CLIPTextModel,
        CLIPTextModelWithProjection,
        PreTrainedTokenizerFast,
        T5Config,
        T5EncoderModel,  # fmt: skip
    )

    from ldmscale import integrity
    from ldmscale.toy import nets

    torch.manual_seed(0)
    tok = PreTrainedTokenizerFast.from_pretrained(tiny_parts["text"] / "tokenizer")
    vae_config = json.loads((tiny_parts["vae"] / "config.json").read_text()) | {"shift_factor": 0.0}  # SD3 shifts
    vae = AutoencoderKL.from_config({k: v for k, v in vae_config.items() if not k.startswith("_")})
    vae.load_state_dict(AutoencoderKL.from_pretrained(tiny_parts["vae"], use_safetensors=True).state_dict())
    channels, side = vae.config.latent_channels, 8  # 32 px images: 8 × 8 latents
    t5 = T5EncoderModel(T5Config(vocab_size=len(tok), pad_token_id=tok.pad_token_id, **TOY_T5))

    def clip(cls=CLIPTextModelWithProjection):
        return cls(
            CLIPTextConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                           num_attention_heads=4, max_position_embeddings=nets.MAX_TOKENS, projection_dim=16,
                           pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
        )  # fmt: skip

    heads = {"num_attention_heads": 2, "attention_head_dim": 8, "num_layers": 2, "sample_size": side, "patch_size": 2}
    pipes = {
        "DiTPipeline": DiTPipeline(
            transformer=DiTTransformer2DModel(in_channels=channels, out_channels=2 * channels, **heads),
            vae=vae, scheduler=DDIMScheduler.from_config(nets.noise_schedule()),
        ),
        "PixArtAlphaPipeline": PixArtAlphaPipeline(
            transformer=PixArtTransformer2DModel(in_channels=channels, out_channels=2 * channels, caption_channels=32,
                                                 cross_attention_dim=16, use_additional_conditions=False, **heads),
            text_encoder=t5, tokenizer=tok, vae=vae, scheduler=DDIMScheduler.from_config(nets.noise_schedule()),
        ),
        "StableDiffusion3Pipeline": StableDiffusion3Pipeline(
            transformer=SD3Transformer2DModel(in_channels=channels, out_channels=channels, joint_attention_dim=32,
                                              caption_projection_dim=16, pooled_projection_dim=32,
                                              pos_embed_max_size=16, **heads),
            scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=clip(), tokenizer=tok,
            text_encoder_2=clip(), tokenizer_2=tok, text_encoder_3=t5, tokenizer_3=tok,
        ),
        "FluxPipeline": FluxPipeline(  # 2 × 2-packed latents (4 × 4 tokens of 4 × 4 channels), distilled guidance
            transformer=FluxTransformer2DModel(in_channels=4 * channels, num_layers=1, num_single_layers=1,
                                               attention_head_dim=8, num_attention_heads=2, joint_attention_dim=32,
                                               pooled_projection_dim=16, guidance_embeds=True, axes_dims_rope=(2, 2, 4)),
            scheduler=FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True), vae=vae,
            text_encoder=clip(CLIPTextModel), tokenizer=tok, text_encoder_2=t5, tokenizer_2=tok,
        ),
    }  # fmt: skip
    out = {}
    for name, pipe in pipes.items():
        out[name] = tmp_path_factory.mktemp(name) / "pipeline"
        pipe.save_pretrained(out[name], safe_serialization=True)
        if name == "DiTPipeline":  # as facebook/DiT-XL-2-256 ships its class names: in model_index.json
            index = json.loads((out[name] / "model_index.json").read_text())
            (out[name] / "model_index.json").write_text(json.dumps({**index, "id2label": ID2LABEL}))
        integrity.record_checksums(out[name])
    return out


FAMILIES = [("DiTPipeline", "ddim", ["square", "0", "circle"]), ("PixArtAlphaPipeline", "ddim", ["a red circle"] * 3),
            ("StableDiffusion3Pipeline", "flow_euler", ["a blue square"] * 3),
            ("FluxPipeline", "flow_euler", ["a green circle"] * 3)]  # fmt: skip


@pytest.mark.parametrize("name, sampler, prompts", FAMILIES)
def test_each_family_generates_with_its_denoiser_calls_counted(transformer_pipelines, tmp_path, name, sampler, prompts):
    """With guidance, every call doubles its batch (the unguided case is the UNet pipelines' test's), except Flux's:
    its guidance is an input of one call."""
    pipe = models.load_pipeline(transformer_pipelines[name], "cpu", "float32")
    assert denoisers.of(pipe) is pipe.transformer and type(pipe).__name__ == name
    manifest = generate.generate_shard(pipe, tmp_path / "shard", dict(enumerate(prompts)), range(3), task_seed=0,
                                       sampler=sampler, steps=2, guidance=3.0, batch_size=2, resolution=32)  # fmt: skip
    assert manifest["nfe"] == {"calls": 2, "batch_multiplier": 1 if name == "FluxPipeline" else 2}
    assert [r["index"] for r in manifest["images"]] == [0, 1, 2]


def test_a_shard_is_the_same_images_however_the_task_is_sharded(transformer_pipelines, tmp_path):
    """DiT draws its own latents, from generators seeded per image: still the same image for the same index."""
    from ldmscale import images

    pipe = models.load_pipeline(transformer_pipelines["DiTPipeline"], "cpu", "float32")
    prompts = dict(enumerate(["0", "1", "0", "1"]))
    run = dict(task_seed=0, sampler="ddim", steps=2, guidance=3.0, batch_size=2, resolution=32)
    generate.generate_shard(pipe, tmp_path / "all", prompts, range(4), **run)
    generate.generate_shard(pipe, tmp_path / "second", prompts, range(2, 4), **run)
    whole, _ = images.load_images([tmp_path / "all"])
    half, _ = images.load_images([tmp_path / "second"])
    assert (whole[2:] == half).all()


def test_a_prompt_that_is_not_a_class_is_named(transformer_pipelines, tmp_path):
    pipe = models.load_pipeline(transformer_pipelines["DiTPipeline"], "cpu", "float32")
    with pytest.raises(ValueError, match=r"prompt 'a cat' is not a class of DiTPipeline: give its number or its name"):
        generate.generate_shard(pipe, tmp_path / "s", {0: "a cat"}, range(1), task_seed=0, sampler="ddim", steps=1,
                                guidance=1.0, batch_size=1, resolution=32)  # fmt: skip


@pytest.mark.parametrize("name", [n for n, _, _ in FAMILIES])
def test_the_meta_count_equals_a_count_of_the_real_pipeline_call(transformer_pipelines, name):
    """One step, one image, no guidance: the real call's FLOPs (its text encoders, one denoiser call, the VAE decode)
    are what count_flops counts on the meta device from the configs alone, at the same text lengths."""
    import torch

    counted = cost.count_flops(transformer_pipelines[name], 32)
    pipe = models.load_pipeline(transformer_pipelines[name], "cpu", "float32")
    sampler = "flow_euler" if name in ("StableDiffusion3Pipeline", "FluxPipeline") else "ddim"
    pipe.scheduler = samplers.scheduler(sampler, pipe.scheduler.config)
    call = {
        "num_inference_steps": 1,
        "guidance_scale": 1.0,
        "output_type": "np",
        **denoisers.family_of(pipe).call_options,
    }
    with torch.no_grad(), cost.flop_counter() as counter:
        if name == "DiTPipeline":
            pipe(class_labels=[0], **call)
        else:
            pipe(prompt=["a red circle"], height=32, width=32, **call)
    expected = counted["text_encoder"]["flops_b1"] + counted["unet"]["flops_b1"] + counted["vae_decoder"]["flops_b1"]
    assert counter.get_total_flops() == pytest.approx(expected, rel=1e-6)
    assert counted["unet"]["flops_b2"] == 2 * counted["unet"]["flops_b1"]
    assert (counted["text_encoder"]["flops_b1"] > 0) == (name != "DiTPipeline")


def test_sd3_attends_to_its_clip_and_t5_tokens_side_by_side(transformer_pipelines):
    geo = cost.geometry(transformer_pipelines["StableDiffusion3Pipeline"])
    assert geo["text_tokens"] == {"text_encoder": 12, "text_encoder_2": 12, "text_encoder_3": 256}
    assert geo["tokens"] == 12 + 256
    assert cost.geometry(transformer_pipelines["PixArtAlphaPipeline"])["text_tokens"] == {"text_encoder": 120}


def test_flux_attends_to_its_t5_tokens_and_packs_its_latents(transformer_pipelines):
    """Its CLIP gives a pooled embedding only; with no sample_size its default is its pipeline's 128 latents a side;
    a resolution must fall on a 2 × 2 patch of latents."""
    geo = cost.geometry(transformer_pipelines["FluxPipeline"])
    assert geo["text_tokens"] == {"text_encoder": 12, "text_encoder_2": 512} and geo["tokens"] == 512
    assert geo["resolution"] == 128 * 4
    with pytest.raises(ValueError, match=r"resolution 36 is not a multiple of 8 \(the VAE factor 4, twice"):
        cost.geometry(transformer_pipelines["FluxPipeline"], 36)


@pytest.mark.parametrize("name", [n for n, _, _ in FAMILIES])
def test_a_transformer_pipeline_is_profiled_like_a_unet_one(transformer_pipelines, name):
    pipe = models.load_pipeline(transformer_pipelines[name], "cpu", "float32")
    latency = cost.profile_latency(pipe, batch=1, resolution=32, warmup=1, repeats=2)
    assert latency["flops_per_call"]["unet"] == cost.count_flops(transformer_pipelines[name], 32)["unet"]["flops_b1"]
    assert all(latency["median_ms"][k] > 0 for k in ("unet", "unet_cfg", "vae_decoder"))


def test_a_sampler_that_does_not_fit_the_model_is_refused_by_name():
    with pytest.raises(ValueError, match=r"sampler 'ddim' \(DDIMScheduler\) is a diffusion sampler, but model 'sd3' "
                       r"was trained for flow .*samplers that fit it: flow_euler, flow_heun"):  # fmt: skip
        samplers.check_fits("ddim", {"_class_name": "FlowMatchEulerDiscreteScheduler"}, "sd3")
    with pytest.raises(ValueError, match=r"sampler 'flow_euler' .* is a flow sampler, but model 'sd' was trained for "
                       r"diffusion"):  # fmt: skip
        samplers.check_fits("flow_euler", {"_class_name": "PNDMScheduler"}, "sd")
    samplers.check_fits("flow_heun", {"_class_name": "FlowMatchEulerDiscreteScheduler"}, "sd3")
    shifting = {"_class_name": "FlowMatchEulerDiscreteScheduler", "use_dynamic_shifting": True}
    with pytest.raises(ValueError, match=r"sampler 'flow_heun' .* takes no resolution-dependent shift, which the "
                       r"scheduler of model 'flux' \(FlowMatchEulerDiscreteScheduler\) uses .*fit it: flow_euler$"):  # fmt: skip
        samplers.check_fits("flow_heun", shifting, "flux")
    samplers.check_fits("flow_euler", shifting, "flux")


def test_the_config_check_refuses_a_sampler_that_does_not_fit_a_local_model(transformer_pipelines, tmp_path):
    from helpers import tiny_config
    from test_config import cfg_check

    local = {"name": "sd3", "local": {"path": str(transformer_pipelines["StableDiffusion3Pipeline"])}}
    with pytest.raises(ValueError, match=r"config: samplers \(for models\[0\] \('sd3'\)\): sampler 'ddim'"):
        cfg_check(tiny_config(models=[local]))
    cfg_check(tiny_config(models=[{**local, "samplers": ["flow_euler"]}]))
    flux = {"name": "flux", "local": {"path": str(transformer_pipelines["FluxPipeline"])}, "samplers": ["flow_heun"]}
    with pytest.raises(
        ValueError, match=r"config: models\[0\] \('flux'\)\.samplers: sampler 'flow_heun' .* takes no resolution"
    ):
        cfg_check(tiny_config(models=[flux]))


def test_a_pipeline_the_tool_cannot_handle_is_refused_naming_its_denoiser(transformer_pipelines, tmp_path):
    local = tmp_path / "sana"
    shutil.copytree(transformer_pipelines["StableDiffusion3Pipeline"], local)
    index = json.loads((local / "model_index.json").read_text())
    index.update(_class_name="SanaPipeline", transformer=["diffusers", "SanaTransformer2DModel"])
    (local / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match=r"SanaPipeline: its denoiser is 'transformer' \(SanaTransformer2DModel\); "
                       r"ldmscale sweeps pipelines with a UNet \('unet'\) and the diffusion transformers DiTPipeline"):  # fmt: skip
        models.validate_pipeline_dir(local)


@pytest.mark.workflow
def test_a_sweep_mixing_dit_pixart_sd3_flux_and_unet_pipelines_runs_end_to_end(
    transformer_pipelines, tiny_pipeline_dir, tiny_clip, tmp_path
):
    """One config, five local pipelines: a UNet, DiT (class names as prompts, which are captions to the others),
    PixArt-α, SD3 and Flux (their own flow sampler). Every configuration reaches the summary with its denoiser's calls
    counted and a cost on every axis (GFLOPs, normalised cost, measured latency), scored and on the frontier."""
    import polars as pl
    from helpers import snakemake

    (tmp_path / "classes.txt").write_text("square\ncircle\n")
    local = {"unet": tiny_pipeline_dir, "dit": transformer_pipelines["DiTPipeline"],
             "pixart": transformer_pipelines["PixArtAlphaPipeline"],
             "sd3": transformer_pipelines["StableDiffusion3Pipeline"], "flux": transformer_pipelines["FluxPipeline"]}  # fmt: skip
    flow = {"samplers": ["flow_euler"]}
    config = {
        "models": [
            {"name": n, "local": {"path": str(p)}} | (flow if n in ("sd3", "flux") else {}) for n, p in local.items()
        ],
        "samplers": ["ddim"],
        "steps": [2],
        "guidance": [2.0],
        "tasks": {
            "classes": {
                "prompts": {"file": {"path": str(tmp_path / "classes.txt"), "seed": 1}},
                "num_images": 2,
                "resolution": 32,  # Flux has no sample_size: its own default is 128 latents a side
                "shard_size": 2,
                "batch_size": 2,
                "metrics": ["clip_score"],
                "bootstrap": 20,
            }
        },  # fmt: skip
        "metrics": {"batch_size": 2, "clip": tiny_clip},
        "cost": {"batch_sizes": [1], "latency_batch": 1, "repeats": 2, "warmup": 1},
        "frontier": {"grid_images": 2},
    }
    snakemake(tmp_path / "work", config, "results/test/summary.parquet", "results/test/frontier/best_per_budget.csv")
    summary = pl.read_parquet(tmp_path / "work" / "results" / "test" / "summary.parquet").sort("model")
    assert summary["model"].to_list() == sorted(local)  # dit, flux, pixart, sd3, unet
    assert summary["sampler"].to_list() == ["ddim", "flow_euler", "ddim", "flow_euler", "ddim"]
    assert summary["nfe"].to_list() == [2] * 5 and summary["cfg"].to_list() == [True, False, True, True, True]
    for axis in ("unet_gflops", "gflops_per_image", "normalised_cost", "latency_ms_per_image"):
        assert (summary[axis] > 0).all(), axis
    assert summary["clip_score"].is_not_null().all()  # a random CLIP's cosines are negative: scored 0, as torchmetrics
    checks = files.read_json(tmp_path / "work" / "results" / "test" / "cost" / "sd3" / "latency_b1.json")["end_to_end"]
    assert [(c["sampler"], c["nfe"]) for c in checks] == [("flow_euler", 2), ("flow_heun", 3)]  # the flow defaults
    best = pl.read_csv(tmp_path / "work" / "results" / "test" / "frontier" / "best_per_budget.csv")
    assert set(best["model"].drop_nulls()) <= set(local) and best.height > 0
