"""Sample-size advice: a warning that names the field where FID or KID runs on too few images, or refinement starts on
too few; none where the sizes are enough."""

from helpers import snakemake, tiny_config

from ldmscale import sample_size


def config(num_images: int, metrics: list[str], initial: int | None = None) -> dict:
    task = {"num_images": num_images, "metrics": metrics}
    return {"tasks": {"coco": task}, "refine": None if initial is None else {"initial_images": initial}}


def test_fid_on_fewer_than_2048_images_is_warned_about_naming_the_field():
    (line,) = sample_size.warnings(config(10, ["fid", "clip_score"]))
    assert line.startswith("tasks.coco.num_images: 10 images for fid: FID is biased upwards by about k/N")
    assert sample_size.warnings(config(2048, ["fid", "kid"])) == []
    assert sample_size.warnings(config(10, ["clip_score", "attr_acc"])) == []  # per-image metrics: their intervals say


def test_refinement_that_starts_on_too_few_images_is_warned_about():
    (line,) = sample_size.warnings(config(128, ["attr_acc"], initial=10))
    assert line.startswith("refine.initial_images: 10 images per configuration in round 0")
    assert sample_size.warnings(config(128, ["attr_acc"], initial=32)) == []


def test_the_warning_reaches_the_user_and_the_run_goes_on(tmp_path):
    changed = tiny_config()
    changed["refine"] = {"initial_images": 4, "tolerance": {"attr_acc": 0.02, "kid_toy": 2000}}
    changed["tasks"]["shapes"]["num_images"] = 8
    proc = snakemake(tmp_path, changed, "--dry-run")
    assert "ldmscale: warning: refine.initial_images: 4 images per configuration in round 0" in proc.stderr
