"""Lessons 7 and 8: a kernel sliding over an image, padding, stride and dilation, pooling, and the parameter count
of a dense layer against a convolution on the same image.

Every number the Convolution page shows comes from torch (F.conv2d, F.unfold, F.max_pool2d, F.avg_pool2d, the
modules' own parameters), never from a second hand-written formula; the output-size formula is shown next to
the shape torch gives, and tests check that they agree. Pure functions, instant; the page draws them with
`labcore.basics.conv_figures`.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labcore.i18n import LabError

SOURCES = ("digits", "shapes", "photo", "upload")
IMAGE_SIZES = {"digits": (8, 8), "shapes": (32, 32), "photo": (32, 48), "upload": (32, 32)}  # (H, W), grey
N_IMAGES = {"digits": 50, "shapes": 50, "photo": 2}  # the image picker's range (an upload is one picture)
PHOTOS = ("china.jpg", "flower.jpg")  # the sample photos that ship inside scikit-learn
KERNELS: dict[str, tuple[tuple[float, ...], ...]] = {
    "identity": ((0, 0, 0), (0, 1, 0), (0, 0, 0)),
    "edge_vertical": ((1, 0, -1), (1, 0, -1), (1, 0, -1)),
    "edge_horizontal": ((1, 1, 1), (0, 0, 0), (-1, -1, -1)),
    "sobel_x": ((1, 0, -1), (2, 0, -2), (1, 0, -1)),
    "sobel_y": ((1, 2, 1), (0, 0, 0), (-1, -2, -1)),
    "outline": ((-1, -1, -1), (-1, 8, -1), (-1, -1, -1)),
    "box_blur": ((1 / 9,) * 3,) * 3,
    "gaussian_blur": ((1 / 16, 2 / 16, 1 / 16), (2 / 16, 4 / 16, 2 / 16), (1 / 16, 2 / 16, 1 / 16)),
    "sharpen": ((0, -1, 0), (-1, 5, -1), (0, -1, 0)),
}
CUSTOM = "custom"
TRAINED = "trained"  # a first-layer filter of a CNN trained in the tab (the page finds the model)
KERNEL_NAMES = (*KERNELS, CUSTOM, TRAINED)
DEFAULT_KERNEL = "edge_vertical"
DEFAULT_CUSTOM = "1 2 1; 0 0 0; -1 -2 -1"
MAX_KERNEL = 7  # a typed kernel is at most 7x7 (its arithmetic still fits on screen)
MAX_VALUE = 1e6  # typed numbers beyond this are typos, not kernels
POOL_SIZES = (2, 3, 4)
# The padding/stride grid's sliders: (low, high, default).
GRID = {"size": (3, 12, 7), "k": (1, 5, 3), "p": (0, 3, 0), "s": (1, 4, 1), "d": (1, 3, 1)}
# The parameter calculator's inputs: (low, high, default); the defaults are the book's Table 7.1.
CALC = {"h": (1, 4096, 32), "w": (1, 4096, 32), "c": (1, 1024, 3), "units": (1, 100_000, 100),
        "filters": (1, 4096, 32), "k": (1, 15, 3)}


# -- kernels -----------------------------------------------------------------------------------------------------
def parse_kernel(text: str) -> torch.Tensor:
    """A k x k kernel typed as rows separated by ';' (or new lines), numbers by spaces or commas:
    "1 0 -1; 2 0 -2; 1 0 -1". LabError (a `convolution.why_*` key) says what is wrong with anything else."""
    text = (text or "").replace("\u2212", "-")  # a typographic minus, as copied from a book
    rows = [r for r in re.split(r"[;\n]", text) if r.strip()]
    if not rows:
        raise LabError("convolution.why_empty")
    numbers: list[list[float]] = []
    for row in rows:
        out = []
        for token in re.split(r"[\s,]+", row.strip()):
            try:
                value = float(token)
            except ValueError:
                raise LabError("convolution.why_number", token=token[:20]) from None
            if not math.isfinite(value) or abs(value) > MAX_VALUE:
                raise LabError("convolution.why_finite", token=token[:20], most=f"{MAX_VALUE:g}")
            out.append(value)
        numbers.append(out)
    widths = {len(r) for r in numbers}
    if len(widths) > 1:
        raise LabError("convolution.why_ragged", widths=", ".join(str(len(r)) for r in numbers))
    h, w = len(numbers), widths.pop()
    if h != w:
        raise LabError("convolution.why_square", h=h, w=w)
    if h > MAX_KERNEL:
        raise LabError("convolution.why_size", k=h, most=MAX_KERNEL)
    return torch.tensor(numbers, dtype=torch.float32)


def kernel_tensor(name: str, custom: str = DEFAULT_CUSTOM) -> torch.Tensor:
    """The named kernel (k, k), or the typed one for "custom" (LabError when it does not parse)."""
    if name == CUSTOM:
        return parse_kernel(custom)
    return torch.tensor(KERNELS[name], dtype=torch.float32)


def kernel_size(name: str, custom: str = DEFAULT_CUSTOM) -> int:
    """The kernel's k; 3 for a typed kernel that does not parse (the page says why and draws no window) and for
    a trained filter (only 3x3 first layers are offered, see `first_filters`)."""
    if name == TRAINED:
        return 3
    try:
        return int(kernel_tensor(name, custom).shape[0])
    except LabError:
        return 3


# -- images ------------------------------------------------------------------------------------------------------
@functools.cache
def _digits() -> np.ndarray:
    from sklearn.datasets import load_digits

    return (load_digits().images[: N_IMAGES["digits"]] / 16.0).astype(np.float32)


@functools.cache
def _shapes() -> np.ndarray:
    from labcore.data.shapes import make_shapes

    x, _, _ = make_shapes(N_IMAGES["shapes"], size=IMAGE_SIZES["shapes"][0], seed=0)
    return x.mean(1)  # grey: the mean of R, G and B


@functools.cache
def _photo(index: int) -> np.ndarray:
    from sklearn.datasets import load_sample_image

    rgb = torch.from_numpy(load_sample_image(PHOTOS[index]).astype(np.float32) / 255.0)  # (H, W, 3)
    grey = rgb.mean(-1)[None, None]
    small = F.interpolate(grey, size=IMAGE_SIZES["photo"], mode="area")
    return small[0, 0].numpy()


def load_image(source: str, index: int = 0) -> torch.Tensor:
    """A built-in picture (H, W) in [0, 1], grey: a digit, a synthetic shape or a downscaled sample photo."""
    if source not in N_IMAGES:
        raise ValueError(f"no built-in images for {source!r}")
    index = min(max(int(index), 0), N_IMAGES[source] - 1)
    if source == "digits":
        image = _digits()[index]
    elif source == "shapes":
        image = _shapes()[index]
    else:
        image = _photo(index)
    return torch.from_numpy(np.array(image, dtype=np.float32))


def upload_image(raw: bytes) -> torch.Tensor:
    """An uploaded picture as (H, W) grey in [0, 1], centre-cropped to the upload size through the lab's hardened
    reader (labcore.data.images); a refused or broken file raises LabError with the reason."""
    from labcore.data.images import PHOTO_FORMATS, picture_to_input

    h, w = IMAGE_SIZES["upload"]
    pixels = picture_to_input(raw, (1, h, w), formats=PHOTO_FORMATS)
    return torch.from_numpy(pixels[0].astype(np.float32) / 255.0)


# -- sizes -------------------------------------------------------------------------------------------------------
def output_size(n: int, k: int, p: int = 0, s: int = 1, d: int = 1) -> int:
    """The book's Eq. 8.2, with dilation: floor((n + 2p - d(k - 1) - 1) / s) + 1 (d = 1: floor((n + 2p - k) / s) + 1).
    Shown on the page next to the shape torch gives; may be 0 or negative when the kernel does not fit."""
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def conv_shape(h: int, w: int, k: int, p: int = 0, s: int = 1, d: int = 1) -> tuple[int, int] | None:
    """The output (H_out, W_out) of F.conv2d on an h x w input, or None when torch refuses (the kernel is larger
    than the padded input)."""
    try:
        out = F.conv2d(torch.zeros(1, 1, h, w), torch.zeros(1, 1, k, k), padding=p, stride=s, dilation=d)
    except RuntimeError:
        return None
    return int(out.shape[-2]), int(out.shape[-1])


def positions(source: str, k: int, padding: bool) -> int:
    """How many places the window stops at on `source`'s pictures (the position slider's length)."""
    h, w = IMAGE_SIZES[source]
    shape = conv_shape(h, w, k, k // 2 if padding else 0)
    return 0 if shape is None else shape[0] * shape[1]


# -- the sliding window ------------------------------------------------------------------------------------------
@dataclass
class Window:
    """The arithmetic at one stop of the window: the input patch, the kernel, their products and the value torch
    wrote into the feature map there."""

    image: torch.Tensor  # (H, W)
    kernel: torch.Tensor  # (k, k)
    padding: int
    fmap: torch.Tensor  # (H_out, W_out): F.conv2d's output
    pos: int
    row: int
    col: int
    patch: torch.Tensor  # (k, k): F.unfold's column at `pos`
    products: torch.Tensor  # (k, k)

    @property
    def value(self) -> float:
        return float(self.fmap[self.row, self.col])

    @property
    def padded(self) -> torch.Tensor:
        p = self.padding
        return F.pad(self.image, (p, p, p, p))


def feature_map(image: torch.Tensor, kernel: torch.Tensor, padding: int = 0, stride: int = 1) -> torch.Tensor:
    """F.conv2d of a grey picture (H, W) with one kernel (k, k): the feature map (H_out, W_out)."""
    return F.conv2d(image[None, None], kernel[None, None], padding=padding, stride=stride)[0, 0]


def window(image: torch.Tensor, kernel: torch.Tensor, pos: int, padding: bool = False) -> Window:
    """The window at stop `pos` (row-major, clamped to the stops there are). LabError when the kernel is larger
    than the picture."""
    k = int(kernel.shape[0])
    p = k // 2 if padding else 0
    if conv_shape(*image.shape, k, p) is None:
        raise LabError("convolution.why_too_big", k=k, h=int(image.shape[0]), w=int(image.shape[1]))
    fmap = feature_map(image, kernel, p)
    cols = F.unfold(image[None, None], k, padding=p)[0]  # (k*k, stops)
    pos = min(max(int(pos), 0), cols.shape[1] - 1)
    row, col = divmod(pos, int(fmap.shape[1]))
    patch = cols[:, pos].reshape(k, k)
    return Window(image, kernel, p, fmap, pos, row, col, patch, patch * kernel)


# -- padding, stride and dilation --------------------------------------------------------------------------------
@dataclass
class Grid:
    """Padding/stride/dilation on an n x n input of ones: the formula, torch's output size, and how often each
    cell of the padded input is under the kernel."""

    n: int
    k: int
    p: int
    s: int
    d: int
    formula: int  # output_size(...)
    actual: int | None  # F.conv2d's output side, None when torch refuses
    coverage: np.ndarray  # (n + 2p, n + 2p): how many windows touch each cell (F.fold of F.unfold)
    first: np.ndarray  # (n + 2p, n + 2p) bool: the cells under the first window

    @property
    def span(self) -> int:
        """The window's reach: d(k - 1) + 1 cells."""
        return self.d * (self.k - 1) + 1


