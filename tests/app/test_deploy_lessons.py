"""Save & serve, lessons 16, 21 and 23: after a tiny digits run the Code tab shows the Keras script beside the
PyTorch one with what differs, the Serve tab the deployment checklist and the Monitor tab the responsibility one."""

from __future__ import annotations

from tests.app.conftest import open_page, poll


def _markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_keras_and_the_checklists_after_a_tiny_digits_run(fresh_registry):
    at = open_page("views/train.py", **{"data.name": "digits", "model.name": "mlp", "train.epochs": "2",
                                        "model.width": "32"})
    at.button(key="btn_train").click().run()
    poll(at, lambda a: "Deployment checklist (lesson 21)" in _markdown(a), timeout=120)
    poll(at, lambda a: "Monitoring and responsibility checklist (lesson 23)" in _markdown(a), timeout=90)
    assert not at.exception
    codes = [c.value for c in at.code]
    keras = [c for c in codes if "keras.optimizers.Adam(" in c]
    assert len(keras) == 1 and "layers.Dense(32)" in keras[0] and "learning_rate=LR" in keras[0]
    assert any("nn.Linear(64, 32)" in c for c in codes)  # the PyTorch script is still there
    assert {"PyTorch", "Keras"} <= {t.label for t in at.tabs}
    assert "deploy.download_keras" in str(at.get("download_button"))
    text = _markdown(at)
    assert "model.fit()" in text and "channels-first" in text  # what differs, for this image setup
    assert "broken requests (wrong shape" in text and "as the lab predicted" in text
    assert "Test accuracy" in text and "95 % interval" in text and "weakest class" in text
    assert "Drift monitor set: alert below" in text and "CC BY 4.0" in text
