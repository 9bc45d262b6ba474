"""Streamlit components the lab writes itself (no build step, no CDN: HTML, CSS and JS shipped in app/)."""
