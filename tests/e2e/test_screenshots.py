"""Screenshots of every page: on a 1280x720 projector in presentation mode, and in Hebrew, Persian and
Ukrainian. Each is one page load (no training) checked for what a reader would notice: the text direction,
a page wider than the screen, words cut off in a button. The PNGs land in artifacts/ for a person to look at.

`make screenshots` runs these; `test_readme_screenshot` refreshes assets/screenshot-he.png.
"""

from __future__ import annotations

import re

import pytest

from labcore.i18n import is_rtl, languages
from tests.e2e.conftest import ARTIFACTS, ROOT, no_exception, wait_for_app

# Every page's url path, read from the navigation so that a new page is covered without touching this file.
PAGES = ["", *re.findall(r'url_path="([^"]+)"', (ROOT / "app" / "main.py").read_text(encoding="utf-8"))]
PROJECTOR = {"width": 1280, "height": 720}
TALL = {"width": 1280, "height": 1500}
README_SHOT = ROOT / "assets" / "screenshot-he.png"

LAYOUT_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]') || document.querySelector('.stMain');
  const visible = (el) => el.offsetParent !== null && el.getClientRects().length > 0;
  return {
    direction: getComputedStyle(main).direction,
    // where the sidebar's content shows: folded = nowhere in the window (not a strip of it over the page)
    sidebar: (() => { const r = document.querySelector('[data-testid="stSidebarContent"]').getBoundingClientRect();
                      if (r.width < 1 || r.right <= 0 || r.left >= window.innerWidth) return 'folded';
                      return r.left > window.innerWidth / 2 ? 'right' : 'left'; })(),
    overflow: document.scrollingElement.scrollWidth - window.innerWidth,
    // A button, or its label box inside (which ends a cut label in "…"), narrower than its content.
    clipped: [...document.querySelectorAll('button')].filter(visible)
      .filter((b) => [b, ...b.querySelectorAll('*')].some((e) => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1))
      .map((b) => b.innerText.trim() || b.outerHTML.slice(0, 80))
      // a row of options (segmented control, pills) wider than its column hides the last ones
      .concat([...document.querySelectorAll('[data-testid="stButtonGroup"] [role="radiogroup"]')].filter(visible)
        .filter((g) => g.scrollWidth > g.clientWidth + 1).map((g) => 'options: ' + g.innerText.trim())),
  };
}"""


@pytest.fixture(scope="module")
def projector(browser):
    """One 1280x720 browser context for every screenshot (a page load per shot, no new browser)."""
    context = browser.new_context(viewport=PROJECTOR)
    page = context.new_page()
    yield page
    context.close()


def _load(page, url: str) -> None:
    """Open `url` and wait until the page has drawn: the app reports "not running" before its first run
    starts, and widgets stay grey placeholders for a moment after it ends; so wait for the page title,
    the end of the run, the last placeholder, then give the charts a moment to draw."""
    page.goto(url)
    page.locator(".stMain h1").first.wait_for(timeout=60_000)
    wait_for_app(page)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=30_000)
    page.wait_for_timeout(400)


def _open(page, base: str, path: str, query: str, shot: str) -> dict:
    """Load the page, save its screenshot (before any check, so a failure has its picture), measure it."""
    _load(page, f"{base}/{path}?{query}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"))
    no_exception(page)
    return page.evaluate(LAYOUT_JS)


def _name(path: str) -> str:
    return path or "home"


@pytest.mark.parametrize("path", PAGES, ids=_name)
def test_screenshot_presentation(server, projector, path):
    base, _ = server
    projector.set_viewport_size(PROJECTOR)
    found = _open(projector, base, path, "present=1", f"present-{_name(path)}")  # what the class sees
    assert projector.locator("[data-testid='stSidebar'][data-collapsed='true']").count() == 1, "sidebar is open"
    assert found["sidebar"] == "folded"
    font = projector.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert font >= 19, f"presentation type is {font}px"
    assert found["overflow"] <= 1, f"page is {found['overflow']}px wider than the projector"
    assert not found["clipped"], f"text cut off in buttons: {found['clipped']}"


LANG_CASES = [(code, path) for code in ("he", "fa", "uk") for path in PAGES]


@pytest.mark.parametrize(("code", "path"), LANG_CASES, ids=[f"{c}-{_name(p)}" for c, p in LANG_CASES])
def test_screenshot_language(server, projector, code, path):
    if code not in languages():
        pytest.skip(f"no catalogue labcore/locales/{code}.toml yet")
    base, _ = server
    projector.set_viewport_size(TALL)  # more of the page in the picture; the checks see all of it anyway
    found = _open(projector, base, path, f"lang={code}", f"{code}-{_name(path)}")
    assert found["direction"] == ("rtl" if is_rtl(code) else "ltr")
    assert found["sidebar"] == ("right" if is_rtl(code) else "left")
    assert found["overflow"] <= 1, f"page is {found['overflow']}px wider than the screen"
    assert not found["clipped"], f"text cut off in buttons: {found['clipped']}"
    if is_rtl(code):  # numbers, formulas and charts stay left to right
        charts = projector.evaluate("""() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                                              .map((c) => getComputedStyle(c).direction)""")
        assert set(charts) <= {"ltr"}


def test_presentation_right_to_left(server, projector):
    """Presentation mode in Persian: the folded sidebar leaves nothing behind on the right-hand side."""
    if "fa" not in languages():
        pytest.skip("no Persian catalogue yet")
    base, _ = server
    projector.set_viewport_size(PROJECTOR)
    found = _open(projector, base, "playground", "lang=fa&present=1", "present-fa-playground")
    assert found["direction"] == "rtl" and found["sidebar"] == "folded"
    assert found["overflow"] <= 1 and not found["clipped"], found


def test_readme_screenshot(server, browser):
    """assets/screenshot-he.png, the README's picture of the lab in Hebrew: the Optimizer playground (its
    race runs as the page loads, so the picture has charts without training anything)."""
    if "he" not in languages():
        pytest.skip("no Hebrew catalogue yet")
    base, _ = server
    context = browser.new_context(viewport={"width": 1280, "height": 760})
    page = context.new_page()
    try:
        _load(page, f"{base}/playground?lang=he")
        no_exception(page)
        README_SHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(README_SHOT), type="png")
    finally:
        context.close()
    assert README_SHOT.stat().st_size < 300_000, "the README screenshot must stay commit-sized"


def test_pages_are_all_covered():
    """Every view file has a page here (a page added without `url_path` would escape these tests)."""
    views = {p.stem for p in (ROOT / "app" / "views").glob("*.py")}
    assert len(PAGES) >= len(views), (PAGES, sorted(views))
