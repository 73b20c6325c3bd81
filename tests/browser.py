"""Open a chart's HTML in headless Chromium with no network and save a screenshot: `python tests/browser.py IN.html OUT.png`.

The page must draw from what it holds (the Vega libraries inlined). Chromium runs in a fresh network namespace
(`unshare --net`, which needs root or user namespaces) where there is no network at all; where that is unavailable,
every host name resolves to nothing instead. Chromium's own background traffic (component updates, sync, QUIC,
first-run fetches) is switched off, and each run gets a fresh profile directory, so that nothing from an earlier
run (cache, service workers) can draw the page.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Headless, as root in a container, and quiet on the network: no QUIC, no first-run, update, sync or other
# background requests; host names resolve to nothing.
OFFLINE_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND",
]  # fmt: skip


def chromium() -> str | None:
    """Return the Chromium executable on PATH, or None."""
    return next(
        (path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))), None
    )


def _isolated() -> list[str]:
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True) if shutil.which("unshare") else None
    return ["unshare", "--net"] if probe is not None and probe.returncode == 0 else []


def screenshot(html: Path, png: Path, size: tuple[int, int] = (1400, 1000)) -> None:
    """Render `html` offline in headless Chromium and write the screenshot to `png`."""
    browser = chromium()
    if browser is None:
        raise RuntimeError("no chromium on PATH (Debian: apt-get install -y chromium)")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = [*_isolated(), browser, *OFFLINE_FLAGS, f"--user-data-dir={profile}", "--hide-scrollbars",
               f"--window-size={size[0]},{size[1]}", "--virtual-time-budget=10000",
               f"--screenshot={Path(png).resolve()}", Path(html).resolve().as_uri()]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not Path(png).is_file():
        raise RuntimeError(f"chromium failed ({proc.returncode}):\n{proc.stderr[-2000:]}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"wrote {sys.argv[2]}")
