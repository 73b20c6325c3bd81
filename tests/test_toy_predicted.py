"""A toy size nobody trained (predict: true): the toy pipeline with an untrained UNet of its width, costed like any."""

import torch
from diffusers import UNet2DConditionModel

from ldmscale import cost, integrity, models
from ldmscale.toy import nets, predicted


def test_an_untrained_size_is_the_toy_pipeline_at_initialisation_and_counts_as_its_width(
    tmp_path, tiny_parts, tiny_pipeline_dir
):
    out = tmp_path / "c16"
    predicted.assemble(out, 16, "text_to_image", tiny_parts["vae"], tiny_parts["text"], seed=0)
    integrity.verify_checksums(out)
    assert not (tmp_path / ".c16.unet").exists()  # the scratch UNet is gone
    torch.manual_seed(0)
    fresh = UNet2DConditionModel.from_config(nets.unet_config(16, 8))
    unet = models.load_pipeline(out).unet
    assert all(torch.equal(a, b) for a, b in zip(unet.state_dict().values(), fresh.state_dict().values()))
    counted = cost.count_flops(out)
    assert counted["unet"]["params"] == sum(p.numel() for p in fresh.parameters())
    width_8 = cost.count_flops(tiny_pipeline_dir)["unet"]["flops_b1"]
    assert 3 * width_8 < counted["unet"]["flops_b1"] < 5 * width_8  # UNet FLOPs grow about as width²
