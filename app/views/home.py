"""Home page: what the lab is and where to go."""

from __future__ import annotations

import streamlit as st

from app.state import tr

# (page file, catalogue stem, icon): one card per page, in the order a course meets them.
CARDS = (
    ("views/train.py", "train", ":material/monitoring:"),
    ("views/playground.py", "playground", ":material/landscape:"),
    ("views/race.py", "race", ":material/sports_score:"),
    ("views/explain.py", "explain", ":material/visibility:"),
    ("views/transfer.py", "transfer", ":material/move_up:"),
    ("views/try_it.py", "try_it", ":material/touch_app:"),
    ("views/sequences.py", "sequences", ":material/timeline:"),
    ("views/attention.py", "attention", ":material/grid_view:"),
    ("views/autoencoders.py", "autoencoders", ":material/compress:"),
)

st.title(tr("home.title"))
st.markdown(tr("home.intro"))

with st.container(border=True):
    st.subheader(tr("home.how_title"))
    st.markdown(tr("home.how_body"))

for row in range(0, len(CARDS), 3):
    for col, (page, stem, icon) in zip(st.columns(3), CARDS[row : row + 3], strict=False):
        with col.container(border=True, height="stretch"):
            st.markdown(f"**{tr(f'home.{stem}_title')}**")
            st.markdown(tr(f"home.{stem}_body"))
            st.page_link(page, label=tr("home.open"), icon=icon)
