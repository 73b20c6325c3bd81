"""The default frontier chart of a finished run, as a browser draws it: headless Chromium, no network."""

import os
import re

import browser
import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.workflow
CHART = "results/test/frontier/attr_acc__normalised_cost__winners.html"  # the chart README and `make screenshot` open


@pytest.fixture(scope="session")  # before tiny_run: no workflow run only to skip
def chromium() -> str:
    """Return the Chromium executable; skip without one, except in CI, where .ci/run installs it and it must run."""
    path = browser.chromium()
    if path is None:
        missing = "no chromium on PATH (Debian: apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {missing}: .ci/run installs it before `make test`; the browser test must run")
        pytest.skip(missing)
    return path


def ink(png) -> dict:
    """Return what a screenshot shows: distinct colours, the share of non-white pixels, and pixels in colour."""
    pixels = np.asarray(Image.open(png).convert("RGB")).astype(int)
    return {
        "colours": len(np.unique(pixels.reshape(-1, 3), axis=0)),
        "inked": float((pixels.min(-1) < 240).mean()),
        "hued": int((pixels.max(-1) - pixels.min(-1) > 40).sum()),  # the models' palette; axes and text are grey
    }


def drew(seen: dict) -> bool:
    return seen["colours"] > 100 and seen["inked"] > 0.01 and seen["hued"] > 200


def test_default_chart_draws_offline_in_headless_chromium(chromium, tiny_run, tmp_path):
    browser.screenshot(tiny_run / CHART, tmp_path / "chart.png", size=(1000, 700))
    seen = ink(tmp_path / "chart.png")
    assert drew(seen), f"{CHART} did not draw in Chromium: {seen}"
    # The control: the same page without its (inlined) scripts is blank by the same measure.
    html = (tiny_run / CHART).read_text()
    (tmp_path / "inert.html").write_text(re.sub(r"<script\b.*?</script>", "", html, flags=re.S))
    browser.screenshot(tmp_path / "inert.html", tmp_path / "inert.png", size=(1000, 700))
    assert not drew(ink(tmp_path / "inert.png")), ink(tmp_path / "inert.png")
