"""Headless Chromium for page tests: one place that finds it, starts it and stops it.

Chromium and chromedriver are Debian packages (``tests/setup_system.sh`` installs them for
``make test``); a laptop without them skips with the reason, CI fails (``need``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import need

CHROMIUM = os.environ.get("EARFUL_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("EARFUL_CHROMEDRIVER", "/usr/bin/chromedriver")


@contextmanager
def headless_chromium(window: str) -> Iterator[Any]:
    """A Selenium driver of headless Chromium with a ``window`` such as ``"1280,900"``."""
    need(
        Path(CHROMIUM).exists() or shutil.which("chromium") is not None,
        "Chromium is not installed (Debian: apt-get install chromium chromium-driver)",
    )
    need(Path(CHROMEDRIVER).exists(), "chromedriver is not installed (chromium-driver)")
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager go online
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        f"--window-size={window}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
