"""The HTML report in a real browser: Debian's headless Chromium driven by selenium.

The browser must start: a missing Chromium is installed by scripts/ensure-chromium.sh, and a browser that
still cannot start fails the test (never skips it). Nothing is compared pixel by pixel.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from dbt_intacct.observe.report import render_report
from tests.unit.test_report import GENERATED, realistic_runs

REPO = Path(__file__).resolve().parents[2]
VIEWPORT = (1366, 768)  # a common laptop screen

pytestmark = pytest.mark.xdist_group("chromium")  # one browser per run, not one per worker


def chromium_binaries() -> tuple[str, str]:
    """Paths of chromium and chromedriver, installing them with scripts/ensure-chromium.sh if missing."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        subprocess.run(["bash", str(REPO / "scripts" / "ensure-chromium.sh")], check=True)
        chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        raise RuntimeError("chromium/chromedriver are not installed; run scripts/ensure-chromium.sh")
    return chromium, driver


@contextmanager
def headless_chromium() -> Iterator[WebDriver]:
    """Debian's Chromium, headless, in a fresh profile, with a laptop-sized viewport and a network log."""
    chromium, driver_path = chromium_binaries()
    with tempfile.TemporaryDirectory(prefix="dbt-intacct-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for argument in (
            "--headless=new",
            "--no-sandbox",  # the tests run as root
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
        ):
            options.add_argument(argument)
        # Every request the page makes shows up in the performance log as Network.requestWillBeSent.
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
        try:
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": VIEWPORT[0], "height": VIEWPORT[1], "deviceScaleFactor": 1, "mobile": False},
            )
            yield driver
        finally:
            driver.quit()


def open_page(driver: WebDriver, path: Path) -> list[str]:
    """Load ``path`` and return the URL of every request the browser made for it, the page included."""
    driver.get_log("performance")  # forget the browser's own start-up pages
    driver.get(path.as_uri())
    driver.execute_script("return document.readyState")
    return requested_urls(driver)


