"""Home page: what the lab is and where to go."""

from __future__ import annotations

import streamlit as st

from app.state import tr

st.title(tr("home.title"))
st.markdown(tr("home.intro"))

left, right = st.columns(2)
with left.container(border=True):
    st.subheader(tr("home.train_title"))
    st.markdown(tr("home.train_body"))
    st.page_link("views/train.py", label=tr("home.train_link"), icon=":material/arrow_forward:")
with right.container(border=True):
    st.subheader(tr("home.how_title"))
    st.markdown(tr("home.how_body"))

st.subheader(tr("home.coming_title"))
st.markdown(tr("home.coming_body"))
