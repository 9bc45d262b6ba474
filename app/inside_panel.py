"""Train page, "Inside the network": per-layer activations, gradients and weights of the run, live and after it.

Drawn inside the page's polling fragment, so it follows the run at the same pace; its figures are built
only while the expander is open (its state is the widget value `inside_open`).
"""

from __future__ import annotations

import streamlit as st

from app.state import lang, tr
from labcore.viz.inside import distribution_figure, health_figure, std_figure, update_ratio_figure, weight_norm_figure

OPEN_KEY = "inside_open"


def show(job) -> None:
    """The expander under the live curves for a Train-page job (one with a `trainer`)."""
    with st.expander(tr("inside.title"), icon=":material/biotech:", key=OPEN_KEY, on_change="rerun"):
        if not st.session_state.get(OPEN_KEY):
            return  # closed: nothing to build
        trainer = getattr(job, "trainer", None)
        inspector = getattr(trainer, "inspector", None)
        if inspector is None:
            st.info(tr("inside.waiting" if trainer is None else "inside.off"))
            return
        records = inspector.snapshot()
        st.caption(tr("inside.intro", looks=len(records)))
        lang_ = lang()
        left, right = st.columns(2)
        left.markdown(f"**{tr('inside.std_act_title')}**")
        left.plotly_chart(std_figure(records, "act", lang=lang_), key="inside_std_act")
        right.markdown(f"**{tr('inside.std_grad_title')}**")
        right.plotly_chart(std_figure(records, "grad", lang=lang_), key="inside_std_grad")

        names = inspector.layer_names
        if names:
            if st.session_state.get("inside_layer") not in names:
                st.session_state["inside_layer"] = names[0]  # a new run's layers: start from the first
            pick, kind_col = st.columns([2, 3], vertical_alignment="bottom")
            layer = pick.selectbox(tr("inside.layer"), names, key="inside_layer")
            kind = kind_col.segmented_control(tr("inside.show"), ["act", "grad"], default="act", required=True,
                                              format_func=lambda k: tr(f"inside.kind_{k}"), key="inside_kind")
            st.markdown(f"**{tr('inside.distribution_title', layer=layer)}**")
            st.plotly_chart(distribution_figure(records, layer, kind or "act", lang=lang_), key="inside_heat")

        left, right = st.columns(2)
        left.markdown(f"**{tr('inside.health_title')}**")
        left.plotly_chart(health_figure(records, lang=lang_), key="inside_health")
        right.markdown(f"**{tr('inside.update_title')}**")
        right.plotly_chart(update_ratio_figure(records, lang=lang_), key="inside_update")
        st.markdown(f"**{tr('inside.norm_title')}**")
        st.plotly_chart(weight_norm_figure(records, lang=lang_), key="inside_norm")
        st.caption(tr("inside.how_to_read"))
