"""AppTest for the autoencoders page: renders before training, trains to the result tabs, decodes typed
coordinates, pauses and stops, scores held-out classes as anomalies, and says so when a dataset cannot be
used. (AppTest has no browser: `run_every` never fires, so the tests poll `at.run()`.)"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import job_of, open_page, pause_resume_stop, poll

PAGE = "views/autoencoders.py"
pytestmark = pytest.mark.usefixtures("fresh_registry")


def _page() -> AppTest:
    return open_page(PAGE)


def _job(at: AppTest):
    return job_of(at, "ae_job_id")


def _chart_count(at: AppTest) -> int:
    return len(at.get("plotly_chart"))


def test_the_page_renders_before_training():
    at = _page()
    assert at.title[0].value == "Autoencoders"
    assert any("Press **Train**" in i.value for i in at.info)
    assert _chart_count(at) == 2  # the empty latent map and curves
    assert at.selectbox(key="ae.data").value == "digits" and at.slider(key="ae.latent").value == 2
    assert at.button(key="ae.btn_stop").disabled


def test_training_runs_to_the_result_tabs_and_a_typed_point_decodes():
    at = _page()
    at.slider(key="ae.epochs").set_value(15).run()
    at.button(key="ae.btn_train").click().run()
    assert not at.exception, at.exception
    poll(at, lambda a: _job(a).done)
    at.run()
    assert _job(at).status == "finished"
    labels = [t.label for t in at.tabs]
    assert labels == ["Reconstructions", "Interpolate", "Generate", "Autoencoder vs PCA", "Anomaly detection"]
    assert any("PCA with 2 components" in m.label for m in at.metric)
    assert any("needs classes the model never saw" in i.value for i in at.info)  # nothing was held out
    # the decoder panel: typed coordinates decode to an image
    z1 = at.number_input(key="ae.z1")
    z1.set_value(1.5).run()
    assert not at.exception, at.exception
    assert at.session_state["ae.z1"] == 1.5 and at.session_state["ae.picked"] is None
    at.slider(key="ae.test_noise").set_value(0.3).run()
    assert not at.exception, at.exception
    # An autoencoder is no classifier: the Explain page does not offer it (and does not trip over it).
    at.switch_page("views/explain.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="ex_model").options == ["Quick default: small CNN on shapes"]


def test_a_vae_with_held_out_classes_scores_anomalies():
    at = _page()
    at.selectbox(key="ae.model").set_value("vae").run()
    assert at.select_slider(key="ae.beta").value == 0.3
    at.multiselect(key="ae.holdout").set_value([0]).run()
    at.slider(key="ae.epochs").set_value(25).run()
    at.button(key="ae.btn_train").click().run()
    poll(at, lambda a: _job(a).done)
    at.run()
    assert not at.exception, at.exception
    job = _job(at)
    assert job.config.holdout == (0,) and job.config.model == "vae"
    assert any("Trained without **0**" in m.value for m in at.markdown)
    assert any("ROC AUC" in c.value for c in at.caption)
    threshold = at.slider(key="ae.threshold")
    threshold.set_value(threshold.min).run()  # everything flagged: every anomaly is caught
    assert not at.exception, at.exception
    caught = next(m for m in at.metric if m.label == "Anomalies caught")
    assert caught.value == "100%"


def test_a_run_can_be_paused_and_stopped():
    at = _page()
    at.slider(key="ae.epochs").set_value(300).run()
    at.button(key="ae.btn_train").click().run()
    poll(at, lambda a: _job(a).latest() is not None and _job(a).status == "running")
    assert at.selectbox(key="ae.model").disabled  # locked while training
    pause_resume_stop(at, "ae.", _job, within=5)


def test_an_offline_dataset_fails_with_a_sentence_not_a_traceback(data_home):
    at = _page()
    at.selectbox(key="ae.data").set_value("mnist").run()
    at.button(key="ae.btn_train").click().run()
    poll(at, lambda a: _job(a).done)
    at.run()
    assert not at.exception, at.exception
    assert _job(at).status == "failed"
    assert any("could not be downloaded" in e.value for e in at.error)
