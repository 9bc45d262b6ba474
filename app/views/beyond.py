"""Beyond classification (the book's lesson 22): a tiny U-Net segments the shapes pixel by pixel, a tiny detector
predicts a class and a box, non-maximum suppression sorts a real detector's many candidate boxes, and a decision
helper suggests an architecture for a kind of data and task, with the lab page that shows it.

Training runs as engine jobs (labcore.beyond.train, a few seconds each); every widget's key is "by." + its link
param."""

from __future__ import annotations

import streamlit as st

from app import beyond_train, beyond_which, links
from app.state import tr
from labcore.links import BEYOND_PANELS, beyond_names

K = "by."

links.setup_tabs("beyond", K, BEYOND_PANELS, beyond_names())
st.title(tr("beyond.title"))
st.caption(tr("beyond.intro"))
PANELS = {"segment": lambda: beyond_train.panel("segment"), "detect": lambda: beyond_train.panel("detect"),
          "which": beyond_which.panel}
tabs = links.tabs("beyond", K, BEYOND_PANELS)
for tab, name in zip(tabs, BEYOND_PANELS, strict=True):
    with tab:
        PANELS[name]()
