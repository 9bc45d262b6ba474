"""Evaluation (lessons 5 and 22): thresholds, calibration, and a small MLP against classic models on tables.

Pure functions, no streamlit: every metric number comes from sklearn.metrics (tests compare them)."""
