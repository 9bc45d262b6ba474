"""Train page, "Save & serve": after a tiny digits run the bundle downloads, the plain script is shown, and the
service starts, answers the test request and stops."""

from __future__ import annotations

import importlib.util
import json
import time

from tests.app.conftest import open_page, poll


def test_the_panel_opens_after_a_tiny_digits_run(fresh_registry, monkeypatch):
    at = open_page("views/train.py", **{"data.name": "digits", "model.name": "mlp", "train.epochs": "2"})
    at.button(key="btn_train").click().run()
    poll(at, lambda a: any(e.label == "Save & serve" for e in a.expander), timeout=90)
    poll(at, lambda a: "deploy.download_bundle" in str(a.get("download_button")), timeout=90)
    assert not at.exception
    codes = [c.value for c in at.code]
    assert any("def build_model(mean, std):" in c and "nn.Linear(64, 32)" in c and "labcore" not in c for c in codes)
    text = str(at.get("download_button"))
    assert "deploy.download_script" in text and "deploy.download_api" in text
    cells = [str(v) for d in at.dataframe for v in d.value.to_numpy().ravel()]
    assert sum("✓ same outputs" in c for c in cells) == 3, cells  # state dict, TorchScript and ONNX
    assert {"model.pt", "model.onnx", "state_dict.pt", "metadata.json", "api.py", "train_digits_mlp.py"} <= set(cells)

    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        assert any("pip install" in i.value for i in at.info)
        return
    from app.state import registry
    from labcore.serve import service

    at.button(key="deploy.start").click().run()
    assert any("The service is running at http://127.0.0.1:" in s.value for s in at.success), at.error
    at.button(key="deploy.send").click().run()
    assert any(c.value.startswith("HTTP status 200") for c in at.caption)
    [area] = [t for t in at.text_area if t.key.startswith("deploy.request.")]
    area.set_value('{"pixels": [1, 2]}').run()
    at.button(key="deploy.send").click().run()
    assert any(c.value.startswith("HTTP status 400") for c in at.caption)
    svc = at.session_state["deploy.service"][1]
    at.button(key="deploy.stop").click().run()
    assert not svc.thread.is_alive() and "deploy.service" not in at.session_state
    assert not service.port_in_use(svc.port)

    # started again, then the tab goes away for longer than the engine's grace: the service ends by itself
    at.button(key="deploy.start").click().run()
    svc = at.session_state["deploy.service"][1]
    engine = registry()
    owner = next(iter(engine.jobs())).owner
    engine._detached[owner] = time.monotonic() - engine.orphan_grace_s - 1
    svc.thread.join(10)
    assert not svc.thread.is_alive() and not service.port_in_use(svc.port)
    engine._detached.pop(owner, None)
    at.run()
    assert any(i.value == "The service has stopped." for i in at.info)

    monkeypatch.setattr(service, "available", lambda: False)  # a lab installed without the [serve] extra
    at.run()
    assert not at.exception
    assert any('pip install -e ".[serve]"' in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "deploy.start"]


def test_the_monitor_tab_and_the_rerun_link_after_a_digits_cnn_run(fresh_registry):
    """Lessons 20 and 23: the Save tab links to the Train page with the run's setup; the Monitor tab draws the
    accuracy per week and names the alert week, for another shift kind and number of weeks too."""
    at = open_page("views/train.py", **{"data.name": "digits", "model.name": "cnn", "train.epochs": "3",
                                        "train.seed": "5"})
    at.button(key="btn_train").click().run()
    poll(at, lambda a: any(e.label == "Save & serve" for e in a.expander), timeout=90)
    assert [t.label for t in at.tabs if t.label in ("Save", "Code", "Serve", "Monitor")][-1] == "Monitor"
    poll(at, lambda a: any(w.value.startswith("Alert in week") for w in a.warning), timeout=60)
    from labcore import links

    [rerun] = [p.proto for p in at.get("page_link") if p.proto.label == "Re-run this setup"]
    query = dict(part.split("=", 1) for part in rerun.query_string.split("&"))
    assert rerun.page.endswith("train") or "train" in rerun.page, rerun.page
    values, ignored = links.read("train", query)
    assert not ignored and values["train.seed"] == 5 and values["train.epochs"] == 3
    assert values["model.name"] == "cnn" and values["data.name"] == "digits"
    assert any("seed 5 included" in c.value for c in at.caption)
    at.selectbox(key="deploy.monitor_kind").set_value("rotation")
    at.slider(key="deploy.monitor_weeks").set_value(6).run()
    said = lambda a: [m.value for m in [*a.warning, *a.success] if m.value.startswith(("Alert in week", "No alert in 6"))]  # noqa: E731
    poll(at, lambda a: len(said(a)) == 1, timeout=60)
    assert not at.exception
    [chart] = [c for c in at.get("plotly_chart") if '"Alert threshold"' in c.proto.spec]
    assert len(json.loads(chart.proto.spec)["data"][0]["x"]) == 7  # weeks 0..6
