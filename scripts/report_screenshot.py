"""A screenshot of a run's HTML report in headless Chromium.

    python scripts/report_screenshot.py RUN_DIR/report.html OUT.png [--height 1500]
        [--video ID] [--chromium PATH]

Opens the page from disk in the system Chromium through Playwright (`apt-get install chromium`,
`pip install playwright`; no browser is downloaded), picks the video if asked, and saves the top
of the page: the leaderboard and the video browser (tools/screenshot.py). The
picture docs/report.png is made by `python -m tools pictures`, which draws the committed default run
and records where the picture came from.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's tools/

from tools.screenshot import HEIGHT, WIDTH, screenshot  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=WIDTH)
    parser.add_argument("--height", type=int, default=HEIGHT)
    parser.add_argument("--video", default=None, help="the video to show (default: the worst)")
    parser.add_argument("--chromium", default=None, help="Chromium binary (default: on PATH)")
    args = parser.parse_args()
    out = screenshot(
        args.report,
        args.out,
        width=args.width,
        height=args.height,
        video=args.video,
        chromium=args.chromium,
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
