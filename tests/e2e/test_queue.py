"""A small class in real browsers: five students press Train at once on a server that runs two jobs; the
rest wait in line with their place shown, and every run starts by itself and finishes.

This test found the classroom's worst bug: Streamlit's gc.collect(2) after every fragment rerun held the GIL
for ~0.2 s, five tabs polling twice a second starved the training threads, and every page froze mid-run
(fixed in .streamlit/config.toml and app/state.py)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import eventually, no_exception, shot, wait_for_app

pytestmark = pytest.mark.e2e

STUDENTS = 5


def test_five_students_press_train_and_every_run_is_served(browser, server):
    url, _ = server
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(STUDENTS)]
    try:
        pages = [c.new_page() for c in contexts]
        for p in pages:
            # Slow motion (20 ms a step, ~6 s a run): a quiet or fast machine trains the digits CNN in half a
            # second, and students then spent too short a time in line for any page to show it (CI failed so).
            p.goto(f"{url}/train?data.name=digits&model.name=cnn&train.epochs=15&train.step_delay=0.02")
            wait_for_app(p)
        for p in pages:
            p.get_by_role("button", name="Train").click()
        waiting = re.compile(r"in line, about \d+ s")
        assert eventually(lambda: any(p.get_by_text(waiting).count() for p in pages), timeout=30), \
            "nobody was shown a place in line"
        queued = next(p for p in pages if p.get_by_text(waiting).count())
        expect(queued.get_by_role("button", name="Pause")).to_be_disabled()
        shot(queued, "queue-waiting")
        for i, p in enumerate(pages):  # every run starts by itself and finishes, no click needed
            try:
                expect(p.get_by_text(re.compile(r"^Last run: .* 15 epochs"))).to_be_visible(timeout=90_000)
            except AssertionError:
                shot(p, f"queue-student-{i}")
                raise
            expect(p.get_by_text(waiting)).to_have_count(0)
            no_exception(p)
    finally:
        for c in contexts:
            c.close()
