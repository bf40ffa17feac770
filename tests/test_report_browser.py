"""The HTML report in a real headless Chromium with its network cut off: what a reader sees.

Chromium is driven through Selenium and Debian's ``chromedriver`` (packages ``chromium`` and
``chromium-driver``, which scripts/setup installs); without them these tests are skipped with the
reason. The journal is the hand-built one of test_report_figures (7 calls, 4 offered).
"""

import base64
import re
import shutil

import pytest
from test_report_figures import calls

from ivr.cli import main
from ivr.store import SqliteJournal

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.print_page_options import PrintOptions  # noqa: E402

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="no chromium and chromedriver (Debian: apt-get install chromium chromium-driver)",
)
A4_CONTENT_PX = 703
"""The width of an A4 page within the page's 12 mm margins, in CSS pixels (186 mm at 96 dpi)."""
CHARTS = {
    "chart-calls-per-hour": {"answered", "abandoned", "self_served", "ivr_hangup"},
    "chart-outcomes": {"answered", "abandoned", "self_served", "ivr_hangup"},
    "chart-service-level": {"service level"},
    "chart-wait-times": {"answered", "abandoned", "other exits"},
    "chart-funnel-t": {"entries", "hang-ups", "zero-outs"},
}
"""Every chart of the page and the names its legend shows."""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    journal = folder / "journal.sqlite"
    store = SqliteJournal(journal)
    store.write(calls())
    store.close()
    target = folder / "report.html"
    args = ["report", "--journal", str(journal), "--timezone", "UTC", "--format", "html"]
    assert main([*args, "--output", str(target)]) == 0
    return target


@pytest.fixture(scope="module")
def browser(page):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # the tests may run as root, where Chromium's sandbox refuses to start
        "--disable-gpu",
        "--window-size=1200,900",
        "--hide-scrollbars",
        "--disable-dev-shm-usage",  # containers give /dev/shm too little room for Chromium
        # Nothing may leave the machine: no name resolves, and every request goes to a dead proxy.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))
    driver.set_network_conditions(offline=True, latency=0, throughput=0)
    driver.get(page.as_uri())
    yield driver
    driver.quit()


def test_the_page_loads_offline_and_fetches_nothing(browser):
    assert browser.title.startswith("Call report from ")
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0


def test_the_reader_sees_the_key_figures_first_each_with_its_definition(browser):
    header = browser.find_element(By.ID, "kpis")
    first_chart = browser.find_element(By.ID, "chart-calls-per-hour")
    assert header.is_displayed()
    assert header.location["y"] < first_chart.location["y"]
    seen = {
        kpi.get_attribute("id"): kpi.text.split("\n")
        for kpi in header.find_elements(By.CLASS_NAME, "kpi")
    }
    assert seen == {
        "kpi-calls": ["7", "Calls"],
        "kpi-containment": ["14.3%", "Containment"],
        "kpi-abandon_rate": ["25.0%", "Abandon rate"],
        "kpi-service_level": ["50.0%", "Service level"],
        "kpi-asa": ["20.0s", "ASA"],
        "kpi-aht": ["1m 10s", "AHT"],
        "kpi-longest_wait": ["40.0s", "Longest wait"],
        "kpi-callbacks_reached": ["-", "Callbacks reached"],
    }
    tooltip = browser.find_element(By.ID, "kpi-asa").get_attribute("title")
    assert tooltip.startswith("Average speed of answer")
    # the numbers stand out from their labels
    value = header.find_element(By.CLASS_NAME, "kpi-value")
    label = header.find_element(By.CLASS_NAME, "kpi-label")
    assert float(value.value_of_css_property("font-size")[:-2]) > 1.5 * float(
        label.value_of_css_property("font-size")[:-2]
    )


@pytest.mark.parametrize("chart", sorted(CHARTS))
def test_each_chart_is_drawn_with_its_legend(browser, chart):
    svg = browser.find_element(By.CSS_SELECTOR, f"#{chart} svg")
    assert svg.is_displayed()
    assert svg.size["width"] > 600 and svg.size["height"] > 200
    legend = browser.execute_script(
        "return [...arguments[0].querySelectorAll('.legends text')].map(t => t.textContent)", svg
    )
    assert set(legend) == CHARTS[chart]
    drawn = browser.execute_script(
        "return [...arguments[0].querySelectorAll('.series rect, .series path')]"
        ".filter(s => s.getBBox().width > 0 && s.getBBox().height > 0).length",
        svg,
    )
    assert drawn > 0


def test_the_tables_show_each_figure_in_its_row(browser):
    rows = {
        row.find_element(By.TAG_NAME, "td").text: [
            c.text for c in row.find_elements(By.TAG_NAME, "td")
        ]
        for row in browser.find_elements(By.CSS_SELECTOR, "#table-summary tbody tr")
    }
    assert rows["Calls offered to a queue"][1] == "4"
    assert rows["Abandoned in a queue"][1:4] == ["1", "25.0%", "calls offered"]
    queue = browser.find_element(By.CSS_SELECTOR, "#table-queues tbody tr").text.split()
    assert queue[:6] == ["sales", "20s", "5", "3", "1", "0"]
    funnel = browser.find_element(By.CSS_SELECTOR, "#table-funnel-t tbody tr").text
    assert funnel.startswith("menu menu")


def test_printed_on_a4_nothing_is_wider_than_the_page(browser):
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": A4_CONTENT_PX, "height": 900, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        inner = browser.execute_script("return document.documentElement.clientWidth")
        widest = browser.execute_script(
            "return Math.max(...[...document.querySelectorAll('figure svg, table')]"
            ".map(e => e.getBoundingClientRect().right))"
        )
        assert widest <= inner
        colour = browser.find_element(By.CSS_SELECTOR, "p.note").value_of_css_property("color")
        assert colour in ("rgba(0, 0, 0, 1)", "rgb(0, 0, 0)")
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_the_page_prints_to_a_pdf_of_several_a4_pages(browser):
    options = PrintOptions()
    options.page_width, options.page_height = 21.0, 29.7
    pdf = base64.b64decode(browser.print_page(options))
    assert pdf.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    # seven charts and eleven tables do not fit on one page, nor take one page each
    assert 2 <= pages <= 20
    sizes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    # each page A4: 595 x 842 points
    assert len(sizes) == pages
    assert all(abs(float(w) - 595) < 1.5 and abs(float(h) - 842) < 1.5 for w, h in sizes), sizes
