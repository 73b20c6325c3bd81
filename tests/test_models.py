import shutil

import pytest

from ldmscale import integrity, models


def test_assembled_pipeline_is_valid_and_round_trips(tiny_pipeline_dir, tiny_pipeline):
    components = models.validate_pipeline_dir(tiny_pipeline_dir)
    assert {"unet", "vae", "text_encoder", "tokenizer", "scheduler"} <= set(components)
    assert type(tiny_pipeline).__name__ == "StableDiffusionPipeline"
    integrity.verify_checksums(tiny_pipeline_dir)


def test_copy_local_records_checksums_that_catch_changes(tiny_pipeline_dir, tmp_path):
    models.copy_local(tiny_pipeline_dir, tmp_path / "copy")
    integrity.verify_checksums(tmp_path / "copy")
    (tmp_path / "copy" / "unet" / "config.json").write_text("{}")
    with pytest.raises(ValueError, match="unet/config.json"):
        integrity.verify_checksums(tmp_path / "copy")


@pytest.fixture
def broken(tiny_pipeline_dir, tmp_path):
    target = tmp_path / "broken"
    shutil.copytree(tiny_pipeline_dir, target)
    return target


def test_missing_component_is_named(broken):
    shutil.rmtree(broken / "vae")
    with pytest.raises(ValueError, match="component 'vae'"):
        models.validate_pipeline_dir(broken)


def test_pickle_weights_are_refused(broken):
    (broken / "unet" / "diffusion_pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(ValueError, match="pickle weight files are refused.*diffusion_pytorch_model.bin"):
        models.validate_pipeline_dir(broken)


def test_truncated_safetensors_is_named(broken):
    weights = broken / "unet" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ValueError, match="diffusion_pytorch_model.safetensors: corrupt or truncated"):
        models.validate_pipeline_dir(broken)


def test_not_a_pipeline(tmp_path):
    with pytest.raises(ValueError, match="no model_index.json"):
        models.validate_pipeline_dir(tmp_path)
