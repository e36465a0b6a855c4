"""The fleet page in a real browser (headless Chromium via selenium), at a phone's width and
a desktop's: log in through the form, read the fleet, filter it, open a kiosk, switch the
language, log out. Screenshots go to artifacts/fleet/ for review."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.fixtures.dinas_server import reference_server  # noqa: F401
from tests.fixtures.fleet_page import populate_fleet
from tests.web.browser import DESKTOP, PHONE, chromium, click_and_wait, full_page_screenshot, page_width, use_size

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def driver():
    with chromium() as browser:
        yield browser


def _texts(driver, selector: str) -> list[str]:
    return [element.text for element in driver.find_elements(By.CSS_SELECTOR, selector)]


def _card(driver, kiosk_id: str):
    return driver.find_element(By.ID, f"kiosk-{kiosk_id}")


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=lambda s: s.name)
def test_fleet_page_in_chromium(reference_server, driver, artifacts_dir, size):  # noqa: F811
    fleet = populate_fleet(reference_server)
    base = reference_server.url.removesuffix("/api/v1")
    shots = artifacts_dir / "fleet"
    driver.delete_all_cookies()
    use_size(driver, size)

    driver.get(f"{base}/admin/")
    assert driver.current_url.endswith("/admin/login")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "id"
    assert driver.execute_script("return document.querySelector('meta[name=viewport]').content") == \
        "width=device-width, initial-scale=1"
    full_page_screenshot(driver, shots / f"{size.name}-id-login.png")
    driver.find_element(By.ID, "token").send_keys("not-the-token")
    click_and_wait(driver, driver.find_element(By.ID, "login"))
    assert "Token salah" in driver.find_element(By.ID, "login-error").text
    full_page_screenshot(driver, shots / f"{size.name}-id-login-wrong.png")
    driver.find_element(By.ID, "token").send_keys(reference_server.admin_token)
    click_and_wait(driver, driver.find_element(By.ID, "login"))
    assert driver.current_url == f"{base}/admin/", driver.find_element(By.TAG_NAME, "main").text
    assert reference_server.admin_token not in driver.current_url
    assert reference_server.admin_token not in driver.page_source

    # Every kiosk, those needing someone first; nothing wider than the screen.
    cards = driver.find_elements(By.CSS_SELECTOR, "#kiosks > li")
    assert len(cards) == len(fleet)
    order = [card.get_attribute("data-kiosk") for card in cards]
    offline = [k for k, v in fleet.items() if v["expect"] == "offline"]
    needs = [k for k, v in fleet.items() if v["expect"] == "needs"]
    assert order[:len(offline)] == offline and sorted(order[len(offline):len(offline) + len(needs)]) == needs
    scroll_width, viewport = page_width(driver)
    assert scroll_width <= viewport, f"the page is {scroll_width} px wide in a {viewport} px screen"
    full_page_screenshot(driver, shots / f"{size.name}-id-fleet.png")

    ok = next(k for k, v in fleet.items() if v["expect"] == "ok")
    card = _card(driver, ok)
    assert "Baik" in card.find_element(By.CSS_SELECTOR, ".status").text
    assert "Daring" in card.find_element(By.CSS_SELECTOR, ".seen").text
    assert card.find_element(By.CSS_SELECTOR, ".printed").text == "17"
    assert card.find_element(By.CSS_SELECTOR, ".failed").text == "2"
    assert card.find_element(By.CSS_SELECTOR, ".devices").text == \
        "Printer A4, Printer kartu, Printer struk, Pemindai: siap"
    assert card.find_element(By.CSS_SELECTOR, ".config").text == "versi 3: diterapkan"
    stale = _card(driver, needs[4]).find_element(By.CSS_SELECTOR, ".config .chip")
    assert stale.text == "versi 3, belum ada laporan; sudah kedaluwarsa, terbitkan yang baru"
    assert "tone-warn" in stale.get_attribute("class")
    assert [chip.text for chip in _card(driver, needs[2]).find_elements(By.CSS_SELECTOR, ".devices .chip")] == \
        ["Printer struk: perlu ditangani", "Printer A4, Printer kartu, Pemindai: siap"]   # the worst first
    assert "[[" not in driver.page_source
    ribbon_out = _card(driver, needs[1])
    assert "Pita: habis" in ribbon_out.find_element(By.CSS_SELECTOR, ".supplies").text
    assert "tone-bad" in ribbon_out.find_element(By.CSS_SELECTOR, ".supplies .chip").get_attribute("class")
    receipt_out = _card(driver, needs[2])
    assert "Kertas struk: habis" in receipt_out.text and "14 menunggu" in receipt_out.text
    assert "Luring" in _card(driver, offline[0]).find_element(By.CSS_SELECTOR, ".status").text

    # Filters: needs action, offline, a group.
    click_and_wait(driver, driver.find_element(By.ID, "filter-needs"))
    assert sorted(_texts(driver, "#kiosks .kiosk-id")) == needs
    full_page_screenshot(driver, shots / f"{size.name}-id-fleet-needs.png")
    click_and_wait(driver, driver.find_element(By.ID, "filter-offline"))
    shown = _texts(driver, "#kiosks .kiosk-id")
    assert set(offline) <= set(shown) and not set(needs) & set(shown)
    click_and_wait(driver, driver.find_element(By.ID, "filter-all"))
    click_and_wait(driver, driver.find_element(By.LINK_TEXT, "kota-cimahi"))
    assert all(k.startswith("ADM-CMH") for k in _texts(driver, "#kiosks .kiosk-id"))
    full_page_screenshot(driver, shots / f"{size.name}-id-fleet-group.png")

    # One kiosk: its devices, its heartbeats and the 30-day chart (an SVG the browser drew).
    driver.get(f"{base}/admin/kiosks/{ok}")
    assert driver.find_element(By.ID, "kiosk-title").text == ok
    chart = driver.find_element(By.CSS_SELECTOR, "img.chart")
    assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", chart) > 0
    assert len(driver.find_elements(By.CSS_SELECTOR, "table.history tbody tr")) == 30
    scroll_width, viewport = page_width(driver)
    assert scroll_width <= viewport
    full_page_screenshot(driver, shots / f"{size.name}-id-kiosk.png")

    # English, kept across pages; then log out, and the pages are closed again.
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, ".languages a[hreflang=en]"))
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert "Printed today" in driver.page_source
    full_page_screenshot(driver, shots / f"{size.name}-en-kiosk.png")
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, ".back a"))
    assert "Needs action" in driver.find_element(By.ID, "filter-needs").text
    full_page_screenshot(driver, shots / f"{size.name}-en-fleet.png")
    click_and_wait(driver, driver.find_element(By.ID, "logout"))
    assert driver.current_url.endswith("/admin/login")
    driver.get(f"{base}/admin/kiosks/{ok}")
    assert driver.current_url.endswith("/admin/login")
