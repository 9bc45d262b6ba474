"""Train page, "Inside the network": the panel follows a tiny run live and stays after it, without an exception."""

from __future__ import annotations

import pytest

from tests.app.conftest import job_of, open_page, poll

pytestmark = pytest.mark.usefixtures("fresh_registry")


def _charts(at) -> set[str]:
    """The keys of the "Inside the network" charts on the page."""
    return {c.proto.id.split("-")[-1] for c in at.get("plotly_chart") if "inside_" in c.proto.id}


def test_inside_panel_during_and_after_a_tiny_run():
    at = open_page("views/train.py")
    closed = [e for e in at.expander if e.label == "Inside the network"]
    assert not closed  # no run yet: no panel
    at.slider(key="train.epochs").set_value(40).run()
    at.select_slider(key="train.step_delay").set_value(0.005).run()
    at.session_state["inside_open"] = True  # as if the expander had been opened
    at.button(key="btn_train").click().run()
    poll(at, lambda a: len(job_of(a, "job_id").trainer.inspector.snapshot()) >= 2 if job_of(a, "job_id").trainer
         else False)
    assert not at.exception, at.exception
    assert any(e.label == "Inside the network" for e in at.expander)
    assert len([c for c in at.get("plotly_chart") if "inside_" in c.proto.id]) == 6
    at.selectbox(key="inside_layer").set_value("ReLU 2").run()
    assert not at.exception, at.exception
    at.button(key="btn_stop").click().run()
    job = job_of(at, "job_id")
    assert job.join(5)
    at.run()
    assert not at.exception, at.exception
    assert job.trainer.inspector.snapshot()  # the run's looks stay for the panel after it
    assert len([c for c in at.get("plotly_chart") if "inside_" in c.proto.id]) == 6
    assert any("looks at training steps" in c.value for c in at.caption)
