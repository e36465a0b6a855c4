"""Headless Chromium (Debian's `chromium` and `chromium-driver`) driven by selenium, for the
fleet page: phone and desktop sizes by device-metrics emulation (a headless window cannot be
narrower than 500 px), full-page screenshots for review.

    with chromium() as driver:
        use_size(driver, PHONE)
        driver.get(url)
        full_page_screenshot(driver, artifacts_dir / "fleet" / "phone-list.png")
"""

from __future__ import annotations

import base64
import contextlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# This machine's rules for a browser in tests: no sandbox (root, no user namespaces), no GPU,
# nothing fetched from outside, a fresh profile each run.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--lang=id")


@dataclass(frozen=True)
class Size:
    name: str
    width: int
    height: int
    scale: float
    mobile: bool


PHONE = Size("phone", 390, 844, 2.0, True)          # a common Android/iPhone width in CSS pixels
DESKTOP = Size("desktop", 1366, 900, 1.0, False)


@contextlib.contextmanager
def chromium() -> Iterator["object"]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("chromium and chromium-driver are missing: run tests/setup/system-deps.sh as root")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="adm-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}", "--window-size=1366,900"):
        options.add_argument(flag)
    # The Service's path: selenium must not go looking for (or downloading) a driver itself.
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def use_size(driver, size: Size) -> None:
    # No scrollbar: a full-page capture lays the page out again without one, and would cut
    # the right edge of a page laid out with it.
    driver.execute_cdp_cmd("Emulation.setScrollbarsHidden", {"hidden": True})
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": size.width, "height": size.height, "deviceScaleFactor": size.scale, "mobile": size.mobile})


def full_page_screenshot(driver, path: Path) -> Path:
    """The whole page, not only the viewport, at the emulated scale."""
    path.parent.mkdir(parents=True, exist_ok=True)
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    content = metrics["cssContentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": content["width"], "height": content["height"], "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def page_width(driver) -> tuple[int, int]:
    """(the page's scroll width, the viewport's width): equal when nothing overflows sideways."""
    return driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")


def click_and_wait(driver, element, timeout: float = 10.0) -> None:
    """Click a link or a submit button and wait for the next page to replace this one."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old_page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, timeout).until(expected_conditions.staleness_of(old_page))
