"""The lab's shared figure look: colour-blind-safe palette, compact layout, thinning of long series.

Streamlit lays its own theme (font family, background, light/dark) over it, so we set only the rest.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

# Tableau 10: distinguishable for the common colour-vision deficiencies, readable on light and dark.
PALETTE: tuple[str, ...] = (
    "#4E79A7",  # blue
    "#F28E2B",  # orange
    "#E15759",  # red
    "#76B7B2",  # teal
    "#59A14F",  # green
    "#EDC948",  # yellow
    "#B07AA1",  # purple
    "#FF9DA7",  # pink
    "#9C755F",  # brown
    "#BAB0AC",  # grey
)
# Lighter companions for more than ten classes (Tableau 20's second tones).
PALETTE_LIGHT: tuple[str, ...] = (
    "#A0CBE8",
    "#FFBE7D",
    "#FF9D9A",
    "#86BCB6",
    "#8CD17D",
    "#F1CE63",
    "#D4A6C8",
    "#FABFD2",
    "#D7B5A6",
    "#79706E",
)

# Colours with a fixed meaning across every page.
TRAIN_COLOR = PALETTE[0]
VAL_COLOR = PALETTE[1]
GOOD_COLOR = "#2CA02C"  # right prediction: a green readable as text on light and dark pages
BAD_COLOR = "#D62728"  # wrong prediction
NEUTRAL_COLOR = "#888888"  # works on Streamlit's light and dark backgrounds

SEQUENTIAL_SCALE = "Blues"  # confusion matrices: more = darker

MAX_POINTS = 1500  # longest line we send to the browser; charts redraw twice a second


def class_colors(n: int) -> list[str]:
    """`n` distinct class colours: Tableau 10, then its light tones, then repeating."""
    colors = PALETTE + PALETTE_LIGHT
    return [colors[i % len(colors)] for i in range(n)]


def hex_to_rgb(color: str) -> np.ndarray:
    """'#RRGGBB' -> float array [r, g, b] in 0..255."""
    color = color.lstrip("#")
    return np.array([int(color[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


def rgba(color: str, alpha: float) -> str:
    r, g, b = hex_to_rgb(color).astype(int)
    return f"rgba({r},{g},{b},{alpha:g})"


def base_layout(*, height: int | None = None, hovermode: str | bool = "closest") -> dict:
    """The lab's compact layout as a plain dict (margins, top legend, font, hover, zoom memory)."""
    layout = {
        "margin": {"l": 8, "r": 8, "t": 36, "b": 8},
        "legend": {
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.0,
            "xanchor": "left",
            "x": 0.0,
            "bgcolor": "rgba(0,0,0,0)",
        },
        # Size only: the family comes from Streamlit's theme so charts match the page text.
        "font": {"size": 13},
        "hovermode": hovermode,
        # Keep the user's zoom/legend clicks when Streamlit re-sends the figure on the next rerun.
        "uirevision": "keep",
    }
    if height is not None:
        layout["height"] = height
    return layout


def style(fig: go.Figure, *, height: int | None = None, hovermode: str | bool = "closest") -> go.Figure:
    """Apply the lab's compact layout to `fig` in place and return it."""
    return fig.update_layout(base_layout(height=height, hovermode=hovermode))


def styled_figure(
    data: list, layout: dict, *, height: int | None = None, hovermode: str | bool = "closest"
) -> go.Figure:
    """Build a figure with the lab's look in one go (constructing once is several ms faster than
    constructing and then calling `style`, which matters for charts redrawn twice a second).
    Nested dicts in `layout` (legend, margin) refine the base ones rather than replace them.
    """
    merged = base_layout(height=height, hovermode=hovermode)
    for key, value in layout.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return go.Figure(data=data, layout=merged)


def message_annotation(text: str, xaxis: str | None = None, yaxis: str | None = None) -> dict:
    """A gentle note for an empty chart ("Press Train to start"), centred on the figure or on one panel."""
    return {
        "text": text,
        "xref": f"{xaxis} domain" if xaxis else "paper",
        "yref": f"{yaxis} domain" if yaxis else "paper",
        "x": 0.5,
        "y": 0.5,
        "showarrow": False,
        "font": {"size": 15, "color": NEUTRAL_COLOR},
    }


def downsample(n: int, max_points: int = MAX_POINTS, values: np.ndarray | None = None) -> np.ndarray:
    """Indices of at most `max_points` of `n` samples, always keeping the first and the last.

    With `values`, each bucket keeps its minimum and maximum (so spikes and divergence stay visible,
    which plain striding would hide); without, the indices are evenly spaced.
    """
    if n <= max_points:
        return np.arange(n)
    if values is None:
        return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
    inner = n - 2  # first and last are always kept
    per_bucket = -(-inner // max(1, (max_points - 2) // 2))  # ceil: two kept points per bucket
    buckets = -(-inner // per_bucket)
    v = np.asarray(values, dtype=np.float64)[1:-1]
    finite = np.isfinite(v)
    pad = buckets * per_bucket - inner
    # Non-finite values never win a bucket; padding only fills the last bucket, which has a real value.
    lo = np.concatenate([np.where(finite, v, np.inf), np.full(pad, np.inf)]).reshape(buckets, per_bucket)
    hi = np.concatenate([np.where(finite, v, -np.inf), np.full(pad, -np.inf)]).reshape(buckets, per_bucket)
    starts = np.arange(buckets) * per_bucket + 1
    picked = np.concatenate([[0], starts + lo.argmin(1), starts + hi.argmax(1), [n - 1]])
    return np.unique(picked)
