import pytest

from ldmscale import samplers
from ldmscale.toy import nets


@pytest.mark.parametrize("steps", [1, 2, 5, 20])
@pytest.mark.parametrize("name", sorted(samplers.SAMPLERS))
def test_nfe_formula(name, steps):
    expected = 2 * steps - 1 if name == "heun" else steps
    assert samplers.expected_nfe(name, steps, nets.noise_schedule()) == expected


def test_unknown_sampler_lists_valid_names():
    with pytest.raises(ValueError, match="unknown sampler 'plms'.*ddim.*dpmpp_2m"):
        samplers.get("plms")


def test_scheduler_keeps_the_model_schedule_and_applies_options():
    sched = samplers.scheduler("dpmpp_2m", nets.noise_schedule())
    assert type(sched).__name__ == "DPMSolverMultistepScheduler"
    assert sched.config.algorithm_type == "dpmsolver++"
    assert sched.config.beta_end == nets.noise_schedule()["beta_end"]
