"""The Train page on a lab server started with LAB_RAY_ADDRESS=local: a student presses Train as always, the
run trains in a Ray actor, and the page shows it live and to the end (issue 14)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import no_exception, plot_points, shot, start_server, wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]


@pytest.fixture(scope="module")
def ray_server(tmp_path_factory):
    pytest.importorskip("ray")
    yield from start_server(tmp_path_factory, LAB_RAY_ADDRESS="local", LAB_RAY_CPUS="2")


def test_a_run_on_ray_looks_like_any_run(page, ray_server):
    url, log_path = ray_server
    page.goto(f"{url}/train?data.name=digits&model.name=mlp&train.epochs=6")
    wait_for_app(page)
    page.get_by_role("button", name="Train").click()
    expect(page.get_by_text(re.compile(r"^Last run: .* 6 epochs"))).to_be_visible(timeout=120_000)
    assert plot_points(page) > 10  # the live curves drew the relayed log
    no_exception(page)
    assert "Started a local Ray instance" in log_path.read_text()  # it really trained on Ray
    shot(page, "train-on-ray")
