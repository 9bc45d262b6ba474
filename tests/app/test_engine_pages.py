"""The engine as the pages meet it: a failing background computation shows its error once and is not
started again by reruns; an online dataset is downloaded by a job, never by the page's thread."""

from __future__ import annotations

from tests.app.conftest import open_page, poll


def test_an_offline_download_fails_once_with_a_message_and_reruns_do_not_retry(fresh_registry, data_home):
    from app.state import registry

    at = open_page("views/train.py", **{"data.name": "mnist"})
    assert any("not on this computer yet" in w.value for w in at.warning)
    at.button(key="btn_download_mnist").click().run()
    poll(at, lambda a: any("could not be downloaded" in e.value for e in a.error), timeout=60)
    task = registry().find_task(("download", "mnist"))
    assert task.status == "failed"
    for _ in range(5):  # reruns show the same error, and start nothing new
        at.run()
        assert not at.exception
        assert registry().find_task(("download", "mnist")) is task
    assert sum("could not be downloaded" in e.value for e in at.error) == 1
    retry = [b for b in at.button if b.key and b.key.startswith("btn_retry:")]
    assert len(retry) == 1  # ... and offer to try again
    retry[0].click().run()
    poll(at, lambda a: registry().find_task(("download", "mnist")) is not task, timeout=30)


def test_the_train_page_names_the_running_setup_when_the_sidebar_changes(fresh_registry):
    at = open_page("views/train.py", **{"data.name": "moons", "model.name": "mlp", "train.epochs": "100"})
    at.button(key="btn_train").click().run()
    assert any(c.value.startswith("Training now: MLP on Moons") for c in at.caption), [c.value for c in at.caption]
    at.slider(key="train.epochs").set_value(5).run()  # a student changes the sidebar mid-run
    assert not at.exception
    assert any("applies to the next run" in i.value for i in at.info)
    assert any("100 epochs" in c.value for c in at.caption if c.value.startswith("Training now"))
    at.button(key="btn_stop").click().run()
    poll(at, lambda a: any(c.value.startswith("Last run: MLP on Moons") for c in a.caption), timeout=30)


def test_a_full_server_queues_the_train_press_and_starts_it_by_itself(fresh_registry, monkeypatch):
    """Every slot is taken by other students: the press waits in line (place and wait on the page, Pause
    off, Stop takes it out), and a second press starts by itself once a slot frees, without a click."""
    from app.state import registry
    from tests.unit.test_engine import Waiter

    blockers = [registry().submit(Waiter(), owner=f"student-{i}") for i in range(registry().max_running)]
    at = open_page("views/train.py", **{"data.name": "moons", "model.name": "mlp", "train.epochs": "2"})
    at.button(key="btn_train").click().run()
    assert any("number 1 in line" in i.value for i in at.info), [i.value for i in at.info]
    assert at.button(key="btn_pause").disabled and not at.button(key="btn_stop").disabled
    job = registry().get(at.session_state["job_id"])
    assert job.status == "queued"
    at.button(key="btn_stop").click().run()
    assert job.status == "stopped" and registry().queued() == []
    assert not any("in line" in i.value for i in at.info)

    at.button(key="btn_train").click().run()  # again; this time a slot frees while it waits
    job = registry().get(at.session_state["job_id"])
    assert job.status == "queued"
    blockers[0].stop()
    poll(at, lambda a: job.status == "finished" and any(c.value.startswith("Last run: MLP on Moons") for c in a.caption),
         timeout=60)
    for b in blockers:
        b.stop()
