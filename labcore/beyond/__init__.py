"""Lesson 22 beyond classification: a tiny U-Net that segments the synthetic shapes pixel by pixel, a tiny
one-object detector (class head + box head), non-maximum suppression on candidate boxes, and the rules of thumb
that suggest an architecture for a kind of data and task. Pure logic and plotly figures; no Streamlit."""
