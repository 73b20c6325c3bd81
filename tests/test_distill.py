"""Toy consistency distillation: its solver against diffusers' schedulers, its FLOPs, and a tiny run."""

import json

import pytest
import torch

from ldmscale.toy import distill, nets, train

RECIPE = {"seed": 0, "steps": 30, "batch": 8, "lr": 1e-3, "warmup_fraction": 0.1, "ema_decay": 0.95,
          "w_min": 0.0, "w_max": 2.0, "embedding_dim": 16, "train_images": 64}  # fmt: skip


@pytest.fixture(scope="module")
def solver():
    return distill.Solver(nets.noise_schedule())


def test_the_solver_step_is_diffusers_ddim_at_the_lcm_schedules_50_steps(solver):
    """One solver step from every solver timestep is DDIMScheduler.step (trailing, η = 0) between the same timesteps."""
    from diffusers import DDIMScheduler, LCMScheduler

    ddim = DDIMScheduler.from_config(nets.noise_schedule())
    ddim.set_timesteps(distill.SOLVER_STEPS)
    lcm = LCMScheduler.from_config(nets.noise_schedule())
    lcm.set_timesteps(distill.SOLVER_STEPS)
    assert sorted(ddim.timesteps.tolist()) == sorted(lcm.timesteps.tolist()) == solver.timesteps.tolist()
    gen = torch.Generator().manual_seed(0)
    for index in (0, 1, 17, distill.SOLVER_STEPS - 1):
        x, eps = torch.randn(2, 1, 4, 8, 8, generator=gen)
        t = int(solver.timesteps[index])
        expected = ddim.step(eps, t, x, eta=0.0).prev_sample
        torch.testing.assert_close(solver.ddim_step(eps, torch.tensor([index]), x), expected, rtol=1e-5, atol=1e-5)


def test_the_consistency_output_is_what_the_lcm_sampler_denoises(solver):
    """Training's c_skip·x + c_out·x0 at t equals LCMScheduler.step's `denoised` for the same UNet output."""
    from diffusers import LCMScheduler

    lcm = LCMScheduler.from_config(nets.noise_schedule())
    lcm.set_timesteps(4)
    gen = torch.Generator().manual_seed(1)
    for t in lcm.timesteps.tolist():
        x, eps = torch.randn(2, 1, 4, 8, 8, generator=gen)
        lcm._step_index = None  # each call is a first step at t
        expected = lcm.step(eps, t, x, generator=gen).denoised
        torch.testing.assert_close(solver.consistency(eps, torch.tensor([t]), x), expected, rtol=1e-5, atol=1e-5)


def test_the_guidance_embedding_is_the_lcm_pipelines():
    from diffusers import LatentConsistencyModelPipeline

    w = torch.tensor([0.0, 0.5, 2.0])
    expected = LatentConsistencyModelPipeline.get_guidance_scale_embedding(None, w, embedding_dim=16)
    torch.testing.assert_close(distill.guidance_embedding(w, 16), expected)


def test_a_step_costs_two_teacher_passes_and_the_students_embedding_one_matmul():
    """Counted FLOPs against hand-worked ones: the teacher's doubled batch is twice one pass, and the student's
    forward exceeds the teacher's by its guidance projection (2 · batch · dim · width, no bias)."""
    config, batch, dim = nets.unet_config(8, 8), 4, 16
    flops = distill.step_flops(config, dim, batch, nets.MAX_TOKENS)
    teacher_pass = train.count_unet_flops(config, batch, nets.MAX_TOKENS, backward=False)
    assert flops["teacher"] == 2 * teacher_pass
    assert flops["target"] - teacher_pass == 2 * batch * dim * 8
    assert flops["student"] == train.count_train_step_flops(distill.student_config(config, dim), batch, nets.MAX_TOKENS)


def test_a_tiny_distillation_saves_a_student_that_samples_with_lcm(tmp_path, tiny_parts):
    from diffusers import UNet2DConditionModel

    from ldmscale import integrity, models

    torch.set_num_threads(1)
    record = distill.distill_unet(tmp_path / "unet", tiny_parts["unet"], tiny_parts["vae"], tiny_parts["text"], RECIPE)
    assert 0 < record["loss_last"] < float("inf")  # an untrained teacher: the bootstrapped loss need not fall
    assert record["distill_flops"] == sum(record["distill_step_flops"].values()) * RECIPE["steps"]
    assert json.loads((tmp_path / "unet" / "config.json").read_text())["time_cond_proj_dim"] == 16
    integrity.verify_checksums(tmp_path / "unet")
    teacher = UNet2DConditionModel.from_pretrained(tiny_parts["unet"])
    student = UNet2DConditionModel.from_pretrained(tmp_path / "unet")
    assert record["params"] == sum(p.numel() for p in teacher.parameters()) + 16 * 8
    assert not torch.equal(student.conv_in.weight, teacher.conv_in.weight)  # trained, starting from the teacher

    nets.assemble(tmp_path / "pipe", tmp_path / "unet", tiny_parts["vae"], tiny_parts["text"])
    pipe = models.load_pipeline(tmp_path / "pipe")
    from ldmscale import samplers

    pipe.scheduler = samplers.scheduler("lcm", pipe.scheduler.config)
    calls = []
    pipe.unet.register_forward_hook(lambda m, args, out: calls.append(args[0].shape[0]))
    images = pipe(["a red circle"], num_inference_steps=2, guidance_scale=3.0, output_type="np").images
    assert images.shape == (1, 32, 32, 3) and calls == [1, 1]  # guidance embedded: no doubled batch
