"""A page opened from disk in the system Chromium, driven by Playwright, with what went wrong.

`open_page` launches the given Chromium headless (no Playwright browser download), loads the
file and returns the page, the console errors and page errors it reported, and every request it
made. The browser closes with the Playwright context that owns it.
"""

from __future__ import annotations

import os
from pathlib import Path


def open_page(playwright, executable: str, html: Path, width: int = 1400, height: int = 1000):
    """(page, problems, requests) of `html` opened in Chromium at `executable`."""
    # a root user (containers, CI) cannot use Chromium's sandbox
    args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    browser = playwright.chromium.launch(executable_path=executable, headless=True, args=args)
    page = browser.new_page(viewport={"width": width, "height": height})
    problems: list[str] = []
    requests: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(Path(html).resolve().as_uri())
    page.wait_for_load_state("load")
    return page, problems, requests