def grid(n: int, k: int, p: int = 0, s: int = 1, d: int = 1) -> Grid:
    side = n + 2 * p
    shape = conv_shape(n, n, k, p, s, d)
    ones = torch.ones(1, 1, side, side)
    if shape is None:
        coverage, first = np.zeros((side, side)), np.zeros((side, side), dtype=bool)
    else:
        cols = F.unfold(ones, k, dilation=d, stride=s)
        coverage = F.fold(cols, (side, side), k, dilation=d, stride=s)[0, 0].numpy()
        one = torch.zeros_like(cols)
        one[..., 0] = 1  # the first window only
        first = F.fold(one, (side, side), k, dilation=d, stride=s)[0, 0].numpy() > 0
    return Grid(n, k, p, s, d, output_size(n, k, p, s, d), None if shape is None else shape[0], coverage, first)


# -- pooling -----------------------------------------------------------------------------------------------------
def pool(fmap: torch.Tensor, size: int, relu: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(the pooled input, F.max_pool2d, F.avg_pool2d) with a size x size window and stride `size`; ReLU first when
    asked (the book's block: conv -> ReLU -> pool). LabError when the map is smaller than the window."""
    x = F.relu(fmap) if relu else fmap
    if min(x.shape) < size:
        raise LabError("convolution.why_pool", size=size, h=int(x.shape[0]), w=int(x.shape[1]))
    return x, F.max_pool2d(x[None, None], size)[0, 0], F.avg_pool2d(x[None, None], size)[0, 0]


# -- dense vs convolution ----------------------------------------------------------------------------------------
@dataclass
class ParamCount:
    inputs: int  # H x W x C
    dense: int  # nn.Linear(H*W*C, units)'s parameters
    conv: int  # nn.Conv2d(C, filters, k)'s parameters

    @property
    def ratio(self) -> float:
        return self.dense / self.conv


def param_counts(h: int, w: int, c: int, units: int, filters: int, k: int, bias: bool = False) -> ParamCount:
    """The book's Table 7.1 (32x32x3, 100 units, 32 filters 3x3, no biases: 307,200 vs 864), counted from the
    modules themselves. They are built on the meta device: shapes only, no memory, whatever the sizes."""
    dense = nn.Linear(h * w * c, units, bias=bias, device="meta")
    conv = nn.Conv2d(c, filters, k, bias=bias, device="meta")
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    return ParamCount(h * w * c, count(dense), count(conv))


# -- one redraw, for `python -m labcore bench conv` --------------------------------------------------------------
def redraw(source: str = "shapes", index: int = 0, kernel: str = DEFAULT_KERNEL, pos: int = 500, pool_size: int = 2,
           lang: str = "en") -> list:
    """Everything the page computes and draws for one setup: the window, the grid and pooling, as figures."""
    from labcore.basics import conv_figures as fig

    image = load_image(source, index)
    win = window(image, kernel_tensor(kernel), pos)
    g = grid(*(GRID[key][2] for key in ("size", "k", "p", "s", "d")))
    pooled = pool(win.fmap, pool_size)
    counts = param_counts(*(CALC[key][2] for key in ("h", "w", "c", "units", "filters", "k")))
    return [fig.window_figure(win, lang=lang), fig.arithmetic_figure(win, lang=lang), fig.grid_figure(g, lang=lang),
            fig.pooling_figure(*pooled, lang=lang), counts]


TARGET_SECONDS = 0.1  # one redraw of the page (every panel) on a 2-core laptop


def bench(repeats: int = 20) -> dict:
    """Best-of-`repeats` seconds of a full redraw (numbers, figures, serialised as st.plotly_chart sends them)
    against one plain F.conv2d call on the same picture and kernel, measured in the same run."""
    import time

    import plotly.io

    image, kernel = load_image("shapes", 0), kernel_tensor(DEFAULT_KERNEL)
    redraw_s, conv_s = [], []
    for i in range(repeats):
        t0 = time.perf_counter()
        for figure in redraw(pos=i * 37 % 900)[:4]:
            plotly.io.to_json(figure, validate=False)
        redraw_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        F.conv2d(image[None, None], kernel[None, None])
        conv_s.append(time.perf_counter() - t0)
    best, base = min(redraw_s), min(conv_s)
    return {"redraw_s": round(best, 4), "conv2d_s": round(base, 7), "ratio": round(best / base, 1),
            "target_s": TARGET_SECONDS, "within_target": best <= TARGET_SECONDS}


def first_filters(model: torch.nn.Module) -> torch.Tensor | None:
    """(filters, 3, 3): the first convolution's filters of a trained model, each summed over its input channels,
    which is exactly what the filter computes on a grey picture (R = G = B); None when the model's first
    convolution is not an ordinary 3x3 one (or it has none)."""
    conv = next((m for m in model.modules() if isinstance(m, torch.nn.Conv2d)), None)
    if conv is None or tuple(conv.kernel_size) != (3, 3) or conv.groups != 1 or tuple(conv.dilation) != (1, 1):
        return None
    return conv.weight.detach().float().cpu().sum(1)
