"""A screenshot of a run's HTML report in headless Chromium (the README's docs/report.png).

    python scripts/report_screenshot.py RUN_DIR/report.html docs/report.png [--height 1150]
        [--video ID] [--chromium PATH]

Opens the page from disk in the system Chromium through Playwright (`apt-get install chromium`,
`pip install playwright`; no browser is downloaded), picks the video if asked, and saves the top
of the page: the leaderboard and the video browser.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=1300)
    parser.add_argument("--height", type=int, default=1150)
    parser.add_argument("--video", default=None, help="the video to show (default: the worst)")
    parser.add_argument("--chromium", default=shutil.which("chromium"))
    args = parser.parse_args()
    if not args.chromium:
        raise SystemExit("no Chromium found: apt-get install chromium, or pass --chromium PATH")
    from playwright.sync_api import sync_playwright

    sandbox = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=sandbox)
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.goto(args.report.resolve().as_uri())
        if args.video is not None:
            page.locator("#video-picker").select_option(args.video)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out))
        browser.close()
    # a palette PNG is a third of the size and reads the same (the page is mostly flat colour)
    with Image.open(args.out) as shot:
        small = shot.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
