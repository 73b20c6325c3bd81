import numpy as np
import pytest

from ldmscale import generate, samplers
from ldmscale.images import load_images, read_manifest

PROMPTS = {i: f"a small red circle on the {'left' if i % 2 else 'right'}" for i in range(8)}


def run(pipe, out, indices, sampler="ddim", steps=2, guidance=1.0, batch_size=4):
    return generate.generate_shard(pipe, out, PROMPTS, indices, 11, sampler, steps, guidance, batch_size, 32)


def test_batches_align_on_global_index():
    assert generate.batches(range(2, 9), 4) == [[2, 3], [4, 5, 6, 7], [8]]


@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
def test_sharded_images_equal_unsharded_bit_for_bit(tiny_pipeline, tmp_path, sampler):
    run(tiny_pipeline, tmp_path / "all", range(8), sampler)
    run(tiny_pipeline, tmp_path / "a", range(0, 4), sampler)
    run(tiny_pipeline, tmp_path / "b", range(4, 8), sampler)
    whole, _ = load_images([tmp_path / "all"])
    parts, _ = load_images([tmp_path / "a", tmp_path / "b"])
    assert np.array_equal(whole, parts)


def test_batch_size_changes_images_by_rounding_at_most(tiny_pipeline, tmp_path):
    # CPU kernels are not bitwise batch-invariant; the latents and noise are, so images may
    # differ only by float rounding that survives 8-bit quantisation.
    run(tiny_pipeline, tmp_path / "b4", range(8), "ddpm", batch_size=4)
    run(tiny_pipeline, tmp_path / "b1", range(8), "ddpm", batch_size=1)
    a = load_images([tmp_path / "b4"])[0].astype(int)
    b = load_images([tmp_path / "b1"])[0].astype(int)
    assert np.abs(a - b).max() <= 2
    assert (a != b).mean() < 0.01


def test_same_index_gets_same_latent_whatever_the_prompt_order(tiny_pipeline, tmp_path):
    m1 = run(tiny_pipeline, tmp_path / "x", range(2, 4))
    m2 = run(tiny_pipeline, tmp_path / "y", range(0, 4))
    assert [r["seed"] for r in m1["images"]] == [r["seed"] for r in m2["images"]][2:]


@pytest.mark.parametrize(
    ("sampler", "guidance", "multiplier"),
    [("ddim", 1.0, 1), ("heun", 3.0, 2), ("dpmpp_2m", 3.0, 2), ("pndm", 3.0, 2), ("lms", 1.0, 1), ("lcm", 3.0, 2),
     ("tcd", 1.0, 1)],
)  # fmt: skip
def test_counted_unet_calls_match_the_sampler_formula(tiny_pipeline, tmp_path, sampler, guidance, multiplier):
    manifest = run(tiny_pipeline, tmp_path / "s", range(4), sampler, steps=3, guidance=guidance)
    assert manifest["nfe"] == {
        "calls": samplers.expected_nfe(sampler, 3, tiny_pipeline.scheduler.config),
        "batch_multiplier": multiplier,
    }


def test_failed_generation_leaves_no_output(tiny_pipeline, tmp_path):
    with pytest.raises(KeyError):
        generate.generate_shard(tiny_pipeline, tmp_path / "dead", PROMPTS, range(6, 10), 11, "ddim", 2, 1.0, 4, 32)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_image_is_named(tiny_pipeline, tmp_path):
    run(tiny_pipeline, tmp_path / "s", range(2))
    victim = tmp_path / "s" / "000001.png"
    victim.write_bytes(victim.read_bytes()[:-10])
    with pytest.raises(ValueError, match="000001.png: SHA-256 differs"):
        load_images([tmp_path / "s"])


def test_shard_without_manifest_is_incomplete(tmp_path):
    (tmp_path / "s").mkdir()
    with pytest.raises(ValueError, match="no manifest.json"):
        read_manifest(tmp_path / "s")


def test_an_lcm_distilled_unet_embeds_guidance_in_one_call_per_step(tiny_lcm_pipeline, tmp_path):
    # time_cond_proj_dim: the guidance scale is an input of the UNet, not a second (unconditional) batch half.
    manifest = run(tiny_lcm_pipeline, tmp_path / "s", range(4), "lcm", steps=2, guidance=3.0)
    assert manifest["nfe"] == {"calls": 2, "batch_multiplier": 1}
    run(tiny_lcm_pipeline, tmp_path / "g1", range(4), "lcm", steps=2, guidance=1.5)
    a, b = (load_images([tmp_path / d])[0] for d in ("s", "g1"))
    assert (a != b).any()  # the embedded scale changes the images
