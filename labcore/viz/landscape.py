"""Figures of the optimizer playground: a loss surface's contour map with every optimizer's path (and a
play button that replays them), loss against step, and the book's one-weight parabola.

Contours are drawn on log10(loss), so their levels are log-spaced: the flat floor of a valley gets as
many lines as its steep walls. Paths that fly off the map are clipped to it and marked in the legend.
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.colors import sample_colorscale

from labcore.i18n import t
from labcore.playground import book
from labcore.playground.surfaces import Surface
from labcore.playground.trajectories import Trajectory
from labcore.viz.theme import GOOD_COLOR, NEUTRAL_COLOR, base_layout, rgba

# One colour per optimizer, the same on every chart of the page (book, Fig 4.1: SGD blue, RMSProp green).
OPTIMIZER_COLORS: dict[str, str] = {
    "sgd": "#4E79A7",
    "momentum": "#F28E2B",
    "nesterov": "#9C755F",
    "adagrad": "#499894",
    "rmsprop": "#59A14F",
    "adam": "#E15759",
    "adamw": "#B07AA1",
    "lion": "#D37295",
}
# Low loss deep blue-green, high loss pale: the paths' colours stay readable on all of it.
SURFACE_SCALE = [[0.0, "#7E9FB8"], [0.35, "#B4CADA"], [0.7, "#E4ECF1"], [1.0, "#FBFAF6"]]
LOSS_FLOOR = 1e-12  # log axes need > 0; a path this close to a minimum is "there"
MAX_FRAMES = 50  # animation frames: enough to look smooth, few enough to build and send every redraw


def optimizer_color(name: str) -> str:
    return OPTIMIZER_COLORS.get(name, NEUTRAL_COLOR)


def path_label(traj: Trajectory, lang: str = "en") -> str:
    """Legend text: the optimizer's name, Adam's missing bias correction, and where it blew up."""
    label = t(f"optimizers.{traj.name}", lang)
    if traj.name == "adam" and not traj.setup.bias_correction:
        label = t("playground.no_bias_correction", lang, name=label)
    if traj.diverged_at is not None:
        label = t("playground.diverged_at", lang, name=label, step=traj.diverged_at)
    return label


def log_levels(f: np.ndarray, levels: int = 18) -> tuple[np.ndarray, float, float, float]:
    """(log10 f, lowest level, highest level, level spacing) for about `levels` log-spaced contours from
    the low corner of the map (its 1st percentile: a single grid point at a minimum would waste levels
    on nothing) to its highest point."""
    z = np.log10(np.maximum(f, LOSS_FLOOR))
    finite = z[np.isfinite(z)]
    lo, hi = float(np.floor(np.percentile(finite, 1) * 2) / 2), float(np.ceil(finite.max()))
    size = max((hi - lo) / levels, 0.1)
    return np.clip(z, lo, hi), lo, hi, size


@functools.lru_cache(maxsize=16)
def _cached_picture(name: str) -> str:
    """A surface's picture, made once per process: only the surface changes it, not the sliders."""
    from labcore.playground.surfaces import SURFACES

    z, lo, hi, size = log_levels(SURFACES.get(name).grid()[2])
    return surface_picture(z, lo, hi, size)


