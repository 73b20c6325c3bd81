import pytest

from ldmscale import samplers
from ldmscale.toy import nets

# UNet calls for `steps` steps, by sampler; every other sampler makes one per step.
NFE = {
    "heun": lambda steps: 2 * steps - 1,  # a second-order correction at every step but the last
    "pndm": lambda steps: steps + 1 if steps > 1 else 1,  # PLMS repeats its second timestep to start the multistep
    "flow_heun": lambda steps: 2 * steps - 1,
}
FLOW_SCHEDULE = {"_class_name": "FlowMatchEulerDiscreteScheduler", "num_train_timesteps": 1000, "shift": 3.0}  # SD3's


@pytest.mark.parametrize("steps", [1, 2, 5, 20])
@pytest.mark.parametrize("name", sorted(samplers.SAMPLERS))
def test_nfe_formula(name, steps):
    expected = NFE.get(name, lambda s: s)(steps)
    schedule = FLOW_SCHEDULE if samplers.get(name).kind == samplers.FLOW else nets.noise_schedule()
    assert samplers.expected_nfe(name, steps, schedule) == expected


def test_the_expected_samplers_are_registered():
    expected = {"ddim", "ddpm", "dpmpp_2m", "euler", "euler_a", "heun", "pndm", "unipc", "deis", "lms", "lcm", "tcd"}
    assert expected <= set(samplers.SAMPLERS)


def test_tcd_passes_its_gamma_to_the_pipeline_call():
    assert samplers.get("tcd").call_options == {"eta": 0.3}
    assert all(not samplers.get(n).call_options for n in samplers.SAMPLERS if n != "tcd")


def test_unknown_sampler_lists_valid_names():
    with pytest.raises(ValueError, match="unknown sampler 'plms'.*ddim.*dpmpp_2m"):
        samplers.get("plms")


def test_scheduler_keeps_the_model_schedule_and_applies_options():
    sched = samplers.scheduler("dpmpp_2m", nets.noise_schedule())
    assert type(sched).__name__ == "DPMSolverMultistepScheduler"
    assert sched.config.algorithm_type == "dpmsolver++"
    assert sched.config.beta_end == nets.noise_schedule()["beta_end"]
