"""Every page keeps its setup in its URL (app/links.py): hostile links never break a page and are named once,
generated links open cleanly, and a page keeps its setup when the user goes to another page and comes back."""

from __future__ import annotations

import functools
import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as hst
from streamlit.testing.v1 import AppTest

from labcore import links
from tests.app.conftest import APP
from tests.unit.test_links import CONTEXT, _names_and_tokens

PAGES = {"train": "views/train.py", "playground": "views/playground.py", "race": "views/race.py",
         "explain": "views/explain.py", "transfer": "views/transfer.py", "try-it": "views/try_it.py",
         "sequences": "views/sequences.py", "attention": "views/attention.py", "autoencoders": "views/autoencoders.py",
         "evaluation": "views/evaluation.py",
         "neurons": "views/neurons.py", "convolution": "views/convolution.py", "tricks": "views/tricks.py",
         "precision": "views/precision.py", "runs": "views/runs.py",
         "sweep": "views/sweep.py", "beyond": "views/beyond.py"}
HOSTILE = {"nope": "1", "lang": "xx", "present": "maybe", "train.step_delay": "86400", "train.num_threads": "64",
           "x" * 300: "1", "ünï": "ç", "train.epochs": "nan", "lr": "1e308", "model": "abc", "index": "-1",
           "target": "0", "data.name": "x" * 5000, "eps": "inf", "surface": "-1", "c1": "ünï", "source": "\x00",
           "text.layers": "1e999", "forecast.models": "lstm,warp"}


def _fresh_jobs() -> None:
    """No jobs or background tasks from an earlier test (the registry is process-wide); the Explain page's
    quick model stays cached (it takes seconds to train)."""
    from app.state import registry

    registry().stop_all(wait=2)
    registry.clear()


def _open(page: str, query: dict[str, str]) -> AppTest:
    """`page` opened from a link (a fresh session: the app's first run is that page)."""
    _fresh_jobs()
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()  # Home first: switch_page needs one run
    at.query_params.clear()
    at.query_params.update(query)
    at.switch_page(PAGES[page]).run()
    assert not at.exception, at.exception
    return at


def _expected_ignored(page: str, query: dict[str, str]) -> list[str]:
    _, ignored = links.read(page, query, **_context(page))
    _, bad_globals = links.read_globals(query)
    return bad_globals + ignored


@functools.cache
def _context(page: str) -> dict:
    if page != "explain":
        return CONTEXT.get(page, {})
    from labcore.data import load_dataset
    from labcore.explain.features import QUICK_CONFIG

    data = load_dataset(QUICK_CONFIG.data)  # the page's default model: the quick shapes CNN
    return {"n_test": len(data.y_test), "n_classes": len(data.class_names)}


def _url_is_clean(at: AppTest, page: str) -> None:
    """What the page wrote into the URL is a link it reads without complaint."""
    query = dict(at.query_params)
    assert links.read(page, query, **_context(page))[1] == []
    assert links.read_globals(query)[1] == []


@pytest.mark.parametrize("page", list(PAGES))
def test_a_hostile_link_is_named_once_and_never_breaks_the_page(page):
    at = _open(page, HOSTILE)
    ignored = at.session_state["link_ignored"]
    assert ignored == _expected_ignored(page, HOSTILE)
    assert {"nope", "lang", "present", "train.num_threads", "ünï"} <= set(ignored)
    warnings = [w.value for w in at.warning if "settings the page cannot use" in w.value]
    assert len(warnings) == 1 and "nope" in warnings[0] and "and" in warnings[0]
    _url_is_clean(at, page)
    # a day's delay per batch: ignored, or on the Train page snapped to its slowest slow motion (50 ms, Stop wakes it)
    assert dict(at.query_params).get("train.step_delay") in (None, "0.05")


