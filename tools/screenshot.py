"""A screenshot of a run's HTML report in headless Chromium (the README's docs/report.png).

The system Chromium (`apt-get install chromium`), driven by Playwright (`pip install playwright`;
no browser is downloaded), opens the page from disk, picks the video if asked and saves the top
of the page: the leaderboard and the video browser. Used by `python -m tools pictures` and by
`scripts/report_screenshot.py`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from PIL import Image

from vis_bench.errors import InputError

#: the browser window the picture shows
WIDTH, HEIGHT = 1300, 1500


def find_chromium(named: str | None = None) -> str:
    """The Chromium binary: `named`, $VIS_BENCH_CHROMIUM, or the first on the PATH."""
    candidates = [named, os.environ.get("VIS_BENCH_CHROMIUM")]
    candidates += [shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")]
    found = next((c for c in candidates if c and Path(c).is_file()), None)
    if found is None:
        raise InputError(
            "no Chromium found: apt-get install chromium, or set VIS_BENCH_CHROMIUM to its path",
            field="--chromium",
        )
    return found


def screenshot(
    report: Path,
    out: Path,
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
    video: str | None = None,
    chromium: str | None = None,
) -> Path:
    """Save the top `height` pixels of `report` as a palette PNG (a third of the size of a
    full-colour one, read the same: the page is mostly flat colour)."""
    from playwright.sync_api import sync_playwright

    executable = find_chromium(chromium)
    sandbox = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    out.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=sandbox)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(Path(report).resolve().as_uri())
        if video is not None:
            page.locator("#video-picker").select_option(video)
        page.screenshot(path=str(out))
        browser.close()
    with Image.open(out) as shot:
        small = shot.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(out, optimize=True)
    return out
