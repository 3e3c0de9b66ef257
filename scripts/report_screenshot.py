"""Regenerate docs/report.png: the report of realistic runs, as headless Chromium shows it at laptop width.

Uses the same runs and browser set-up as tests/functional/test_report_browser.py:
    .venv/bin/python scripts/report_screenshot.py [OUTPUT.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from selenium.webdriver.common.by import By  # noqa: E402

from dbt_intacct.observe.report import render_report  # noqa: E402
from tests.functional.test_report_browser import VIEWPORT, headless_chromium, open_page  # noqa: E402
from tests.unit.test_report import GENERATED, realistic_runs  # noqa: E402

# Tall enough for the overview, the newest run's models, its rejected rows and one open API call.
HEIGHT = 1500


def main(output: Path) -> None:
    with tempfile.TemporaryDirectory() as folder, headless_chromium() as browser:
        page = Path(folder) / "report.html"
        page.write_text(render_report(realistic_runs(), generated_at=GENERATED), encoding="utf-8")
        requests = open_page(browser, page)
        if requests != [page.as_uri()]:
            raise SystemExit(f"the report made network requests: {requests}")
        newest = browser.find_elements(By.CSS_SELECTOR, "section.run")[0]
        newest.find_elements(By.CSS_SELECTOR, "details.call summary")[2].click()
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": VIEWPORT[0], "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
        )
        browser.execute_script("window.scrollTo(0, 0)")
        browser.save_screenshot(str(output))
    print(f"wrote {output}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "report.png")