def surface_picture(z: np.ndarray, lo: float, hi: float, size: float, scale: int = 4) -> str:
    """The map as a PNG data URL: log-loss bands filled from SURFACE_SCALE (row 0 of `z` at the bottom), with a
    thin darker line where one band meets the next, like a filled contour plot. `z` is first interpolated
    `scale` times finer, so the band edges are smooth curves rather than steps of the grid."""
    import torch

    fine = torch.nn.functional.interpolate(torch.from_numpy(np.asarray(z, dtype=np.float32))[None, None],
                                           scale_factor=scale, mode="bilinear", align_corners=True)[0, 0].numpy()
    z = fine
    band = np.floor((z - lo) / size)
    bands = np.unique(band)  # a few dozen: one colour each, looked up instead of sampled per pixel
    colours = np.array(sample_colorscale(SURFACE_SCALE, np.clip(bands * size / max(hi - lo, 1e-12), 0, 1).tolist(),
                                         colortype="tuple")) * 255
    rgb = colours[np.searchsorted(bands, band)]
    edge = np.zeros(z.shape, dtype=bool)
    edge[:, 1:] |= band[:, 1:] != band[:, :-1]
    edge[1:, :] |= band[1:, :] != band[:-1, :]
    rgb[edge] = rgb[edge] * 0.82 + np.array([40, 60, 80]) * 0.18
    picture = Image.fromarray(np.flipud(rgb).clip(0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _log_ticks(lo: float, hi: float) -> np.ndarray:
    """Colour-bar ticks between 10**lo and 10**hi: every power of ten, or 1-2-5 steps over a short range."""
    mantissas = (1,) if hi - lo > 3 else (1, 2, 5)
    ticks = np.array([m * 10.0**e for e in range(int(np.floor(lo)), int(np.ceil(hi)) + 1) for m in mantissas])
    return ticks[(ticks >= 10**lo * 0.999) & (ticks <= 10**hi * 1.001)]


def _clip_to_view(xy: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """Points far outside the view are pulled to just beyond its edge: lines keep their direction out
    of the map, and the browser never has to draw a segment a million screens long."""
    x0, x1, y0, y1 = box
    mx, my = (x1 - x0), (y1 - y0)
    clipped = np.column_stack([np.clip(xy[:, 0], x0 - mx, x1 + mx), np.clip(xy[:, 1], y0 - my, y1 + my)])
    return clipped.astype(np.float32)  # half the bytes to send; float32 is far finer than a pixel


def _frame_steps(steps: int, frames: int) -> np.ndarray:
    return np.unique(np.linspace(0, steps, min(frames, steps + 1)).round().astype(int))


def contour_figure(surface: Surface, trajectories: Sequence[Trajectory], start: tuple[float, float], *,
                   grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None, frames: int = MAX_FRAMES,
                   click_points: int = 41, lang: str = "en", height: int = 560) -> go.Figure:
    """The surface as filled log-spaced contours, minima as stars, one path per optimizer from `start`.

    A play button and a step slider under the map replay the race: a dot per optimizer runs along its
    path (`frames` snapshots); the figure opens on the finished paths. Clicking the map selects the nearest
    of `click_points`² invisible points (trace 1); the page moves the start there.
    """
    xs, ys, f = grid if grid is not None else surface.grid()
    z, lo, hi, size = log_levels(f)
    ticks = _log_ticks(lo, hi)
    # The map is a picture under the axes, not a contour trace: plotly.js drops a contour's fill while frames
    # are played (the map went blank on Play and on the step slider). The colour bar lives on an empty trace.
    key = go.Scatter(
        x=[None], y=[None], mode="markers", hoverinfo="skip", showlegend=False, name=t("playground.loss", lang),
        marker={"color": [lo], "cmin": lo, "cmax": hi, "colorscale": SURFACE_SCALE, "showscale": True,
                "colorbar": {"title": {"text": t("playground.loss", lang), "side": "right"},
                             "tickvals": np.log10(ticks), "ticktext": [f"{v:g}" for v in ticks], "thickness": 12,
                             "len": 0.85, "x": 1.01}},
    )
    # Plotly reports clicks on points only, so the map is covered with invisible ones: the clicked point
    # becomes the new start, and hovering one reads the loss there.
    cx, cy = np.meshgrid(np.linspace(*surface.box[:2], click_points), np.linspace(*surface.box[2:], click_points))
    targets = go.Scatter(
        x=cx.ravel(), y=cy.ravel(), mode="markers", marker={"size": 14, "opacity": 0}, showlegend=False,
        customdata=surface.numpy(cx, cy).ravel(), name="",
        hovertemplate=t("playground.hover_map", lang) + "<extra></extra>",
    )
    minima = go.Scatter(  # drawn over the paths: an open star, so a dot that arrived shows through
        x=[m[0] for m in surface.minima], y=[m[1] for m in surface.minima], mode="markers",
        marker={"symbol": "star-open", "size": 17, "color": "#222", "line": {"width": 1.6}},
        name=t("playground.minimum", lang), hovertemplate=t("playground.hover_minimum", lang) + "<extra></extra>",
    )
    start_marker = go.Scatter(
        x=[start[0]], y=[start[1]], mode="markers", name=t("playground.start", lang),
        marker={"symbol": "circle", "size": 12, "color": "white", "line": {"color": "#222", "width": 2}},
        hovertemplate=t("playground.hover_start", lang) + "<extra></extra>",
    )
    clipped = [_clip_to_view(tr.xy[: tr.last + 1], surface.box) for tr in trajectories]
    paths = []
    for tr, xy in zip(trajectories, clipped, strict=True):
        color, label = optimizer_color(tr.name), path_label(tr, lang)
        paths.append(go.Scatter(
            x=xy[:, 0], y=xy[:, 1], mode="lines+markers", name=label, legendgroup=tr.name,
            line={"color": color, "width": 2.2}, marker={"color": color, "size": 3.5},
            hovertemplate=f"{label}<br>" + t("playground.hover_path", lang) + "<extra></extra>",
        ))
    # Where each optimizer is: one trace for all of them, so an animation frame is a single small update.
    heads = go.Scatter(
        x=[xy[-1, 0] for xy in clipped], y=[xy[-1, 1] for xy in clipped], mode="markers", showlegend=False,
        marker={"color": [optimizer_color(tr.name) for tr in trajectories], "size": 12,
                "symbol": ["x" if tr.diverged_at else "circle" for tr in trajectories],
                "line": {"color": "white", "width": 1.5}},
        hoverinfo="skip",
    )
    data = [key, targets, *paths, heads, minima, start_marker]
    layout = base_layout(height=height)
    x0, x1, y0, y1 = surface.box
    layout.update(
        xaxis={"range": [x0, x1], "showgrid": False, "zeroline": False},  # x and y need no title
        yaxis={"range": [y0, y1], "showgrid": False, "zeroline": False},
        margin={"l": 8, "r": 8, "t": 40, "b": 8},
        uirevision=surface.name,  # keep a zoom while sliders move; a new surface starts unzoomed
        images=[{"source": _cached_picture(surface.name) if grid is None else surface_picture(z, lo, hi, size),
                 "xref": "x", "yref": "y", "x": xs[0], "y": ys[-1],
                 "sizex": xs[-1] - xs[0], "sizey": ys[-1] - ys[0], "sizing": "stretch", "layer": "below"}],
    )
    steps = max((len(tr.xy) - 1 for tr in trajectories), default=0)
    figure_frames = []
    if trajectories and steps > 0:
        shown = _frame_steps(steps, frames)
        first_path = 2  # after the contour and the click targets
        for s in shown:
            # each path grows up to step s and its dot sits at its end (a diverged path stops where it left)
            grown = [_prefix(xy, s, full=s == shown[-1]) for xy in clipped]
            at = [xy[min(s, len(xy) - 1)] for xy in clipped]
            heads_now = {"type": "scatter", "x": [p[0] for p in at], "y": [p[1] for p in at]}
            figure_frames.append(go.Frame(data=[*grown, heads_now], name=str(s),
                                          traces=[*range(first_path, first_path + len(clipped)), len(data) - 3]))
        layout.update(_player(shown, lang))
        layout["margin"]["b"] = 64  # room for the player under the x axis
    return go.Figure(data=data, layout=layout, frames=figure_frames)


def _prefix(xy: np.ndarray, step: int, full: bool, most: int = 120) -> dict:
    """A path up to `step` for an animation frame: float32, at most `most` points while it grows (50 frames of
    whole prefixes were 585 KB a redraw), every point in the last frame, where the replay stops."""
    part = xy[: step + 1]
    if not full and len(part) > most:
        part = part[np.unique(np.linspace(0, len(part) - 1, most).round().astype(int))]
    part = part.astype(np.float32)
    return {"type": "scatter", "x": part[:, 0], "y": part[:, 1]}


def _player(shown: np.ndarray, lang: str) -> dict:
    """Play/pause buttons and a step slider that drive the figure's frames, laid out under the map."""
    # redraw: plotly.js drops a contour's fill when frames are applied without one (the map went blank on Play)
    play = {"frame": {"duration": 60, "redraw": True}, "fromcurrent": False,
            "transition": {"duration": 0}, "mode": "immediate"}
    pause = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate", "transition": {"duration": 0}}
    return {
        "updatemenus": [{
            "type": "buttons", "direction": "left", "showactive": False, "x": 0.0, "y": -0.1,
            "xanchor": "left", "yanchor": "top", "pad": {"t": 4, "r": 8},
            "buttons": [{"label": "▶ " + t("playground.play", lang), "method": "animate", "args": [None, play]},
                        {"label": "❚❚ " + t("playground.pause", lang), "method": "animate",
                         "args": [[None], pause]}],
        }],
        "sliders": [{
            "active": len(shown) - 1, "x": 0.27, "len": 0.73, "y": -0.07, "yanchor": "top",
            "pad": {"t": 0, "b": 0}, "currentvalue": {"prefix": t("playground.step_prefix", lang), "offset": 2,
                                                      "font": {"size": 12, "color": NEUTRAL_COLOR}},
            "ticklen": 0, "minorticklen": 0, "font": {"size": 10, "color": "rgba(0,0,0,0)"},
            "steps": [{"label": str(s), "method": "animate",
                       "args": [[str(s)], {"frame": {"duration": 0, "redraw": True}, "mode": "immediate",
                                           "transition": {"duration": 0}}]} for s in shown],
        }],
    }


def loss_vs_step_figure(trajectories: Sequence[Trajectory], *, lang: str = "en", height: int = 560) -> go.Figure:
    """Loss against step on a log axis, one line per optimizer; a diverged path ends in an ×."""
    data = []
    for tr in trajectories:
        color = optimizer_color(tr.name)
        loss = np.maximum(tr.loss[: tr.last + 1], LOSS_FLOOR)
        data.append(go.Scatter(
            x=np.arange(len(loss)), y=loss, mode="lines", name=path_label(tr, lang), line={"color": color, "width": 2},
            hovertemplate=t("playground.hover_loss", lang) + "<extra></extra>",
        ))
        if tr.diverged_at is not None and len(loss):
            data.append(go.Scatter(x=[len(loss) - 1], y=loss[-1:], mode="markers", showlegend=False,
                                   marker={"symbol": "x", "size": 11, "color": color}, hoverinfo="skip"))
    layout = base_layout(height=height, hovermode="x unified")
    layout.update(
        xaxis={"title": {"text": t("viz.step", lang)}},
        yaxis={"title": {"text": t("viz.loss", lang)}, "type": "log", "exponentformat": "power",
               "dtick": 1 if _decades(trajectories) > 2 else None},
        showlegend=False,  # the map's legend names the colours
        margin={"l": 8, "r": 8, "t": 40, "b": 8},
        title={"text": t("playground.loss_title", lang), "font": {"size": 14}, "x": 0.01, "y": 0.98},
    )
    return go.Figure(data=data, layout=layout)


def _decades(trajectories: Sequence[Trajectory]) -> float:
    """How many powers of ten the finite losses of all paths span."""
    losses = [np.maximum(tr.loss[: tr.last + 1], LOSS_FLOOR) for tr in trajectories]
    values = np.concatenate(losses) if losses else np.ones(1)
    values = values[np.isfinite(values)]
    return float(np.log10(values.max() / values.min())) if values.size else 0.0


def parabola_figure(path: np.ndarray, *, lang: str = "en", height: int = 400) -> go.Figure:
    """The book's example: the iterates on the parabola L(w) (left) and w against step (right).

    Both panels show w in [-1, 7]; a diverging run leaves through the edge and is clipped there.
    """
    span = 4.0
    lo, hi = book.W_STAR - span, book.W_STAR + span
    ws = np.linspace(lo, hi, 161)
    shown = np.clip(path, lo - span, hi + span)  # finite, and still pointing the way it went
    color = OPTIMIZER_COLORS["sgd"]
    steps = np.arange(len(path))
    data = [
        go.Scatter(x=ws, y=book.loss(ws), mode="lines", line={"color": NEUTRAL_COLOR, "width": 2},
                   name=t("playground.book_curve", lang), hoverinfo="skip"),
        go.Scatter(x=shown, y=book.loss(shown), mode="lines+markers", name=t("playground.book_iterates", lang),
                   line={"color": rgba(color, 0.55), "width": 1.5}, marker={"color": color, "size": 8},
                   customdata=steps, hovertemplate=t("playground.hover_book", lang) + "<extra></extra>"),
        go.Scatter(x=[book.W_STAR], y=[0.0], mode="markers", name=t("playground.minimum", lang),
                   marker={"symbol": "star", "size": 15, "color": GOOD_COLOR}, hoverinfo="skip"),
        go.Scatter(x=steps, y=shown, mode="lines+markers", xaxis="x2", yaxis="y2", showlegend=False,
                   line={"color": color, "width": 2}, marker={"color": color, "size": 7},
                   customdata=path, hovertemplate=t("playground.hover_book_w", lang) + "<extra></extra>"),
    ]
    top = float(book.loss(hi))
    layout = base_layout(height=height)
    layout.update(
        xaxis={"domain": [0, 0.52], "range": [lo, hi], "title": {"text": "w"}, "zeroline": False},
        yaxis={"range": [-0.04 * top, top * 1.05], "title": {"text": "L(w)"}},
        xaxis2={"domain": [0.62, 1], "anchor": "y2", "title": {"text": t("viz.step", lang)}, "zeroline": False},
        yaxis2={"anchor": "x2", "range": [lo - 0.3, hi + 0.3], "title": {"text": "w"}, "zeroline": False},
        shapes=[{"type": "line", "xref": "x2 domain", "x0": 0, "x1": 1, "yref": "y2", "y0": book.W_STAR,
                 "y1": book.W_STAR, "line": {"color": GOOD_COLOR, "dash": "dash", "width": 1.5}}],
        annotations=[_panel_title(t("playground.book_left", lang), "x domain"),
                     _panel_title(t("playground.book_right", lang), "x2 domain")],
        margin={"l": 8, "r": 8, "t": 64, "b": 8},
        legend={**layout["legend"], "y": 1.1},
    )
    return go.Figure(data=data, layout=layout)


def _panel_title(text: str, xref: str) -> dict:
    return {"text": f"<b>{text}</b>", "xref": xref, "yref": "paper", "x": 0, "y": 1.0, "xanchor": "left",
            "yanchor": "bottom", "showarrow": False, "font": {"size": 13}}
