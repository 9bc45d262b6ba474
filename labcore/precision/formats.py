"""float32, float16 and bfloat16 bit by bit: the sign, exponent and mantissa a number is stored as, the value each
format keeps, its rounding error, and each format's range (torch.finfo).

The typed text becomes a Python float (float64), then a float32 (numpy, round to nearest even), and float16 and
bfloat16 are rounded from that float32, as a cast of a float32 tensor does in mixed-precision training (and as
`torch.tensor(x, dtype=torch.float16)` does from a Python float). Bits come from views of the same memory:
numpy `.view(np.uint32)` for float32, torch `.view(torch.int16)` for the 16-bit formats.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

import numpy as np
import torch

from labcore.i18n import LabError

FORMATS = ("float32", "float16", "bfloat16")
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
LAYOUT = {"float32": (8, 23), "float16": (5, 10), "bfloat16": (8, 7)}  # (exponent bits, mantissa bits)
MAX_CHARS = 60  # a number needs no more; longer text is refused with a message


@dataclass(frozen=True)
class Encoded:
    """`value` (the typed number, float64) as stored in `fmt`."""

    fmt: str
    value: float
    bits: int  # the raw pattern as an unsigned integer
    stored: float  # the value the format keeps (exactly, as a float64)

    @property
    def exp_bits(self) -> int:
        return LAYOUT[self.fmt][0]

    @property
    def man_bits(self) -> int:
        return LAYOUT[self.fmt][1]

    @property
    def width(self) -> int:
        return 1 + self.exp_bits + self.man_bits

    @property
    def bias(self) -> int:
        return 2 ** (self.exp_bits - 1) - 1

    @property
    def text(self) -> str:
        return format(self.bits, f"0{self.width}b")

    @property
    def sign(self) -> int:
        return self.bits >> (self.width - 1)

    @property
    def exponent_field(self) -> int:
        return (self.bits >> self.man_bits) & ((1 << self.exp_bits) - 1)

    @property
    def mantissa_field(self) -> int:
        return self.bits & ((1 << self.man_bits) - 1)

    @property
    def kind(self) -> str:
        """"zero", "subnormal", "normal", "inf" (overflow) or "nan"."""
        if self.exponent_field == (1 << self.exp_bits) - 1:
            return "nan" if self.mantissa_field else "inf"
        if self.exponent_field == 0:
            return "subnormal" if self.mantissa_field else "zero"
        return "normal"

    @property
    def exponent(self) -> int:
        """The power of two the significand is scaled by (subnormals: the smallest normal's)."""
        return max(self.exponent_field, 1) - self.bias

    @property
    def significand(self) -> float:
        """1.mantissa for a normal number, 0.mantissa for a subnormal one."""
        lead = 1 if self.kind == "normal" else 0
        return lead + self.mantissa_field / 2**self.man_bits

    @property
    def abs_error(self) -> float:
        return abs(self.stored - self.value)

    @property
    def rel_error(self) -> float:
        """|stored − value| / |value| (0 for an exact zero)."""
        if self.value == 0:
            return 0.0 if self.stored == 0 else math.inf
        return self.abs_error / abs(self.value)


@dataclass(frozen=True)
class Range:
    fmt: str
    max: float
    smallest_normal: float
    smallest_subnormal: float
    eps: float  # the gap between 1 and the next number up


def parse_number(text: str | None) -> float:
    """The number `text` names, as a finite float64, or a LabError saying what is wrong with it."""
    s = ascii_number((text or "").strip().replace("\u2212", "-"))  # a typographic minus counts as one
    if not s:
        raise LabError("precision.err_empty")
    if len(s) > MAX_CHARS:
        raise LabError("precision.err_long", most=MAX_CHARS)
    try:
        v = float(s)
    except ValueError:
        raise LabError("precision.err_not_number") from None
    if math.isnan(v):
        raise LabError("precision.err_nan")
    if math.isinf(v):
        raise LabError("precision.err_inf", max=f"{np.finfo(np.float64).max:.4g}")
    return v


def ascii_number(text: str) -> str:
    """`text` with other scripts' digits (Persian ۱۲۳, Arabic ١٢٣...) as ASCII digits and the Arabic decimal
    separator as a point, so that it reads the same and fits in a link."""
    out = []
    for ch in text:
        if ch == "\u066b":
            out.append(".")
        elif ch.isdecimal() and not ch.isascii():
            out.append(str(unicodedata.decimal(ch)))
        else:
            out.append(ch)
    return "".join(out)


def to_float32(value: float) -> np.float32:
    with np.errstate(over="ignore"):  # 1e39 becomes inf in float32: shown as an overflow, not a warning
        return np.float32(value)


def encode(value: float, fmt: str) -> Encoded:
    """`value` stored in `fmt` (one of FORMATS)."""
    f32 = np.array([to_float32(value)], dtype=np.float32)
    if fmt == "float32":
        return Encoded(fmt, value, int(f32.view(np.uint32)[0]), float(f32[0]))
    t = torch.from_numpy(f32).to(DTYPES[fmt])
    return Encoded(fmt, value, int(t.view(torch.int16).item()) & 0xFFFF, float(t.item()))


def encode_all(value: float) -> list[Encoded]:
    return [encode(value, fmt) for fmt in FORMATS]


def format_range(fmt: str) -> Range:
    """From torch.finfo; the smallest subnormal is the smallest normal times machine epsilon (2^(emin − mantissa bits))."""
    fi = torch.finfo(DTYPES[fmt])
    return Range(fmt, float(fi.max), float(fi.smallest_normal), float(fi.smallest_normal) * float(fi.eps), float(fi.eps))


def bfloat16_from_float32_bits(bits32: int) -> int:
    """bfloat16 as the top 16 bits of a float32, rounded to nearest, ties to even (finite inputs)."""
    return ((bits32 + 0x7FFF + ((bits32 >> 16) & 1)) >> 16) & 0xFFFF


def groups(enc: Encoded) -> tuple[str, str, str]:
    """The bit string split into (sign, exponent, mantissa)."""
    s = enc.text
    return s[:1], s[1 : 1 + enc.exp_bits], s[1 + enc.exp_bits :]
