"""Save & serve → Monitor, live traffic (lesson 23): without a service the section says to start one; with one,
a click sends real requests and the page flags the shifted half, draws the charts and stops the service as before."""

from __future__ import annotations

import importlib.util
import threading
import time

import pytest

from tests.app.conftest import open_page, poll


@pytest.mark.skipif(importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None,
                    reason="the [serve] extra is not installed")
def test_live_traffic_flags_the_shifted_requests(fresh_registry):
    from labcore.serve import service

    at = open_page("views/train.py", **{"data.name": "digits", "model.name": "mlp", "train.epochs": "2"})
    at.button(key="btn_train").click().run()
    poll(at, lambda a: "deploy.download_bundle" in str(a.get("download_button")), timeout=90)
    poll(at, lambda a: any(m.value.startswith(("Alert in week", "No alert in")) for m in [*a.warning, *a.success]),
         timeout=60)
    assert any(i.value.startswith("Start the service in the Serve tab") for i in at.info)
    at.button(key="deploy.start").click().run()
    at.button(key="deploy.traffic_send").click().run()
    poll(at, lambda a: any(w.value.startswith("Drift flagged in window 5, after 50 shifted requests") for w in a.warning),
         timeout=90)
    assert not at.exception
    [said] = [w.value for w in at.warning if w.value.startswith("Drift flagged")]
    assert said.endswith("false alarms): 0 of 4.")
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert any('"Served: shifted images"' in s for s in specs) and any('"Drift flagged"' in s for s in specs)
    assert any("The service gets no labels" in i.value for i in at.info)
    assert any("400 requests" in c.value for c in at.caption)
    [table] = [d.value for d in at.dataframe if "Drift?" in d.value.columns]
    assert list(table["Shifted"]) == [0, 0, 0, 0, 50, 50, 50, 50]
    svc = at.session_state["deploy.service"][1]
    at.button(key="deploy.stop").click().run()
    assert not svc.thread.is_alive() and not service.port_in_use(svc.port)
    assert any(i.value.startswith("Start the service in the Serve tab") for i in at.info)
    deadline = time.monotonic() + 10  # the watchdog notices within its 2-second check
    while any(th.name.endswith(f"-{svc.port}") for th in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [th.name for th in threading.enumerate() if th.name.endswith(f"-{svc.port}")]
