"""Home page: the course map. The book's lessons in order (labcore.presets), each with what to show and a
button per demonstration that opens its page already set up; then a card per page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import present
from app.state import lang, tr
from labcore.i18n import DEFAULT_LANG
from labcore.presets import LESSONS, PARTS, Lesson, Preset, page_script, presets_for
from labcore.system import system_info

# (url_path, catalogue stem, icon): one card per page, in the order a course meets them.
CARDS = (
    ("train", "train", ":material/monitoring:"),
    ("playground", "playground", ":material/landscape:"),
    ("neurons", "neurons", ":material/hub:"),
    ("evaluation", "evaluation", ":material/rule:"),
    ("race", "race", ":material/sports_score:"),
    ("explain", "explain", ":material/visibility:"),
    ("transfer", "transfer", ":material/move_up:"),
    ("try-it", "try_it", ":material/touch_app:"),
    ("convolution", "convolution", ":material/blur_on:"),
    ("sequences", "sequences", ":material/timeline:"),
    ("attention", "attention", ":material/grid_view:"),
    ("autoencoders", "autoencoders", ":material/compress:"),
    ("beyond", "beyond", ":material/select_all:"),
    ("tricks", "tricks", ":material/tune:"),
    ("precision", "precision", ":material/decimal_increase:"),
    ("runs", "runs", ":material/history:"),
    ("sweep", "sweep", ":material/grid_on:"),
)
ICONS = {page: icon for page, _, icon in CARDS}
STATUS_ICONS = {"shown": ":material/check_circle:", "partly": ":material/incomplete_circle:",
                "not_yet": ":material/radio_button_unchecked:"}


def _carried() -> dict[str, str]:
    """Global settings every preset link keeps: the language and presentation mode."""
    keep = {"lang": lang()} if lang() != DEFAULT_LANG else {}
    return keep | ({"present": "1"} if present.presenting() else {})


def _label(lesson: Lesson) -> str:
    title = tr(lesson.title_key)
    if lesson.number is None:
        return tr("syllabus.seed", title=title)
    return tr("syllabus.lesson", number=lesson.number, title=title)


def _demo(preset: Preset, carried: dict[str, str]) -> None:
    st.page_link(page_script(preset.page), label=tr(preset.title_key), icon=ICONS[preset.page],
                 query_params={**preset.query, **carried})
    st.caption(tr(preset.help_key))


def _lesson(lesson: Lesson, carried: dict[str, str]) -> None:
    with st.expander(_label(lesson), icon=STATUS_ICONS[lesson.status]):
        st.markdown(tr(lesson.show_key))
        if lesson.missing_key:
            st.markdown(f":material/construction: *{tr('syllabus.not_yet', what=tr(lesson.missing_key))}*")
        demos = presets_for(lesson.id)
        for row in range(0, len(demos), 2):
            for col, preset in zip(st.columns(2), demos[row : row + 2], strict=False):
                with col:
                    _demo(preset, carried)


def _gb(x: float | None) -> str:
    return tr("home.system_none") if x is None else tr("home.system_gb", gb=f"{x:,.1f}")


def _system() -> None:
    """Lesson 17: what this lab runs on, read afresh on each run of the page (a few cheap system calls)."""
    s = system_info()
    none = tr("home.system_none")
    device = tr("home.system_gpu" if s.device == "cuda" else "home.system_cpu", name=s.device_name)
    rows = [("device", device), ("gpu_memory", _gb(s.gpu_memory_gb)), ("threads", str(s.torch_threads)),
            ("cpus", str(s.cpu_count)),
            ("versions", " · ".join((s.torch_version, s.torchvision_version or none, s.cuda_version or none,
                                     s.python_version))),
            ("ram", f"{_gb(s.ram_available_gb)} / {_gb(s.ram_total_gb)}"),
            ("disk", f"{_gb(s.disk_free_gb)} ({s.data_dir})")]
    with st.expander(tr("home.system_title"), icon=":material/memory:"):
        st.caption(tr("home.system_intro"))
        st.dataframe(pd.DataFrame({tr("home.system_item"): [tr(f"home.system_{k}") for k, _ in rows],
                                   tr("home.system_value"): [v for _, v in rows]}), hide_index=True, width="stretch")


st.title(tr("home.title"))
st.markdown(tr("home.intro"))
st.subheader(tr("syllabus.heading"))
st.markdown(tr("syllabus.intro"))
st.caption(" · ".join(f"{icon} {tr(f'syllabus.status_{status}')}" for status, icon in STATUS_ICONS.items()))

carried = _carried()
for part, ids in PARTS:
    st.markdown(f"#### {tr(f'syllabus.part_{part}')}")
    for lesson in LESSONS:
        if lesson.id in ids:
            _lesson(lesson, carried)

st.subheader(tr("syllabus.all_pages"))
for row in range(0, len(CARDS), 3):
    for col, (page, stem, icon) in zip(st.columns(3), CARDS[row : row + 3], strict=False):
        with col.container(border=True, height="stretch"):
            st.markdown(f"**{tr(f'home.{stem}_title')}**")
            st.markdown(tr(f"home.{stem}_body"))
            st.page_link(page_script(page), label=tr("home.open"), icon=icon, query_params=carried)

_system()