def requested_urls(driver: WebDriver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message: dict[str, Any] = json.loads(entry["message"])["message"]
        if message["method"] in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            params = message["params"]
            urls.append(params["request"]["url"] if "request" in params else params["url"])
    return urls


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with headless_chromium() as driver:
        yield driver


def _visible(driver: WebDriver, css: str) -> list[WebElement]:
    return [element for element in driver.find_elements(By.CSS_SELECTOR, css) if element.is_displayed()]


def test_report_in_chromium_shows_runs_reasons_and_calls_and_fetches_nothing(
    browser: WebDriver, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_report(realistic_runs(), generated_at=GENERATED), encoding="utf-8")

    urls = open_page(browser, page)
    assert urls == [page.as_uri()], f"the report made network requests: {urls}"

    # The runs, newest first, in the overview.
    overview = _visible(browser, "#runs tbody tr")
    assert [row.find_element(By.TAG_NAME, "a").text for row in overview][:2] == [
        "20250306-0600-f5f3",
        "20250305-0600-e4f3",
    ]
    assert len(overview) == 7
    # Fits a laptop screen's width: neither the page nor its tables scroll sideways.
    assert browser.execute_script("return document.documentElement.scrollWidth") <= VIEWPORT[0]
    overflowing = browser.execute_script(
        "return [...document.querySelectorAll('#runs, table.models, table.problems')]"
        ".filter(t => t.offsetParent && t.scrollWidth > t.parentElement.clientWidth).length"
    )
    assert overflowing == 0
    # The inline CSS passed the page's own Content-Security-Policy (a blocked stylesheet is not sticky).
    assert (
        browser.execute_script("return getComputedStyle(document.querySelector('header')).position")
        == "sticky"
    )

    # The newest run is open: its rejected rows and their reasons are on screen.
    newest = browser.find_elements(By.CSS_SELECTOR, "section.run")[0]
    reasons = [cell.text for cell in newest.find_elements(By.CSS_SELECTOR, "table.problems td.message")]
    assert "ENTRIES: the entry does not balance: debits 1200.00 ≠ credits 1150.00" in reasons
    browser.execute_script(
        "arguments[0].scrollIntoView()", newest.find_element(By.CSS_SELECTOR, "table.problems")
    )
    assert newest.find_element(By.CSS_SELECTOR, "table.problems td.message").is_displayed()

    # An API call opens on click and shows its redacted request and Intacct's answer.
    call = newest.find_elements(By.CSS_SELECTOR, "details.call")[2]
    response = call.find_element(By.CSS_SELECTOR, "pre.response")
    assert not response.is_displayed()
    summary = call.find_element(By.TAG_NAME, "summary")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", summary)
    summary.click()
    assert response.is_displayed()
    assert "<errorno>BL34000061</errorno>" in response.text
    assert "<password>***</password>" in call.find_element(By.CSS_SELECTOR, "pre.request").text

    screenshot = tmp_path / "report.png"
    assert browser.save_screenshot(str(screenshot))
    assert png_size(screenshot) == VIEWPORT
    assert screenshot.stat().st_size > 20_000  # a blank page compresses to far less

    # The inline script works: filtering hides the other runs, "problems only" keeps the failing ones.
    browser.execute_script("window.scrollTo(0, 0)")
    search = browser.find_element(By.ID, "filter")
    search.send_keys("adhoc")
    assert [s.get_attribute("id") for s in _visible(browser, "section.run")] == ["run-4"]
    assert len(_visible(browser, "#runs tbody tr")) == 1
    search.clear()
    search.send_keys(" ")  # an input event with an empty query shows everything again
    browser.find_element(By.ID, "problems-only").click()
    assert len(_visible(browser, "section.run")) == 3  # two with rejected rows (one also failed), one error

    assert requested_urls(browser) == [], "clicking around made network requests"
    errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def test_hostile_values_render_as_text_and_run_nothing(browser: WebDriver, tmp_path: Path) -> None:
    runs = realistic_runs()
    newest = runs[-2]  # a run with rejected rows
    bad_rows = tuple(
        replace(
            row,
            row_key="<img src=x onerror=\"document.title='pwned'\">",
            message="<script>document.title='pwned'</script>",
        )
        for row in newest.rows
    )
    page = tmp_path / "hostile.html"
    page.write_text(render_report([replace(newest, rows=bad_rows)], generated_at=GENERATED), encoding="utf-8")
    urls = open_page(browser, page)
    assert urls == [page.as_uri()]
    assert browser.title == "dbt-intacct run report"
    cell = browser.find_element(By.CSS_SELECTOR, "table.problems td.key")
    assert cell.text == "<img src=x onerror=\"document.title='pwned'\">"


class _Pixel(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:
        _Pixel.requests.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_the_network_check_sees_a_page_that_fetches(browser: WebDriver, tmp_path: Path) -> None:
    """The zero-request assertion above can fail: a page with an image from loopback is caught."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pixel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        pixel = f"http://127.0.0.1:{server.server_address[1]}/pixel.png"
        page = tmp_path / "fetches.html"
        page.write_text(f'<!doctype html><title>x</title><img src="{pixel}">', encoding="utf-8")
        urls = open_page(browser, page)
    finally:
        server.shutdown()
        server.server_close()
    assert pixel in urls
    assert "/pixel.png" in _Pixel.requests


def test_at_1280_px_nothing_scrolls_sideways_and_every_count_is_on_screen(
    browser: WebDriver, tmp_path: Path
) -> None:
    # Run ids as the tool makes them, model names as long as projects name them.
    runs = [
        replace(
            detail,
            run=replace(
                detail.run,
                run_id=f"20261205T08254{index}Z-1a2b3c4d",
                models=tuple(replace(m, name=f"{m.name}_from_the_crm_nightly") for m in detail.run.models),
            ),
        )
        for index, detail in enumerate(realistic_runs())
    ]
    page = tmp_path / "report.html"
    page.write_text(render_report(runs, generated_at=GENERATED), encoding="utf-8")
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        open_page(browser, page)
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 1280
        overflowing = browser.execute_script(
            "return [...document.querySelectorAll('table, .calls')]"
            ".filter(t => t.offsetParent && t.scrollWidth > t.parentElement.clientWidth)"
            ".map(t => t.id || t.className)"
        )
        assert overflowing == []
        newest = browser.find_elements(By.CSS_SELECTOR, "section.run")[0]
        for table in (
            browser.find_element(By.ID, "runs"),
            newest.find_element(By.CSS_SELECTOR, "table.models"),
        ):
            headers = {h.text: h for h in table.find_elements(By.TAG_NAME, "th")}
            for name in ("Failed", "Pending", "API txns"):
                right = browser.execute_script(
                    "return arguments[0].getBoundingClientRect().right", headers[name]
                )
                assert headers[name].is_displayed() and right <= 1280, (name, right)

        # The run stopped by a refused login says why, in the overview and on its own line.
        login = next(
            row
            for row in browser.find_elements(By.CSS_SELECTOR, "#runs tbody tr")
            if row.find_element(By.TAG_NAME, "a").text == "20261205T082546Z-1a2b3c4d"
        )
        assert (
            "Intacct refused the login (XL03000006)" in login.find_element(By.CSS_SELECTOR, "td.reason").text
        )
        section = browser.find_element(By.ID, login.get_attribute("data-run"))
        assert "Intacct refused the login" in section.find_element(By.CSS_SELECTOR, "summary .reason").text

        # API calls name their model and functions.
        call = newest.find_elements(By.CSS_SELECTOR, "details.call summary")[2]
        assert "intacct_customers_from_the_crm_nightly" in call.text and "create CUSTOMER" in call.text
    finally:
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": VIEWPORT[0], "height": VIEWPORT[1], "deviceScaleFactor": 1, "mobile": False},
        )
