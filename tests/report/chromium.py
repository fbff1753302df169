"""Headless Chromium through Selenium, using Debian's chromium and chromedriver.

The driver path is given explicitly so Selenium Manager never downloads anything; the flags keep
Chromium from contacting anything (background networking, component updates, sync, QUIC).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
AVAILABLE = Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()

FLAGS = [
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-default-apps",
    "--disable-extensions",
    "--window-size=1280,1600",
]


def start():  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in FLAGS:
        opts.add_argument(f)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        opts.add_argument("--no-sandbox")
    profile = tempfile.mkdtemp(prefix="ipowner-chromium-")
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver._ipowner_profile = profile  # removed by stop()
    return driver


def stop(driver) -> None:  # type: ignore[no-untyped-def]
    profile = getattr(driver, "_ipowner_profile", None)
    driver.quit()
    if profile:
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(driver) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["message"] for e in driver.get_log("browser") if e.get("level") in ("SEVERE", "WARNING")]