@pytest.mark.parametrize("page", list(PAGES))
def test_generated_links_open_cleanly(page):
    names, tokens = _names_and_tokens(page)
    query = hst.dictionaries(hst.sampled_from([*names, "lang", "present", "nope"]),
                             hst.one_of(hst.sampled_from(tokens), hst.sampled_from(["nan", "-1", "1e308", "abc", ""])),
                             max_size=6)

    # 3 per page in `make test`; LAB_LINK_EXAMPLES=112 runs ~1000 links over the nine pages (about 10 min)
    @settings(max_examples=int(os.environ.get("LAB_LINK_EXAMPLES", 3)), deadline=None, derandomize=True,
              database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(query)
    def check(q):
        at = _open(page, q)
        assert at.session_state["link_ignored"] == _expected_ignored(page, q)
        _url_is_clean(at, page)

    check()


# One setting per page, changed through its widget: (widget kind, key, value, link param, its text).
CHANGES = {
    "train": ("selectbox", "data.name", "shapes", "data.name", "shapes"),
    "playground": ("slider", "pg.steps", 120, "steps", "120"),
    "race": ("slider", "race.epochs", 3, "train.epochs", "3"),
    "explain": ("select_slider", "ex_eps", 0.05, "eps", "0.05"),
    "transfer": ("slider", "tl.epochs", 7, "train.epochs", "7"),
    "sequences": ("slider", "seq.horizon", 3, "forecast.horizon", "3"),
    "attention": ("slider", "att.layers", 3, "text.layers", "3"),
    "autoencoders": ("slider", "ae.latent", 8, "latent_dim", "8"),
    "neurons": ("slider", "nr.depth.layers", 5, "depth.layers", "5"),
    "evaluation": ("slider", "ev.threshold", 0.3, "threshold", "0.3"),
    "convolution": ("slider", "conv.grid_s", 2, "grid.s", "2"),
    "tricks": ("slider", "tk.init.depth", 30, "init.depth", "30"),
    "precision": ("select_slider", "pr.scale", 256, "scale", "256"),
    "runs": ("number_input", "rn.limit", 50, "limit", "50"),
    "sweep": ("slider", "sw.epochs", 5, "epochs", "5"),
    "beyond": ("slider", "by.seg.epochs", 3, "seg.epochs", "3"),
}


def test_every_page_keeps_its_setup_across_navigation():
    """Issue 18: set each page up, visit all the others, come back: the widgets and the URL show it again."""
    _fresh_jobs()
    at = AppTest.from_file(APP, default_timeout=60).run()

    def go(page: str, query: dict[str, str] | None = None) -> None:
        at.query_params.clear()  # the browser's sidebar navigation starts a page with an empty query
        at.query_params.update(query or {})
        at.switch_page(PAGES[page] if page in PAGES else page).run()
        assert not at.exception, at.exception

    for page, (kind, key, value, param, text) in CHANGES.items():
        go(page)
        getattr(at, kind)(key=key).set_value(value).run()
        assert not at.exception, at.exception
        assert at.query_params[param] == text
    go("try-it", {"source": "camera"})  # no model trained yet: its picker is not drawn, the link still counts
    go("views/home.py")
    for page, (kind, key, value, param, text) in CHANGES.items():
        go(page)
        assert getattr(at, kind)(key=key).value == value, page
        assert at.query_params[param] == text, page
    go("try-it")
    assert at.session_state["try.source"] == "camera" and at.query_params["source"] == "camera"


def test_train_keeps_learning_rate_and_data_across_pages():
    """Issue 18's report: Moons and lr 0.01, to the playground and back."""
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(PAGES["train"]).run()
    at.selectbox(key="data.name").set_value("moons").run()
    at.select_slider(key="optim.adam.lr").set_value(0.01).run()
    at.query_params.clear()
    at.switch_page(PAGES["playground"]).run()
    at.query_params.clear()
    at.switch_page(PAGES["train"]).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="data.name").value == "moons"
    assert at.select_slider(key="optim.adam.lr").value == 0.01
    assert at.query_params["data.name"] == "moons" and at.query_params["optim.lr"] == "0.01"


def test_the_language_and_presentation_travel_with_the_link():
    at = _open("autoencoders", {"lang": links.languages()[-1], "present": "1", "latent_dim": "4"})
    assert at.session_state["lang"] == links.languages()[-1] and at.session_state["present"] is True
    assert dict(at.query_params) == {"latent_dim": "4", "lang": links.languages()[-1], "present": "1"}
    assert at.session_state["link_ignored"] == []


