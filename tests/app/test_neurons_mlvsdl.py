"""AppTest: the Neurons page's "ML vs DL" tab (lesson 1). Its comparisons train in the background only while the
tab is open (digits here: about a second each); the training-loop stepper walks the stages and steps; the
lr-too-large preset's link lands on a step whose loss goes up."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from labcore.basics import mlvsdl
from labcore.presets import BY_ID
from tests.app.conftest import open_linked, poll

PAGE = "views/neurons.py"


def test_no_training_starts_while_another_tab_is_open(fresh_registry):
    at = open_linked(PAGE)
    assert "train for a few seconds once this tab is open" in " ".join(c.value for c in at.caption)
    from app.state import registry

    assert registry().find_task(("mlvsdl.features", "shapes", 0)) is None


def test_the_comparisons_fill_their_tables_with_true_numbers(fresh_registry):
    at = open_linked(PAGE, panel="mlvsdl", **{"ml.data": "digits"})
    poll(at, lambda a: len(a.dataframe) == 2, timeout=180)
    features, shuffle = (d.value for d in at.dataframe)
    assert features["Inputs"].tolist() == ["Raw pixels", "Hand-made features"] * 2 + ["Raw pixels"]
    assert features["Numbers per image"].tolist() == [64, 148, 64, 148, 64]
    assert shuffle["Inputs"].tolist() == ["Raw pixels", "Shuffled pixels"] * 3
    acc = [float(v.rstrip("%")) / 100 for v in shuffle["Test accuracy"]]
    assert abs(acc[0] - acc[1]) < 0.01 and abs(acc[2] - acc[3]) <= 0.02  # logistic regression, MLP: unchanged
    text = " ".join(m.value for m in at.markdown)
    assert f"the CNN, which found its own features in the pixels: **{features['Test accuracy'].iloc[4]}**" in text
    assert any("difference is small" in i.value for i in at.info)  # digits: the CNN loses only a little (measured)


def test_the_loop_stepper_walks_stages_then_steps(fresh_registry):
    at = open_linked(PAGE, panel="mlvsdl", **{"loop.lr": "0.5", "ml.data": "digits"})
    assert at.segmented_control(key="nr.loop.stage").value == "batch"
    for _ in range(4):
        at.button(key="nr.ml.next").click().run()
    assert at.segmented_control(key="nr.loop.stage").value == "step"
    s = mlvsdl.training_loop(0, 0.5)[0]
    assert any(f"from {s.loss_before:.4f} to {s.loss_after:.4f}: the step went downhill" in x.value for x in at.success)
    at.button(key="nr.ml.next").click().run()
    assert (at.slider(key="nr.loop.step").value, at.segmented_control(key="nr.loop.stage").value) == (1, "batch")
    assert at.query_params["loop.step"] == "1"
    at.button(key="nr.ml.prev").click().run()
    assert (at.slider(key="nr.loop.step").value, at.segmented_control(key="nr.loop.stage").value) == (0, "step")
    assert not at.exception


def test_the_lr_too_large_preset_shows_the_loss_going_up(fresh_registry):
    at: AppTest = open_linked(PAGE, **BY_ID["lr-too-large"].query)
    assert any("up. With learning rate 2 the step jumped over the valley" in w.value for w in at.warning)
