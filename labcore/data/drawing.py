"""A drawing becomes a model's input the way the training digits were made, not by squashing the whole canvas.

MNIST (28x28 and every larger input): the ink is cropped to its bounding box, padded to a square, scaled so its
longer side is 20 of the 28 pixels (anti-aliased) and moved so its centre of mass is the frame's centre.
scikit-learn's digits (8x8, and any input of 16 pixels or fewer): the ink's longer side fills the whole frame,
centred by its box, and each pixel is the share of ink in its block (what the 0..16 counts were, here /16).
The stroke width follows the digit's size, so a small and a large drawing of the same 7 give the same input.

Strokes come from the browser (the Try it canvas): lists of (x, y) points in [0, 1] of the canvas. They are user
input: anything that is not a list of numeric points is dropped, and their number is capped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_STROKES = 200
MAX_POINTS = 20_000  # all strokes together
INK_THRESHOLD = 0.05  # an ink pixel: above this share of full white


@dataclass(frozen=True)
class InkStyle:
    box: float  # the ink's longer side, as a fraction of the frame
    by_mass: bool  # centre by centre of mass (MNIST) or by the bounding box (scikit-learn's digits)
    pen: float  # stroke width as a fraction of the ink's longer side


MNIST_STYLE = InkStyle(box=20 / 28, by_mass=True, pen=0.13)
DIGITS8_STYLE = InkStyle(box=1.0, by_mass=False, pen=0.25)


def style_for(shape: tuple[int, ...]) -> InkStyle:
    """How the training images of a model with this (C, H, W) input were framed."""
    return DIGITS8_STYLE if max(shape[-2:]) <= 16 else MNIST_STYLE


def clean_strokes(value: object) -> list[np.ndarray]:
    """The strokes in a browser's value as (n, 2) float arrays in [0, 1]; anything malformed is dropped."""
    out: list[np.ndarray] = []
    total = 0
    if not isinstance(value, list | tuple):
        return out
    for stroke in value[:MAX_STROKES]:
        if not isinstance(stroke, list | tuple):
            continue
        pts = [p for p in stroke if isinstance(p, list | tuple) and len(p) == 2
               and all(isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v) for v in p)]
        pts = pts[: MAX_POINTS - total]
        if pts:
            out.append(np.clip(np.asarray(pts, dtype=np.float64), 0.0, 1.0))
            total += len(pts)
    return out


def strokes_to_ink(strokes: list[np.ndarray], size: int = 280, pen: float = MNIST_STYLE.pen) -> np.ndarray:
    """(size, size) float image in [0, 1], white ink on black; the pen is `pen` x the ink's longer side."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (size, size), 0)
    if not strokes:
        return np.zeros((size, size), np.float32)
    pts = np.concatenate(strokes)
    side = float(max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1]))) * size
    width = max(2, round(pen * side))
    draw = ImageDraw.Draw(img)
    r = width / 2
    for s in strokes:
        xy = [(float(x) * size, float(y) * size) for x, y in s]
        if len(xy) > 1:
            draw.line(xy, fill=255, width=width, joint="curve")
        for x, y in (xy[0], xy[-1]) if len(xy) > 1 else xy:  # round ends (and a dot for a tap)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(img, dtype=np.float32) / 255.0


def ink_to_input(ink: np.ndarray, shape: tuple[int, ...], style: InkStyle | None = None) -> np.ndarray:
    """(C, H, W) float32 in [0, 1] for a model whose input is `shape`, from a 2-D white-on-black ink image.

    No ink gives an all-black input.
    """
    from PIL import Image

    c, h, w = shape
    style = style or style_for(shape)
    ink = np.clip(np.asarray(ink, dtype=np.float32), 0.0, 1.0)
    out = np.zeros((h, w), np.float32)
    rows, cols = np.nonzero(ink > INK_THRESHOLD)
    if rows.size:
        crop = ink[rows.min(): rows.max() + 1, cols.min(): cols.max() + 1]
        side = max(crop.shape)
        square = np.zeros((side, side), np.float32)  # pad the shorter side equally on both
        top, left = (side - crop.shape[0]) // 2, (side - crop.shape[1]) // 2
        square[top: top + crop.shape[0], left: left + crop.shape[1]] = crop
        box = max(1, round(style.box * min(h, w)))
        # BOX resampling: each output pixel is the mean ink of its block (scikit-learn's counts, MNIST's anti-aliasing)
        small = np.asarray(Image.fromarray(square, mode="F").resize((box, box), Image.Resampling.BOX), np.float32)
        y0, x0 = (h - box) // 2, (w - box) // 2
        if style.by_mass and small.sum() > 0:
            yy, xx = np.mgrid[:box, :box]
            cy, cx = (yy * small).sum() / small.sum(), (xx * small).sum() / small.sum()
            y0 = int(np.clip(round((h - 1) / 2 - cy), 0, h - box))  # never pushed out of the frame
            x0 = int(np.clip(round((w - 1) / 2 - cx), 0, w - box))
        out[y0: y0 + box, x0: x0 + box] = small
        if 0 < out.max() < 1:  # full strokes are full white, as in the training images
            out /= out.max()
    return np.clip(np.repeat(out[None], c, axis=0), 0.0, 1.0).astype(np.float32)


def drawing_to_input(strokes: object, shape: tuple[int, ...]) -> np.ndarray | None:
    """The model's (C, H, W) input in [0, 1] for the canvas's strokes; None when nothing is drawn."""
    clean = clean_strokes(strokes)
    if not clean:
        return None
    style = style_for(shape)
    return ink_to_input(strokes_to_ink(clean, pen=style.pen), shape, style)


def picture_ink(grey: np.ndarray) -> np.ndarray:
    """A grey picture (H, W) in [0, 1] as white ink on black: a drawing with a light background is inverted."""
    grey = np.asarray(grey, dtype=np.float32)
    return 1.0 - grey if np.median(grey) > 0.5 else grey


def picture_to_ink(raw: bytes, max_side: int = 560, **checks) -> np.ndarray:
    """A drawing saved as a picture (checked like every upload, `open_picture`) as white ink on black, (H, W) in
    [0, 1], at most `max_side` pixels a side. Raises LabError("images.why_*") for a picture it refuses."""
    from PIL import Image, ImageOps

    from labcore.data.images import open_picture
    from labcore.i18n import LabError

    img = open_picture(raw, **checks)
    try:
        with img:
            if img.format in ("JPEG", "MPO"):  # let the decoder shrink big photos: a fraction of the memory
                img.draft("L", (2 * max_side, 2 * max_side))
            img = ImageOps.exif_transpose(img).convert("L")
            img.thumbnail((max_side, max_side), Image.Resampling.BOX)
            grey = np.asarray(img, dtype=np.float32) / 255.0
    except Exception as e:  # a file that passed verify() and still fails to decode
        raise LabError("images.why_broken") from e
    return picture_ink(grey)
