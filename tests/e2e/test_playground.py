"""Real browser: the optimizer playground redraws when a slider moves, takes a click on the map as the new
start, replays the race with its play button, restores a shared link, and never shows an exception box."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import eventually, no_exception, shot, wait_for_app

pytestmark = pytest.mark.e2e

# Plotly keeps what it drew on the chart's DOM node (`_fullData` holds
# the arrays decoded: `data` may still hold them as base64).
# Found by its widget key, not as "the first chart": while the page loads, the book's 1-D chart further down
# can be drawn first (a full run once read the parabola's trace as the map's dots).
MAP = "document.querySelector('.st-key-pg-map .js-plotly-plot')"


def _trace_x(page, name: str) -> list[float]:
    return page.evaluate(f"""() => {{ const t = {MAP}._fullData.find(t => t.name === {name!r});
                                      return t ? Array.from(t.x) : []; }}""")


def _dots_x(page) -> list[float]:
    # the trace of "where each optimizer is now" (third from last: dots, minima, start)
    return page.evaluate(f"() => {{ const d = {MAP}._fullData; return Array.from(d[d.length - 3].x); }}")


def _href(page) -> str:
    # Streamlit rewrites the address with history.replaceState, which Playwright's `page.url` does not see.
    return page.evaluate("() => window.location.href")


def _open(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)
    # The chart component loads after the script has finished: wait until plotly has drawn the map.
    drawn = f"() => {{ const el = {MAP}; return !!(el && el.data && el.data.length > 3 && el._fullLayout); }}"
    assert eventually(lambda: page.evaluate(drawn)), "the map was never drawn"
    no_exception(page)


def test_a_slider_redraws_the_path(page, server):
    url, _ = server
    _open(page, f"{url}/playground")
    before = _trace_x(page, "SGD")
    assert len(before) == 301  # start + 300 steps
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("SGD", exact=True).click()  # open SGD's settings
    lr = page.locator(".st-key-pg-opt-sgd").get_by_role("slider", name="Learning rate")
    lr.focus()
    lr.press("ArrowLeft")
    assert eventually(lambda: _trace_x(page, "SGD") not in ([], before), 15), "the SGD path was not redrawn"
    wait_for_app(page)
    no_exception(page)
    assert eventually(lambda: "sgd.lr=0.001" in _href(page), 15), _href(page)  # the link follows
    shot(page, "playground-slider")


def test_a_click_on_the_map_moves_the_start(page, server):
    url, _ = server
    _open(page, f"{url}/playground?surface=himmelblau")
    area = page.locator(".st-key-pg-map .nsewdrag").bounding_box()
    x, y = area["x"] + area["width"] * 0.8, area["y"] + area["height"] * 0.2
    page.mouse.move(x, y)  # hover first, as a person does: plotly picks the nearest click target
    expect(page.get_by_text("click to start here")).to_be_visible()
    page.mouse.click(x, y)
    assert eventually(lambda: "&x=" in _href(page) and "&y=" in _href(page), 15), _href(page)
    wait_for_app(page)
    no_exception(page)
    start = page.evaluate(f"() => {{ const d = {MAP}._fullData; return [d[d.length - 1].x[0], d[d.length - 1].y[0]]; }}")
    assert start[0] > 1.5 and start[1] > 1.5, start  # upper right of the [-5, 5] square
    shot(page, "playground-click")


def test_play_replays_the_race(page, server):
    url, _ = server
    _open(page, f"{url}/playground?surface=ravine")
    end = _dots_x(page)
    page.locator(".st-key-pg-map").get_by_text("Play").click()
    assert eventually(lambda: _dots_x(page) != end, timeout=5), "the dots did not move"
    # issue 18: the map stays under the paths while they replay (a contour trace lost its fill here)
    assert page.locator(".st-key-pg-map .imagelayer image").count() == 1
    # 50 frames of 60 ms: 3 s when the machine is quiet; a loaded CI box has been seen to need longer.
    ended = eventually(lambda: _dots_x(page) == pytest.approx(end, abs=1e-6), timeout=40)
    assert ended, f"the replay did not end: dots at {_dots_x(page)}, expected {end}"
    no_exception(page)


def test_a_shared_link_restores_a_diverging_setup(page, server):
    url, _ = server
    _open(page, f"{url}/playground?surface=ravine&on=sgd,momentum,adam&sgd.lr=1.5&eta=0.3")
    expect(page.get_by_text("SGD blew up")).to_be_visible()
    expect(page.get_by_text("This is divergence")).to_be_visible()
    names = page.evaluate(f"() => {MAP}.data.map(t => t.name).filter(n => n)")
    assert any(n.startswith("SGD · diverged at step") for n in names), names
    no_exception(page)
    shot(page, "playground-diverged")
