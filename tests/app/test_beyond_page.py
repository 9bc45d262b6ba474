"""AppTest: the Beyond classification page (lesson 22). The tabs draw, the widgets offer what the link offers, a tiny
segmentation and detection job each run to the end with their curves, scores and gallery, NMS answers its
threshold, and the decision helper's answers lead to a lab demonstration."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from tests.app.conftest import assert_widgets_offer_the_link, job_of, open_linked, pause_resume_stop, poll

PAGE = "views/beyond.py"


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_tabs_widgets_and_the_decision_helper(fresh_registry):
    at = open_linked(PAGE)
    assert [t.label for t in at.tabs] == ["Segmentation", "Detection", "Which architecture?"]
    assert_widgets_offer_the_link(at, "beyond", "by.", skip=("panel", "seg.worst", "det.worst"))  # these two: results
    assert any("Press Train" in i.value for i in at.info)
    text = " ".join(m.value for m in at.markdown)
    assert "candidates →" in text and "3 of 3" in text  # NMS at its defaults finds the three objects
    at.select_slider(key="by.nms.iou").set_value(0.1).run()
    assert any("A real object was lost" in w.value for w in at.warning)
    at.select_slider(key="by.nms.iou").set_value(0.9).run()
    assert any("Several boxes survive" in w.value for w in at.warning)
    at.selectbox(key="by.which.data").set_value("table").run()
    at.selectbox(key="by.which.rows").set_value("few").run()
    assert not at.exception
    assert any("Gradient boosting or a random forest" in s.value for s in at.success)
    links = [p for p in at.get("page_link") if "Open the demonstration" in p.proto.label]
    assert len(links) == 1 and "Deep vs classic" in links[0].proto.label
    assert at.query_params["which.data"] == ["table"] or at.query_params["which.data"] == "table"


def _train(at: AppTest, task: str, epochs: int) -> None:
    tab = {"segment": "seg", "detect": "det"}[task]
    at.slider(key=f"by.{tab}.epochs").set_value(epochs).run()
    at.select_slider(key=f"by.{tab}.train").set_value(128).run()
    at.button(key=f"by.job.{task}.train").click().run()
    poll(at, lambda a: job_of(a, f"by.job.{task}").done, timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert job_of(at, f"by.job.{task}").status == "finished"


def test_a_tiny_segmentation_and_detection_job_run_to_the_end(fresh_registry):
    at = open_linked(PAGE)
    _train(at, "segment", 1)
    metrics = {m.label: m.value for m in at.metric}
    assert "Mean IoU (test)" in metrics and "Mean Dice (test)" in metrics
    assert float(metrics["Mean Dice (test)"]) >= float(metrics["Mean IoU (test)"])
    assert any("On 200 test images after 1 epochs" in c.value for c in at.caption)
    charts = _charts(at)
    curves = [c for c in charts if any(d.get("name") == "mean Dice" for d in c["data"])]
    assert curves and len(curves[0]["data"][-1]["x"]) == 2  # epochs 0 and 1
    at.toggle(key="by.seg.worst").set_value(True).run()
    assert not at.exception and at.query_params["seg.worst"] in ("1", ["1"])
    _train(at, "detect", 2)
    metrics = {m.label: m.value for m in at.metric}
    assert "Mean box IoU (test)" in metrics and "Hits (right class, IoU ≥ 0.5)" in metrics
    assert any("cross-entropy" in c.value and "box loss" in c.value for c in at.caption)
    shapes = [c for c in _charts(at) if len(c["layout"].get("shapes", [])) == 16]
    assert shapes  # 8 test images, a true and a predicted box each


def test_a_stopped_job_shows_the_net_as_it_was(fresh_registry):
    at = open_linked(PAGE)
    at.slider(key="by.seg.epochs").set_value(12).run()
    at.select_slider(key="by.seg.train").set_value(1024).run()
    at.button(key="by.job.segment.train").click().run()
    pause_resume_stop(at, "by.job.segment.", lambda a: job_of(a, "by.job.segment"), within=20)
    out = job_of(at, "by.job.segment").result
    assert out is not None and out.epochs < 12 and len(out.history) == out.epochs + 1
    assert any(m.label == "Mean IoU (test)" for m in at.metric)
