"""Image grids: a stitched `mosaic` (also handy for `st.image`) and a plotly figure of it with titles.

The figure sends one small PNG; the browser enlarges it nearest-neighbour, so 8x8 digits stay crisp.
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np
import plotly.graph_objects as go

from labcore.i18n import t
from labcore.viz.theme import message_annotation, styled_figure

TILE_PX = 64  # about how large each image appears on screen
TITLE_PX = 16  # screen height reserved above each image for its title
TITLE_FONT = 11


def _as_nhwc_uint8(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W), (N, H, W, C) or (N, H, W) with C in {1, 3} -> (N, H, W, 3) uint8."""
    a = np.asarray(images)
    if a.ndim == 2:  # a single grayscale image
        a = a[None]
    if a.ndim == 3:
        a = a[..., None]
    elif a.ndim == 4 and a.shape[1] in (1, 3) and a.shape[-1] not in (1, 3):
        a = a.transpose(0, 2, 3, 1)
    if a.ndim != 4 or a.shape[-1] not in (1, 3):
        raise ValueError(f"expected images shaped (N, C, H, W) with C in 1 or 3, got {np.shape(images)}")
    if a.dtype != np.uint8:
        # Floats are taken as 0..1; normalised inputs outside it are clipped rather than wrapped.
        a = np.clip(np.nan_to_num(a.astype(np.float32)) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)  # grayscale shown as gray, not through a colour map
    return a


def png_data_uri(pixels: np.ndarray) -> str | None:
    """(H, W, 3 or 4) uint8 -> a PNG data URI for plotly's image `source`; None without Pillow.

    A PNG is far smaller than the raw array plotly would otherwise send (and JSON-escape), which
    matters for charts re-sent on every rerun.
    """
    try:
        from PIL import Image  # Pillow comes with torchvision; optional here all the same
    except ImportError:
        return None
    buffer = io.BytesIO()
    # Fastest compression: these pictures are small and rebuilt often.
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _auto_upscale(h: int, w: int) -> int:
    return max(1, round(TILE_PX / max(h, w)))


def _grid(tiles: np.ndarray, cols: int, pad: int, band: int, fill: int) -> tuple[np.ndarray, np.ndarray]:
    """Stitch (N, h, w, 3) tiles into an (H, W, 4) RGBA canvas; alpha 0 marks gaps and title bands.

    `band` rows are left free above each tile for its title. Returns the canvas and each tile's
    top-left (row, col) pixel.
    """
    n, h, w, _ = tiles.shape
    cols = max(1, min(cols, n))
    rows = math.ceil(n / cols)
    cell_h, cell_w = band + h + pad, w + pad
    canvas = np.full((rows * cell_h + pad, cols * cell_w + pad, 4), fill, dtype=np.uint8)
    canvas[..., 3] = 0
    r, c = np.divmod(np.arange(n), cols)
    tops, lefts = r * cell_h + pad + band, c * cell_w + pad
    for i in range(n):
        canvas[tops[i] : tops[i] + h, lefts[i] : lefts[i] + w, :3] = tiles[i]
        canvas[tops[i] : tops[i] + h, lefts[i] : lefts[i] + w, 3] = 255
    return canvas, np.stack([tops, lefts], axis=1)


def mosaic(
    images: np.ndarray, cols: int, pad: int = 1, upscale: int | None = None, pad_value: int = 255
) -> np.ndarray:
    """Stitch images into one (H, W, 3) uint8 picture, `cols` per row, `pad` pixels apart.

    `upscale` enlarges every pixel into an upscale x upscale block (nearest neighbour, so small
    images stay crisp); None picks a factor that makes each image about 64 px. The padding is applied
    after upscaling, so it stays `pad` pixels wide.
    """
    tiles = _as_nhwc_uint8(images)
    if upscale is None:
        upscale = _auto_upscale(*tiles.shape[1:3])
    if upscale > 1:
        tiles = tiles.repeat(upscale, axis=1).repeat(upscale, axis=2)
    canvas, _ = _grid(tiles, cols, pad, band=0, fill=pad_value)
    return canvas[..., :3].copy()


def image_grid_figure(
    images: np.ndarray,
    *,
    titles: list[str] | None = None,
    title_colors: list[str | None] | None = None,
    cols: int = 8,
    lang: str = "en",
    height: int | None = None,
) -> go.Figure:
    """A grid of images as one crisp picture, each with an optional title (colour it to mark right/wrong)."""
    tiles = _as_nhwc_uint8(images) if np.size(images) else np.zeros((0, 1, 1, 3), np.uint8)
    n, h, w, _ = tiles.shape
    hidden = {"visible": False, "showgrid": False, "zeroline": False}
    if n == 0:
        layout = {
            "xaxis": hidden,
            "yaxis": hidden,
            "plot_bgcolor": "rgba(0,0,0,0)",
            "margin": {"t": 0, "b": 0},
            "annotations": [message_annotation(t("viz.no_images", lang))],
        }
        return styled_figure([], layout, height=height or 200)

    # Tiny images (8x8 digits) are doubled here so a 1-pixel gap is not 8 screen pixels wide;
    # the browser does the rest of the enlarging, nearest-neighbour.
    pre = max(1, int(TILE_PX / max(h, w) // 3))
    if pre > 1:
        tiles = tiles.repeat(pre, axis=1).repeat(pre, axis=2)
        h, w = h * pre, w * pre
    scale = TILE_PX / max(h, w)  # screen px per canvas px when the figure gets the height we ask for
    band = math.ceil(TITLE_PX / scale) if titles else 0
    pad = max(1, round(2 / scale))  # gaps of about 2 screen px
    canvas, corners = _grid(tiles, cols, pad, band, fill=0)
    canvas_h, canvas_w = canvas.shape[:2]

    uri = png_data_uri(canvas)
    # zsmooth stays False (plotly's default): the browser enlarges the picture nearest-neighbour.
    picture = {"source": uri} if uri else {"z": canvas, "colormodel": "rgba256"}
    image = go.Image(**picture, hoverinfo="skip")
    annotations = []
    for i, text in enumerate((titles or [])[:n]):
        color = title_colors[i] if title_colors and i < len(title_colors) else None
        annotations.append(
            {
                "text": str(text),
                "x": corners[i, 1] + (w - 1) / 2,
                "y": corners[i, 0] - 0.5 - band / 2,
                "xref": "x",
                "yref": "y",
                "showarrow": False,
                "font": {"size": TITLE_FONT, **({"color": color} if color else {})},
            }
        )
    # Fixed ranges and square pixels: the grid scales as a whole and never stretches.
    layout = {
        "xaxis": {**hidden, "range": [-0.5, canvas_w - 0.5], "constrain": "domain"},
        "yaxis": {**hidden, "range": [canvas_h - 0.5, -0.5], "scaleanchor": "x", "constrain": "domain"},
        "annotations": annotations,
        "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
        "showlegend": False,
        "plot_bgcolor": "rgba(0,0,0,0)",  # gaps show the page (light or dark theme) through
    }
    return styled_figure([image], layout, height=height or math.ceil(canvas_h * scale))
