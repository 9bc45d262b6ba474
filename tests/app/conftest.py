"""AppTest harness shared by the page tests.

AppTest has no browser, so `run_every` never fires: tests poll by calling `at.run()` in a loop and check
for exceptions on every round (a race can show up in one round only).
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


@pytest.fixture
def fresh_registry():
    """cache_resource is process-global: without this, jobs leak from one test into the next."""
    st.cache_resource.clear()
    yield
    from app.state import registry

    registry().stop_all(wait=2)
    st.cache_resource.clear()


def open_page(page: str | None = None, timeout: float = 60, **query: str) -> AppTest:
    """The app run once (with `query` in the URL), then switched to `page`; no exception allowed."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.query_params.update(query)
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def open_linked(page: str, **query: str) -> AppTest:
    """The app run once, then `page` opened with `query` in its URL, as a link from another page would open
    it; no exception allowed."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.query_params.update(query)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def assert_widgets_offer_the_link(at: AppTest, page: str, prefix: str, skip: tuple[str, ...] = ("panel",)) -> None:
    """Every param of `page`'s link schema (labcore.links) has its widget (key `prefix` + name), offering
    exactly the link's range or choices and showing the link's default."""
    from labcore import links

    values, _ = links.read(page, {})
    for p in links.SCHEMAS[page](values):
        if p.name in skip:
            continue
        widget = at.get_by_key(prefix + p.name)
        assert widget is not None, p.name
        if p.lo is not None:
            assert (widget.proto.min, widget.proto.max, widget.proto.step) == pytest.approx((p.lo, p.hi, p.step)), p.name
        elif p.choices:
            assert len(widget.options) == len(p.choices), p.name
        assert widget.value == values[p.name], p.name


def poll(at: AppTest, until: Callable[[AppTest], bool], timeout: float = 120.0) -> None:
    """Rerun until `until(at)` holds, failing on any exception on the way."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        at.run()
        assert not at.exception, at.exception
        if until(at):
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def pause_resume_stop(at: AppTest, prefix: str, job: Callable[[AppTest], object], within: float) -> None:
    """Press Pause, Resume, Stop (keys `{prefix}btn_...`): the job pauses, then ends "stopped" within
    `within` seconds of Stop, and the page says so without an exception."""
    at.button(key=f"{prefix}btn_pause").click().run()
    assert job(at).status == "paused"
    at.button(key=f"{prefix}btn_resume").click().run()
    at.button(key=f"{prefix}btn_stop").click().run()
    assert job(at).join(within), f"the training thread did not end within {within} s of Stop"
    at.run()
    assert not at.exception, at.exception
    assert job(at).status == "stopped"
    assert any("Stopped" in i.value for i in at.info)


def wait_done(at: AppTest, key: str, timeout: float = 120.0) -> None:
    """Wait for the job whose id the session keeps under `key` to end, then run the page once more."""
    from app.state import registry

    deadline = time.time() + timeout
    while time.time() < deadline:
        job = registry().get(at.session_state[key])
        if job is not None and job.done:
            at.run()
            assert not at.exception, at.exception
            return
        time.sleep(0.2)
    raise AssertionError("the job did not finish in time")


def job_of(at: AppTest, key: str):
    """The registry's job whose id the page keeps in session state under `key`."""
    from app.state import registry

    return registry().get(at.session_state[key])


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip archive (in memory) holding `files` {name: bytes}: what a student's upload looks like."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def png_bytes(color, size: int = 24) -> bytes:
    """A one-colour PNG picture."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, "PNG")
    return buf.getvalue()
