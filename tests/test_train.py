"""Tiny training runs: losses fall and what is saved loads back."""

import json

import torch

from ldmscale.toy import data, nets, train

RECIPE = {
    "seed": 0,
    "steps": 40,
    "batch": 16,
    "lr": 2e-3,
    "ema_decay": 0.9,
    "caption_dropout": 0.1,
    "train_images": 256,
}


def test_parts_train_and_the_unet_loss_falls(tmp_path):
    torch.set_num_threads(1)
    text = train.train_text_encoder(tmp_path / "text", seed=0, steps=60, batch=32, lr=3e-3)
    assert text["heldout_accuracy"]["colour_1"] > 0.5  # chance is 1/6
    vae = train.train_autoencoder(tmp_path / "vae", seed=0, image_size=32, steps=5, batch=8, lr=2e-3, kl_weight=1e-6)
    assert vae["scaling_factor"] > 0
    record = train.train_unet(tmp_path / "unet", 8, tmp_path / "vae", tmp_path / "text", RECIPE)
    assert record["loss_last"] < record["loss_first"]
    assert record["train_flops"] == record["train_step_flops"] * RECIPE["steps"] > 0
    saved = json.loads((tmp_path / "unet" / "config.json").read_text())
    assert saved["block_out_channels"] == [8, 16, 32]


def test_scorer_round_trips(tmp_path):
    record = train.train_scorer(tmp_path / "scorer", seed=0, image_size=32, steps=3, batch=8, lr=1e-3)
    loaded = nets.load_scorer(tmp_path / "scorer")
    images = torch.zeros(2, 3, 32, 32, dtype=torch.uint8)
    assert loaded.features(images).shape == (2, loaded.num_features)
    assert set(record["heldout_accuracy"]) == {*data.ATTRIBUTES, "all"}
