"""`netgen view` in a real browser: headless Chromium (Debian's chromium + chromium-driver, as
scripts/setup.sh installs them) driven by selenium. The page must load with no console errors,
open a block in place (its ops appear) and close it again, show a box's layers on hover, list
exactly the layers of `netgen summary --json`, and filter them by path.

A machine without the browser fails this test with the way to install it: skipping silently
would let CI pass without ever loading the page.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netgen.cli.main import app
from netgen.render import dot_available

pytestmark = pytest.mark.skipif(not dot_available(), reason="graphviz `dot` is not installed")

INSTALL = ("the browser test needs Chromium, its driver and selenium: run scripts/setup.sh, or "
           "`apt-get install chromium chromium-driver` and `pip install selenium`")


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists()
                                              else None)
    if not chromium or not driver:
        pytest.fail(f"Chromium or chromedriver not found ({chromium=}, {driver=}); {INSTALL}")
    return chromium, driver


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    out = tmp_path_factory.mktemp("view") / "resnet50.html"
    result = CliRunner().invoke(app, ["view", "resnet50", "-o", str(out), "--no-open"])
    assert result.exit_code == 0, result.output
    summary = CliRunner().invoke(app, ["summary", "resnet50", "--json"])
    assert summary.exit_code == 0
    return out, json.loads(summary.stdout)


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = _browser_paths()
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail(f"selenium is not installed; {INSTALL}")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1600,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def test_the_page_needs_no_network(page):
    text = page[0].read_text(encoding="utf-8")
    assert "http://" not in text.replace("http://www.w3.org/", "") and "https://" not in text
    assert "<script src" not in text and "<link rel=\"stylesheet\"" not in text


def test_the_page_in_a_browser(page, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    path, summary = page
    browser.get(path.resolve().as_uri())
    svg = browser.find_element(By.CSS_SELECTOR, "#picture svg")
    assert svg.is_displayed()

    # the layer table: the same rows as `netgen summary --json`
    table = browser.execute_script(
        "return [...document.querySelectorAll('#layers tbody tr')].map(r => [...r.cells].map(c => c.textContent))")
    expected = [[r["path"], r["op"], "×".join(map(str, r["output_shape"])), f"{r['params']:,}", f"{r['macs']:,}"]
                for r in summary["layers"]]
    assert table == expected

    # opening a block in place shows its ops; closing it folds them away again
    texts = lambda: set(browser.execute_script(  # noqa: E731
        "return [...document.querySelectorAll('#picture svg text')].map(t => t.textContent)"))
    before = texts()
    assert "Conv 1×1, 64 · BN · ReLU" not in before
    box = browser.find_element(By.CSS_SELECTOR, "#picture g.node[data-opens='layer1.0']")
    box.click()
    assert browser.execute_script("return document.getElementById('picture').dataset.open") == "layer1.0"
    frame = browser.find_element(By.CSS_SELECTOR, "#picture g.cluster.frame")
    assert "layer1.0" in frame.text  # the block's frame, titled with its path
    # its ops, drawn now and not before (graphviz draws a frame's boxes beside it, not inside its group)
    assert {"Conv 1×1, 64 · BN · ReLU", "Conv 3×3, 64 · BN · ReLU", "Conv 1×1, 256 · BN"} <= texts() - before
    browser.find_element(By.ID, "collapse").click()
    assert browser.execute_script("return document.getElementById('picture').dataset.open") == ""
    assert texts() == before

    # hovering a box lists its layers with shapes and costs
    fc = browser.find_element(By.CSS_SELECTOR, "#picture g.node#n_fc")
    ActionChains(browser).move_to_element(fc).perform()
    tip = browser.find_element(By.ID, "tip")
    assert tip.is_displayed() and "fc" in tip.text and "1000" in tip.text and "2,049,000 params" in tip.text

    # search by layer path filters the table and marks the boxes that hold the matches
    browser.find_element(By.ID, "search").send_keys("layer3.1")
    shown = browser.execute_script(
        "return [...document.querySelectorAll('#layers tbody tr')].filter(r => r.style.display !== 'none')"
        ".map(r => r.cells[0].textContent)")
    assert shown == [r["path"] for r in summary["layers"] if "layer3.1" in r["path"]] and shown
    assert browser.find_elements(By.CSS_SELECTOR, "#picture g.node.hit")

    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
