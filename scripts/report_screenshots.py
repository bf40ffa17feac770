"""Take the screenshots of the HTML report that docs/reports.md shows.

Writes a journal from the example flows' scenario calls (``ivr test --journal``) and adds a short
load test's calls to it (``ivr loadtest --journal``), renders ``ivr report --format html`` of it,
and saves parts of the page as seen in headless Chromium, 1200 px wide, into docs/images/:

    .venv/bin/python scripts/report_screenshots.py [--out docs/images] [--seconds 20]

Needs Debian's ``chromium`` and ``chromium-driver`` (scripts/setup installs them) and Selenium.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from selenium import webdriver

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 1200
"""The screenshots' width in pixels: a docs page shows it without scaling much."""
SHOTS = {
    "report-top.png": ["body > h1", "#chart-calls-per-hour"],
    "report-queues.png": ["#chart-service-level", "#chart-wait-times"],
    "report-funnel.png": ["#chart-funnel-acme_bank"],
}
"""Each image and the elements it shows: from the top of the first to the bottom of the last."""


def ivr(*args: str, cwd: Path = ROOT) -> None:
    """Run an ``ivr`` command of this checkout in ``cwd``; its output is shown only if it fails."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "ivr.cli", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    if run.returncode != 0:
        sys.exit(f"ivr {' '.join(args)} failed:\n{run.stderr}")


def browser() -> webdriver.Chrome:
    """Headless Chromium at the screenshots' width, with no network to reach."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        sys.exit("no chromium and chromedriver (Debian: apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # may run as root, where Chromium's sandbox refuses to start
        "--hide-scrollbars",
        "--disable-dev-shm-usage",  # containers give /dev/shm too little room for Chromium
        f"--window-size={WIDTH},1000",
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(driver))


def shoot(driver: webdriver.Chrome, selectors: list[str]) -> bytes:
    """A PNG of the full width, from the top of the first element to the bottom of the last."""
    top, bottom = driver.execute_script(
        "const boxes = arguments[0].map(s => document.querySelector(s).getBoundingClientRect());"
        "return [boxes[0].top + scrollY - 16, boxes[boxes.length - 1].bottom + scrollY + 16];",
        selectors,
    )
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": max(top, 0), "width": WIDTH, "height": bottom - top, "scale": 1},
        },
    )
    return base64.b64decode(shot["data"])


def main() -> None:
    """Write the journal, the report and the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--seconds", default="20", help="seconds of load test (default 20)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ivr-screenshots-") as tmp:
        # The page's title names the journal as given: a plain name reads better than a tmp path.
        journal, page = f"{tmp}/example.sqlite", Path(tmp) / "report.html"
        ivr("test", "--journal", journal, "flows/")
        ivr(
            *["loadtest", "flows/", "--cps", "5", "--duration", args.seconds, "--seed", "1"],
            *["--call-limit", "15", "--skip-case", "filler", "--controller-log", "quiet"],
            *["--prompt-cache", f"{tmp}/prompts", "--journal", journal],
        )
        ivr(
            *["report", "--journal", "example.sqlite", "--timezone", "UTC", "--interval", "60m"],
            *["--format", "html", "--output", str(page)],
            cwd=Path(tmp),
        )
        driver = browser()
        try:
            driver.get(page.as_uri())
            args.out.mkdir(parents=True, exist_ok=True)
            for name, selectors in SHOTS.items():
                image = shoot(driver, selectors)
                (args.out / name).write_bytes(image)
                print(f"{args.out / name}: {len(image) // 1024} KB")
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
