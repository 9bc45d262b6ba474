"""Evaluation (the book's lessons 5 and 22): a threshold moving along the ROC and precision-recall curves with
every metric it changes, the accuracy paradox, calibration and temperature scaling, and a small MLP against
classic models on the lab's tables (with permutation importance on breast cancer), and regression metrics (MAE, MSE,
RMSE, R², outliers) on the diabetes table (app.evaluation_regression), two messy generated tables (imbalance, categories,
missing values; app.evaluation_tables) and the user's own CSV (app.evaluation_upload).

The numbers come from labcore.evaluation (sklearn.metrics), the figures from labcore.viz.evaluation, the tabs from
app.evaluation_tabs. Every widget's key is "ev." + its link param.
"""

from __future__ import annotations

import streamlit as st

from app import evaluation_explain as explain_
from app import evaluation_regression as regression_
from app import evaluation_tables as tables_
from app import evaluation_tabs as tabs_
from app import evaluation_upload as upload_
from app import links
from app.state import tr
from labcore.links import EVALUATION_PANELS, evaluation_names

K = "ev."
PANEL = K + "panel"  # the open tab, as a panel name (the tabs widget itself holds its label, which is translated)
ss = st.session_state



links.setup_tabs("evaluation", K, EVALUATION_PANELS, evaluation_names())
st.title(tr("evaluation.title"))
st.caption(tr("evaluation.intro"))
tabs = links.tabs("evaluation", K, EVALUATION_PANELS)
with tabs[0]:
    tabs_.threshold()
with tabs[1]:
    tabs_.calibration_panel()
with tabs[2]:
    tabs_.compare_panel(ss[PANEL] == "compare")
    explain_.panel(ss[K + "cmp.data"], ss[PANEL] == "compare")  # SHAP and twin columns: after the tab's early returns
with tabs[3]:
    regression_.panel(ss[PANEL] == "regression")
with tabs[4]:
    tables_.panel(ss[PANEL] == "tables")
with tabs[5]:
    upload_.panel(ss[PANEL] == "upload")
