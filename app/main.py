"""Entry point: `streamlit run app/main.py`. Page frame, navigation, language."""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run app/main.py` puts app/ on sys.path, not the repo root; make `import app...` work either way.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Heavy libraries load here, on the script thread, before any training thread can import them
# concurrently (a lazy import of torch in a worker once broke numpy's import for the page).
import plotly.graph_objects  # noqa: E402,F401
import streamlit as st  # noqa: E402
import torch  # noqa: E402,F401

from app import links, present  # noqa: E402
from app.state import apply_direction, lease, tr  # noqa: E402
from labcore.i18n import language_name, languages  # noqa: E402

links.read_globals()  # `lang` and `present` from a shared link, before anything is drawn in its language
st.set_page_config(page_title=tr("app.title"), page_icon=":material/neurology:", layout="wide",
                   initial_sidebar_state="collapsed" if present.presenting() else "auto")
lease()  # ties this tab's training jobs to the tab's lifetime
apply_direction()
present.apply()
present.install_hooks()

VIEWS = Path(__file__).with_name("views")
# Sections follow the course: the lab's own tools, the basics (lessons 1-8), architectures (9-11), in practice.
pages = {
    tr("nav.section_lab"): [
        st.Page(VIEWS / "home.py", title=tr("nav.home"), icon=":material/home:", default=True),
        st.Page(VIEWS / "train.py", title=tr("nav.train"), icon=":material/monitoring:", url_path="train"),
        st.Page(VIEWS / "race.py", title=tr("nav.race"), icon=":material/sports_score:", url_path="race"),
        st.Page(VIEWS / "sweep.py", title=tr("sweep.nav"), icon=":material/grid_on:", url_path="sweep"),
        st.Page(VIEWS / "runs.py", title=tr("runs.nav"), icon=":material/history:", url_path="runs"),
    ],
    tr("nav.section_basics"): [
        st.Page(VIEWS / "neurons.py", title=tr("neurons.nav"), icon=":material/hub:", url_path="neurons"),
        st.Page(VIEWS / "playground.py", title=tr("nav.playground"), icon=":material/landscape:", url_path="playground"),
        st.Page(VIEWS / "evaluation.py", title=tr("evaluation.nav"), icon=":material/rule:", url_path="evaluation"),
        st.Page(VIEWS / "tricks.py", title=tr("tricks.nav"), icon=":material/tune:", url_path="tricks"),
        st.Page(VIEWS / "convolution.py", title=tr("convolution.nav"), icon=":material/blur_on:",
                url_path="convolution"),
    ],
    tr("nav.section_architectures"): [
        st.Page(VIEWS / "sequences.py", title=tr("sequences.nav"), icon=":material/timeline:", url_path="sequences"),
        st.Page(VIEWS / "attention.py", title=tr("attention.nav"), icon=":material/grid_view:", url_path="attention"),
        st.Page(VIEWS / "autoencoders.py", title=tr("autoencoders.nav"), icon=":material/compress:",
                url_path="autoencoders"),
        st.Page(VIEWS / "beyond.py", title=tr("beyond.nav"), icon=":material/select_all:", url_path="beyond"),
    ],
    tr("nav.section_practice"): [
        st.Page(VIEWS / "explain.py", title=tr("nav.explain"), icon=":material/visibility:", url_path="explain"),
        st.Page(VIEWS / "transfer.py", title=tr("transfer.nav"), icon=":material/move_up:", url_path="transfer"),
        st.Page(VIEWS / "try_it.py", title=tr("try_it.nav"), icon=":material/touch_app:", url_path="try-it"),
        st.Page(VIEWS / "precision.py", title=tr("precision.nav"), icon=":material/decimal_increase:",
                url_path="precision"),
    ],
}
nav = st.navigation(pages, expanded=True)  # every page in view: 18 pages in four sections
links.enter(nav.url_path)

if len(languages()) > 1:
    # No index: the value is the session's "lang" (English until one is chosen or linked).
    st.sidebar.selectbox(tr("nav.language"), languages(), key="lang", format_func=language_name,
                         on_change=present.to_link, args=("lang",))
present.toggle()

nav.run()
links.publish()  # the setup of a page that did not write it into the URL itself (app/links.py)
