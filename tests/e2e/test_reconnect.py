"""A network blip in the middle of a run: the browser's websocket closes and Streamlit reconnects to the same
session. The run must go on (the engine gives a disconnected session a grace period), not end as "Stopped"."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import eventually, no_exception, plot_points, shot, wait_for_app

pytestmark = pytest.mark.e2e

# Keep every websocket the page opens, so the test can cut the connection as a flaky Wi-Fi would; while
# `__offline` is set, reconnection attempts go nowhere (port 9 refuses), as they would without a network.
KEEP_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.__offline = false;
  function Kept(url, ...rest) {
    const ws = new Native(window.__offline ? "ws://127.0.0.1:9/" : url, ...rest);
    window.__sockets.push(ws);
    return ws;
  }
  Kept.prototype = Native.prototype;
  for (const k of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) Kept[k] = Native[k];
  window.WebSocket = Kept;
})();
"""


def test_a_network_blip_does_not_stop_training(page, server):
    url, _ = server
    page.add_init_script(KEEP_SOCKETS)
    page.goto(f"{url}/train?data.name=shapes&train.epochs=100")  # shapes: minutes, not seconds
    wait_for_app(page)
    page.get_by_role("button", name="Train").click()
    expect(page.get_by_text(re.compile(r"Training · epoch"))).to_be_visible(timeout=60_000)
    assert eventually(lambda: plot_points(page) > 0, timeout=30)
    closed = page.evaluate("""() => { window.__offline = true; let n = 0;
        for (const s of window.__sockets) if (s.readyState === 1) { s.close(); n++; } return n; }""")
    assert closed == 1, f"expected one open websocket, closed {closed}"
    page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(state="detached", timeout=10_000)
    time.sleep(3)  # a 3-second blip: the server sees the session disconnected all that time
    page.evaluate("() => { window.__offline = false; }")  # Streamlit's frontend reconnects by itself
    page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(state="attached", timeout=60_000)
    before = plot_points(page)
    expect(page.get_by_text(re.compile(r"Training · epoch"))).to_be_visible(timeout=30_000)
    assert eventually(lambda: plot_points(page) > before, timeout=30), "the chart stopped growing after the blip"
    expect(page.get_by_text(re.compile(r"Stopped\."))).to_have_count(0)
    no_exception(page)
    shot(page, "train-after-blip")
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text(re.compile(r"Stopped\. The model"))).to_be_visible(timeout=30_000)
