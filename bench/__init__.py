"""Benchmarks that need the Streamlit app (labcore itself never imports streamlit): run through
`python -m labcore bench <name>`, which starts them in a subprocess."""