# -- the link offers exactly what the widgets offer --------------------------------------------------------------
SETUPS = {  # the default setup and others whose widgets differ
    "train": [{}, {"data.name": "moons", "model.name": "mlp", "optim.name": "momentum", "optim.schedule": "step"},
              {"data.name": "shapes", "optim.name": "rmsprop", "optim.schedule": "exponential"}],
    "explain": [{}], "transfer": [{}, {"backbone": "resnet18"}], "sequences": [{}], "attention": [{}],
    "autoencoders": [{}, {"model": "vae"}], "playground": [{}, {"surface": "saddle"}],
    "race": [{}, {"c1": "lion", "c2": "momentum", "c3": "rmsprop", "c4": "adamw"}],
    "convolution": [{}, {"source": "photo", "kernel": "custom", "padding": "1"}],
    "sweep": [{}, {"method": "random", "data": "wine"}],
}
RACE_KEYS = {"data": "race.data", "model": "race.model", "train.epochs": "race.epochs", "train.batch_size": "race.batch",
             "train.seed": "race.seed", "target": "race.target"}


def _widget_key(at: AppTest, page: str, name: str, values: dict) -> str | None:
    from app.links import KEYS

    if page == "train":
        return _train_key(name, values)
    if page == "playground":
        return None if name == "on" else "pg." + name  # `on`: one toggle per optimizer, checked below
    if page == "race":
        if name in RACE_KEYS:
            return RACE_KEYS[name]
        contender, _, field = name.partition(".")
        cid = at.session_state["race.ids"][int(contender[1:]) - 1]
        return f"race.c{cid}.{field or 'name'}"
    return KEYS[page][name]


def _train_key(name: str, values: dict) -> str:
    from app.widgets import PER_OPTIMIZER, PER_SCHEDULE, key
    from labcore.data import dataset_info

    group, field = name.split(".")
    if group == "model":
        owner = dataset_info(values["data.name"]).kind if field == "name" else values["model.name"]
        return key("model", field, owner) if field != "name" else key("model", "name", owner)
    if group == "optim":
        owner = values["optim.name"] if field in PER_OPTIMIZER else \
            values["optim.schedule"] if field in PER_SCHEDULE else ""
        return key("optim", field, owner)
    return key(group, field)


def _same_offer(p, widget) -> None:
    kind = type(widget).__name__
    if kind == "Slider":
        assert (widget.proto.min, widget.proto.max) == pytest.approx((p.lo, p.hi)), p.name
        if p.step is not None:
            assert widget.proto.step == pytest.approx(p.step), p.name
    elif kind == "NumberInput":
        assert (widget.min, widget.max) == pytest.approx((p.lo, p.hi)), p.name
    elif kind == "Toggle":
        assert isinstance(p.default, bool), p.name
    elif kind == "TextInput":  # free text (a typed kernel)
        assert isinstance(p.default, str) and not p.choices, p.name
    else:  # select_slider, selectbox, multiselect, radio, segmented control: the same list of choices
        assert len(widget.options) == len(p.choices), (p.name, widget.options, p.choices)
        if kind == "Multiselect":
            assert (widget.proto.max_selections or None) == p.most, p.name
        value = widget.value
        for v in value if isinstance(value, list) else [value]:
            assert v in p.choices, (p.name, v)


@pytest.mark.parametrize("page", list(SETUPS))
def test_a_link_offers_exactly_what_the_widgets_offer(page):
    for query in SETUPS[page]:
        at = _open(page, query)
        values, _ = links.read(page, query, **_context(page))
        if page == "race":  # no contender named: the page races the default three
            values = links.race_values(links.race_config(values))
        checked = 0
        for p in links.SCHEMAS[page](values, **_context(page)):
            if values.get(p.name) is None and p.default is None:  # a race lane nobody asked for
                continue
            if p.name == "panel":  # the open tab (app.links.tabs), not a widget under the param's key
                assert at.session_state[_widget_key(at, page, p.name, values)] in p.choices
                continue
            key = _widget_key(at, page, p.name, values)
            if key is None:
                assert all(at.get_by_key(f"pg.{o}.on") is not None for o in p.choices)
                continue
            try:
                widget = at.get_by_key(key)
            except (KeyError, ValueError):
                widget = None
            if widget is None:
                assert page == "explain" and p.name in ("index",) and values["source"] == "upload", (page, p.name)
                continue
            _same_offer(p, widget)
            checked += 1
        assert checked >= 3, page
