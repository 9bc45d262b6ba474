"""Optimizer playground: real torch.optim optimizers race on classic 2-D loss surfaces, and the book's
one-weight example shows a learning rate turning from smooth to zig-zag to exploding.

Every widget's key is "pg." + a field of `labcore.playground.share`, so the whole setup moves between
the widgets, a `PlaygroundConfig` and the URL with three small loops and no per-widget code.
"""

from __future__ import annotations

import streamlit as st

from app import links
from app.state import lang, tr
from labcore.links import playground_config, playground_values
from labcore.playground import book
from labcore.playground.config import (
    RANGES,
    STEPS_RANGE,
    PlaygroundConfig,
    default_config,
    start_step,
    with_surface,
)
from labcore.playground.share import CHOICES, from_fields, to_fields
from labcore.playground.surfaces import SURFACES
from labcore.playground.trajectories import PathCache
from labcore.viz import contour_figure, loss_vs_step_figure, optimizer_color, parabola_figure

K = "pg."  # prefix of this page's widget keys
BOOK_STEPS = 12
FIELDS = list(to_fields(default_config()))
LABELS = {"lr": "ui.lr", "momentum": "ui.momentum", "alpha": "ui.alpha", "weight_decay": "ui.weight_decay",
          "beta1": "playground.beta1", "beta2": "playground.beta2", "eps": "playground.eps"}


def _seed(cfg: PlaygroundConfig, overwrite: bool) -> None:
    for key, value in to_fields(cfg).items():
        if overwrite or K + key not in st.session_state:
            st.session_state[K + key] = value


def _current() -> PlaygroundConfig:
    return from_fields({key: st.session_state[K + key] for key in FIELDS})


def _on_surface() -> None:
    # A new surface brings its own start point and learning rates; which optimizers are on stays.
    _seed(with_surface(st.session_state["pg_config"], st.session_state[K + "surface"]), overwrite=True)


def _on_map_click() -> None:
    points = st.session_state[K + "map"].selection.points
    if points:
        surface = SURFACES.get(st.session_state[K + "surface"])
        x0, x1, y0, y1 = surface.box
        dx, dy = start_step(surface.name)
        st.session_state[K + "x"] = min(max(round(points[0]["x"] / dx) * dx, x0), x1)
        st.session_state[K + "y"] = min(max(round(points[0]["y"] / dy) * dy, y0), y1)


# -- the setup: a freshly opened link, else the setup this page had when the user left it (app/links.py) ------
links.setup(links.PageLink("playground", load=lambda values: _seed(playground_config(values), overwrite=True)))
_seed(st.session_state.get("pg_config", default_config()), overwrite=False)


def _option_slider(name: str, option: str) -> None:
    """The widget for one optimizer setting: a log-spaced choice for lr, eps and weight decay, else a slider."""
    key, label = f"{K}{name}.{option}", tr(LABELS[option])
    if option in CHOICES:
        st.select_slider(label, CHOICES[option], key=key, format_func=lambda v: f"{v:g}")
    else:
        lo, hi, step = RANGES[option]
        st.slider(label, lo, hi, step=step, key=key, format="%.4f" if option == "beta2" else "%.3f")


with st.sidebar:
    st.selectbox(tr("playground.surface"), SURFACES.names(), key=K + "surface", on_change=_on_surface,
                 format_func=lambda n: tr(f"playground.surface_{n}"))
    surface = SURFACES.get(st.session_state[K + "surface"])
    st.caption(tr(surface.about_key))
    (x0, x1, y0, y1), (dx, dy) = surface.box, start_step(surface.name)
    st.slider(tr("playground.start_x"), float(x0), float(x1), step=dx, key=K + "x")
    st.slider(tr("playground.start_y"), float(y0), float(y1), step=dy, key=K + "y")
    st.slider(tr("playground.steps"), STEPS_RANGE[0], STEPS_RANGE[1], step=STEPS_RANGE[2], key=K + "steps")
    st.subheader(tr("playground.optimizers"))
    for setup in default_config().optimizers:
        with st.container(key=f"pg-opt-{setup.name}"), st.expander(tr(f"optimizers.{setup.name}")):
            st.toggle(tr("playground.show"), key=f"{K}{setup.name}.on")
            for option in setup.options():
                _option_slider(setup.name, option)
            if setup.name == "adam":
                st.toggle(tr("playground.bias_correction"), key=K + "adam.bias_correction",
                          help=tr("playground.bias_correction_help"))

cfg = _current()
st.session_state["pg_config"] = cfg
links.publish(playground_values(cfg))

# Each optimizer's colour on its expander's edge; a switched-off one is greyed out.
st.html("<style>" + "".join(
    f".st-key-pg-opt-{s.name} details {{border-left: 5px solid {optimizer_color(s.name)};}}"
    + ("" if s.enabled else f".st-key-pg-opt-{s.name} summary {{opacity: 0.45;}}")
    for s in cfg.optimizers) + "</style>")

# -- the race ---------------------------------------------------------------------------------------------
st.title(tr("playground.title"))
st.caption(tr("playground.intro"))
paths = st.session_state.setdefault("pg_paths", PathCache()).paths(surface, cfg.enabled(), cfg.start, cfg.steps)
left, right = st.columns([3, 2])
with left:
    st.plotly_chart(contour_figure(surface, paths, cfg.start, lang=lang()), key=K + "map",
                    on_select=_on_map_click, selection_mode="points", config={"displaylogo": False})
with right:
    st.plotly_chart(loss_vs_step_figure(paths, lang=lang()), key=K + "loss", config={"displaylogo": False})
st.caption(tr("playground.how_to"))
if not paths:
    st.info(tr("playground.none_on"))
blown = [tr(f"optimizers.{p.name}") for p in paths if p.diverged_at is not None]
if blown:
    st.warning(tr("playground.diverged_note", names=", ".join(blown)))

# -- the book's one-weight example --------------------------------------------------------------------------
st.divider()
st.subheader(tr("playground.book_title"))
st.markdown(tr("playground.book_intro"))
slider_col, verdict_col = st.columns([2, 3], vertical_alignment="center")
lo, hi, step = RANGES["book_lr"]
slider_col.slider(tr("playground.book_lr"), lo, hi, step=step, key=K + "eta", format="%.3f")
regime = book.regime(cfg.book_lr)
box = {"smooth": verdict_col.success, "one_step": verdict_col.success, "oscillating": verdict_col.info,
       "bouncing": verdict_col.warning, "diverging": verdict_col.error}[regime]
box(tr(f"playground.regime_{regime}", lr=cfg.book_lr, keep=abs(book.factor(cfg.book_lr))))
st.plotly_chart(parabola_figure(book.descend(cfg.book_lr, BOOK_STEPS), lang=lang()), key=K + "book",
                config={"displaylogo": False})
st.caption(tr("playground.share"))
