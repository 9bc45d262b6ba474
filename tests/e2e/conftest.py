"""Real-browser harness: one `streamlit run` server per session, Debian's chromium driven by Playwright.

`playwright install` cannot work offline; the browser is the system's /usr/bin/chromium. Without it
the tests skip locally but fail under CI, so they can never vanish silently.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp_path_factory, **env_extra: str):
    """A `streamlit run` of the lab on a free port with `env_extra` in its environment: yields (url, log path)
    and stops it afterwards (a generator for fixtures)."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    log = open(log_path, "w+")
    # A closed test page's jobs stop 8 s after it closed (30 s in class): the next test gets the cores back,
    # and the reconnect test's 3-second blip still fits in the grace. Two jobs at once whatever the machine:
    # the queue test needs students in line, and a CI runner with many cores would otherwise run them all.
    env = {**os.environ, "LABCORE_DATA": str(tmp_path_factory.mktemp("data")), "LAB_ORPHAN_GRACE_S": "8",
           "LAB_MAX_JOBS": "2", **env_extra}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
        if proc.poll() is not None:
            break
    else:
        proc.kill()
        raise RuntimeError(log_path.read_text())
    if proc.poll() is not None:
        raise RuntimeError(f"server exited:\n{log_path.read_text()}")
    yield url, log_path
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """(url, log path) of a lab server started for this test session."""
    yield from start_server(tmp_path_factory)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if os.environ.get("CI"):
            pytest.fail(f"chromium not found at {CHROMIUM}: CI must install it (apt-get install chromium)")
        pytest.skip(f"chromium not found at {CHROMIUM}; install Debian's chromium to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()


def wait_for_app(page, timeout: float = 60_000) -> None:
    page.wait_for_selector("[data-testid='stAppViewContainer']", state="attached", timeout=timeout)
    page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(
        state="attached", timeout=timeout)
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
        state="attached", timeout=timeout)


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def plot_points(page, nth: int = 0) -> int:
    """Points drawn on the nth plotly chart of the page (0 while it is not there yet).

    Counted from plotly.js's `calcdata` (one entry per drawn point), so numpy columns that plotly.py
    sends base64-encoded count like plain lists.
    """
    return page.evaluate(
        """(nth) => { const el = document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')[nth];
                      if (!el || !el.calcdata) return 0;
                      return el.calcdata.reduce((n, cd) => n + cd.filter(p => p && p.x !== undefined).length, 0); }""",
        nth,
    )


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`. With every page listed in the sidebar, a selectbox far
    down it is scrolled into view by the click itself, and the dropdown that opened mid-scroll closed again
    (the Transfer tests failed so): scroll first, let it settle, then open and pick."""
    box = page.get_by_role("combobox", name=label)
    box.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box.click()
    page.get_by_role("option", name=option).click()


def eventually(condition, timeout: float = 30.0) -> bool:
    """True as soon as `condition()` holds (asked every 0.1 s), False once `timeout` seconds have passed."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def no_exception(page) -> None:
    """No Streamlit exception box anywhere on the page."""
    expect(page.get_by_test_id("stException")).to_have_count(0)


def chart_shot(page, index: int, name: str) -> Path:
    """A screenshot of one chart (scrolled into view): the full-page shot stops at the viewport."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.locator("[data-testid='stPlotlyChart']").nth(index).screenshot(path=str(path))
    return path
