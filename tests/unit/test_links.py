"""Page links (labcore.links, labcore.share.read/write): whatever a link says, a page gets only values its widgets
offer; unusable params are named; a page's own link reads back to the same setup. Thousands of generated links
per page go through the pure validator (hypothesis), plus the cases the issues name."""

from __future__ import annotations

import functools
import math
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labcore import links, presets, share
from labcore.config import RunConfig
from labcore.i18n import languages

CONTEXT = {"explain": {"n_test": 150, "n_classes": 4}, "train": {"cuda": False}}
JUNK = ["nan", "NaN", "inf", "-inf", "1e308", "-1e308", "1e999", "-1", "0", "-0", "abc", "", " ", "-", "x" * 5000,
        "ünïcödé", "中文", "1" * 300, "0x10", "1_000", "None", "true", "1,2", "\x00", "3.5", "-0.5", "1e-300"]


def _schema(page: str):
    return functools.partial(links.SCHEMAS[page], **CONTEXT.get(page, {}))


@functools.cache
def _names_and_tokens(page: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Every param name the page's schema can yield (setups explored one choice at a time, two levels deep)
    and the texts of every choice and range end it offers."""
    schema, names, tokens, seen = _schema(page), set(), set(), set()
    todo = [{}]
    for _ in range(2):
        nxt = []
        for query in todo:
            values, _ = share.read(schema, query)
            for p in schema(values):
                names.add(p.name)
                tokens.update(share.text_of(c) for c in p.choices)
                tokens.update(share.text_of(x) for x in (p.lo, p.hi, p.default) if x is not None)
                if p.choices and not p.many and not share._numeric(p.choices):
                    for c in p.choices:
                        q = {**query, p.name: share.text_of(c)}
                        key = tuple(sorted(q.items()))
                        if key not in seen:
                            seen.add(key)
                            nxt.append(q)
        todo = nxt[:400]
    return tuple(sorted(names)), tuple(sorted(tokens))


def _query(page: str):
    names, tokens = _names_and_tokens(page)
    name = st.one_of(st.sampled_from(names), st.sampled_from(names), st.sampled_from([*links.GLOBALS, "nope",
                     "train.step_delay", "train.num_threads", "train.device", "x" * 300, "ünï"]), st.text(max_size=8))
    value = st.one_of(
        st.sampled_from(tokens), st.sampled_from(tokens), st.sampled_from(JUNK),
        st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers(-10**12, 10**12).map(str),
        st.lists(st.sampled_from(tokens), max_size=4).map(",".join), st.text(max_size=8))
    return st.dictionaries(name, value, max_size=10)


def _check(page: str, query: dict[str, str]) -> None:
    values, ignored = links.read(page, query, **CONTEXT.get(page, {}))
    params = list(_schema(page)(values))
    for p in params:  # every value is one the page's widget offers
        assert share.valid(p, values[p.name]), (p, values[p.name], query.get(p.name))
    names = {p.name for p in params}
    for k in query:  # a name the setup has no widget for is named, never used
        if k not in names and k not in links.GLOBALS:
            assert k in ignored
    assert set(ignored) <= set(query)
    # The page's own link (what it writes) reads back to the very same setup, with nothing to complain about.
    again, complaints = links.read(page, links.write(page, values, **CONTEXT.get(page, {})), **CONTEXT.get(page, {}))
    assert complaints == [] and {k: again[k] for k in names} == {k: values[k] for k in names}


@pytest.mark.parametrize("page", list(links.SCHEMAS))
def test_generated_links_give_only_what_the_widgets_offer(page):
    @settings(max_examples=1000, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(_query(page))
    def check(query):
        _check(page, query)

    check()


@pytest.mark.parametrize("page", list(links.SCHEMAS))
@pytest.mark.parametrize("junk", JUNK)
def test_junk_in_every_param_never_breaks_a_page(page, junk):
    names, _ = _names_and_tokens(page)
    _check(page, {name: junk for name in names})


def test_issue_20_a_link_cannot_slow_or_pin_training():
    query = {"train.step_delay": "86400", "train.num_threads": "64", "train.device": "cuda:7", "train.epochs": "1e9",
             "data.val_fraction": "0.99"}
    values, ignored = links.read("train", query)
    cfg = links.train_config(values)
    # the Train page's slow motion is a sidebar setting (at most 50 ms a batch, woken by Stop): a day snaps to it
    assert cfg.train == replace(RunConfig().train, step_delay=0.05)  # 1e9 epochs is junk, not "the maximum"
    assert set(ignored) == set(query) - {"train.step_delay"}
    for page in ("race", "autoencoders", "transfer"):
        _, ignored = links.read(page, query)
        assert {"train.step_delay", "train.num_threads", "train.device"} <= set(ignored)


def test_select_sliders_snap_numbers_clamp_junk_falls_back():
    values, ignored = links.read("train", {"train.batch_size": "100", "optim.lr": "0.003", "train.epochs": "500",
                                           "train.seed": "-3", "optim.weight_decay": "1e-7", "model.depth": "2.6"})
    assert values["train.batch_size"] == 128 and values["optim.lr"] == 0.002 and values["train.epochs"] == 100
    assert values["train.seed"] == 0 and ignored == ["train.seed"]  # negative: junk, the default stays
    assert values["optim.weight_decay"] == 1e-5 and values["model.depth"] == 3


def test_names_depend_on_the_setup():
    # Noise is a setting of the 2-D toys; an MLP has no kernel; SGD has no beta.
    _, ignored = links.read("train", {"data.noise": "0.2", "model.name": "mlp", "model.kernel_size": "5",
                                      "optim.name": "sgd", "optim.beta1": "0.5"})
    assert ignored == ["data.noise", "model.kernel_size", "optim.beta1"]
    values, ignored = links.read("train", {"data.name": "moons", "data.noise": "0.2", "model.name": "cnn"})
    assert values["model.name"] == "mlp" and values["data.noise"] == 0.2 and ignored == ["model.name"]


def test_globals():
    assert links.read_globals({"lang": "xx", "present": "1"}) == ({"present": True}, ["lang"])
    assert links.read_globals({"lang": languages()[-1], "present": "0"}) == ({"lang": languages()[-1], "present": False}, [])
    assert links.read_globals({"present": "maybe"}) == ({}, ["present"])
    values, ignored = links.read("train", {"lang": "xx", "present": "1"})
    assert ignored == []  # globals are the app's business, not the page's


def test_race_needs_two_contenders():
    values, ignored = links.read("race", {"c1": "adam", "c2": "warp-drive"})
    assert ignored == ["c2", "c1"]
    cfg = links.race_config(values)
    assert [c.optim.name for c in cfg.contenders] == ["adam", "sgd", "rmsprop"]
    values, ignored = links.read("race", {"c1": "lion", "c3": "sgd", "c3.batch": "256"})
    cfg = links.race_config(values)
    assert ignored == [] and [(c.optim.name, c.batch_size) for c in cfg.contenders] == [("lion", 0), ("sgd", 256)]
    assert links.race_config(links.read("race", links.write("race", links.race_values(cfg)))[0]) == cfg


def test_every_preset_link_reads_without_complaint():
    for p in presets.PRESETS:
        if p.page in links.SCHEMAS and p.query:
            values, ignored = links.read(p.page, p.query, **CONTEXT.get(p.page, {}))
            assert ignored == [], (p.id, ignored)


def test_page_configs_round_trip():
    from labcore.playground.config import default_config
    from labcore.train.race_setup import PRESETS as RACES
    from labcore.train.race_setup import preset

    cfg = RunConfig().with_(data={"name": "moons", "noise": 0.2, "n_samples": 400}, model={"name": "mlp", "depth": 4},
                            optim={"name": "momentum", "lr": 0.05, "schedule": "step", "step_epochs": 3, "gamma": 0.3})
    values, ignored = links.read("train", links.write("train", links.train_values(cfg)))
    assert ignored == [] and links.train_config(values) == cfg
    for name in RACES:
        race = preset(name)
        assert links.race_config(links.read("race", links.write("race", links.race_values(race)))[0]) == race
    pg = default_config("ravine")
    assert links.playground_config(links.read("playground", links.write("playground", links.playground_values(pg)))[0]) == pg


def test_formatting_is_short_and_exact():
    assert share.text_of(0.15000000000000002) == "0.15" and share.text_of(1e-5) == "1e-05"
    assert share.text_of(True) == "1" and share.text_of(()) == share.NONE and share.text_of((0, 3)) == "0,3"
    assert math.isclose(float(share.text_of(0.9999)), 0.9999)
