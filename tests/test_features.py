"""Feature extractors from local safetensors files: parity with torch-fidelity, CLIP by hand, the converter."""

import io

import numpy as np
import pytest
import torch

from ldmscale import features, paths

IMAGES = np.random.default_rng(0).integers(0, 256, (3, 40, 48, 3), dtype=np.uint8)


def test_inception_tf1_gives_torch_fidelitys_own_features(inception_weights):
    from safetensors.torch import load_file
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    buffer = io.BytesIO()
    torch.save(load_file(str(inception_weights)), buffer)
    buffer.seek(0)
    reference = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], buffer)
    with torch.no_grad():
        theirs = reference(torch.from_numpy(IMAGES).permute(0, 3, 1, 2))[0].numpy()
    ours = features.inception_features(features.load_inception(inception_weights, "tf1"), [IMAGES])
    assert ours.shape == (3, 2048) and theirs.std() > 0.01
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    antialiased = features.inception_features(features.load_inception(inception_weights, "antialias"), [IMAGES])
    assert np.abs(antialiased - theirs).max() > 1e-3  # the other resize mode really is another


def test_converter_writes_safetensors_checks_the_name_hash_and_loads(inception_weights, tmp_path):
    from safetensors.torch import load_file

    state = load_file(str(inception_weights))
    pth = tmp_path / "weights-inception-2015-12-05.pth"
    torch.save(state, pth)
    digest = features.convert_inception(pth, tmp_path / "inception.safetensors")
    assert len(digest) == 64
    converted = load_file(str(tmp_path / "inception.safetensors"))
    assert all(torch.equal(converted[k], v) for k, v in state.items())
    misnamed = tmp_path / "weights-inception-2015-12-05-00000000.pth"
    misnamed.write_bytes(pth.read_bytes())
    with pytest.raises(ValueError, match="does not start with 00000000"):
        features.convert_inception(misnamed, tmp_path / "other.safetensors")


def test_clip_embeddings_are_the_models_own_normalised_cosines(tiny_clip):
    model, preprocess, tokenizer = features.load_clip(
        tiny_clip["model"], tiny_clip["pretrained"], tiny_clip["model_config"]
    )
    prompts = ["a red cube left of a blue ball", "two green squares", "nothing"]
    out = features.extract("clip", {"clip": tiny_clip, "batch_size": 2}, [IMAGES[:2], IMAGES[2:]], prompts, "cpu")
    from PIL import Image

    with torch.no_grad():  # by hand: the model's image and text towers, then the cosine
        image = model.encode_image(torch.stack([preprocess(Image.fromarray(x)) for x in IMAGES]))
        text = model.encode_text(tokenizer(prompts))
    cos = torch.nn.functional.cosine_similarity(image, text).numpy()
    np.testing.assert_allclose((out["images"] * out["texts"]).sum(1), cos, rtol=1e-5, atol=1e-6)
    from ldmscale import metrics

    np.testing.assert_allclose(metrics.clip_scores(out["images"], out["texts"]), 100 * np.clip(cos, 0, None), atol=1e-4)


def test_saved_features_round_trip_with_metadata(tmp_path):
    arrays = {"images": np.arange(6, dtype=np.float32).reshape(3, 2)}
    features.save(tmp_path / "f.safetensors", arrays, {"extractor": "inception-tf1", "n": "3"})
    loaded, meta = features.load(tmp_path / "f.safetensors")
    assert np.array_equal(loaded["images"], arrays["images"]) and meta == {"extractor": "inception-tf1", "n": "3"}


def test_extractor_keys_name_the_resize_mode_and_model():
    options = {"inception": {"resize": "tf1"}, "clip": {"model": "ViT-L-14-336-quickgelu"}}
    assert paths.extractor_key("inception", options) == "inception-tf1"
    assert paths.extractor_key("clip", options) == "clip-ViT-L-14-336-quickgelu"
    with pytest.raises(ValueError, match="unknown Inception resize mode 'bilinear'"):
        features.load_inception("unused.safetensors", "bilinear")
