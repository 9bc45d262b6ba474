"""Lesson 18 (labcore.precision): the bits of float32, float16 and bfloat16 against `struct`, numpy and torch,
the formats' ranges, loss scaling against float16 underflow, and the autocast comparison and its benchmark."""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest
import torch

from labcore.i18n import LabError
from labcore.precision import amp, scaling
from labcore.precision import formats as fm

VALUES = [0.0, -0.0, 1.0, -2.5, 0.1, 1 / 3, math.pi, 1e-8, 6e-8, 3e-5, 65504.0, 65519.0, 65520.0, 70000.0,
          1e38, 3.5e38, 1e-40, 1e-45, 123456.789, -7.0e-3]


def _random_values(n: int = 400) -> list[float]:
    rng = np.random.default_rng(0)
    mags = 10.0 ** rng.uniform(-46, 39, n)
    return [float(s * m) for s, m in zip(rng.choice([-1.0, 1.0], n), mags, strict=True)]


@pytest.mark.parametrize("value", VALUES + _random_values())
def test_float32_and_float16_bits_match_struct_and_numpy(value):
    f32 = fm.encode(value, "float32")
    with np.errstate(over="ignore"):
        expect32 = int(np.array([value], dtype=np.float32).view(np.uint32)[0])
    assert f32.bits == expect32
    if math.isfinite(f32.stored):
        assert f32.bits == int.from_bytes(struct.pack(">f", value), "big")
    f16 = fm.encode(value, "float16")
    try:  # float16 is rounded from the float32 value (as a cast of a float32 tensor does)
        packed = int.from_bytes(struct.pack(">e", f32.stored), "big")
    except OverflowError:  # struct refuses what float16 cannot hold; the cast gives infinity
        assert f16.kind == "inf" and f16.exponent_field == 31 and f16.mantissa_field == 0
    else:
        assert f16.bits == packed
        assert f16.bits == int(np.array([f32.stored], dtype=np.float32).astype(np.float16).view(np.uint16)[0])
    for e in (f32, f16):  # the three groups put back together give the stored value
        sign, exp, man = fm.groups(e)
        assert len(sign) == 1 and len(exp) == e.exp_bits and len(man) == e.man_bits
        if e.kind in ("normal", "subnormal", "zero"):
            assert (-1) ** e.sign * 2.0**e.exponent * e.significand == e.stored


@pytest.mark.parametrize("value", VALUES + _random_values())
def test_bfloat16_is_float32_rounded_to_its_top_16_bits(value):
    f32, bf = fm.encode(value, "float32"), fm.encode(value, "bfloat16")
    if math.isfinite(f32.stored):
        assert bf.bits == fm.bfloat16_from_float32_bits(f32.bits)
    assert bf.bits == int(torch.tensor(value, dtype=torch.bfloat16).view(torch.int16).item()) & 0xFFFF
    assert bf.stored == float(torch.tensor(value, dtype=torch.float32).to(torch.bfloat16).item()) or not math.isfinite(
        bf.stored)


def test_rounding_ties_go_to_even():
    one = 0x3F800000
    assert fm.bfloat16_from_float32_bits(one | 0x8000) == 0x3F80  # exactly half way, even below: down
    assert fm.bfloat16_from_float32_bits(0x3F818000) == 0x3F82  # half way, odd below: up to even
    assert fm.bfloat16_from_float32_bits(one | 0x8001) == 0x3F81  # past half way: up
    assert fm.encode(1 + 2**-8, "bfloat16").stored == 1.0
    assert fm.encode(1 + 3 * 2**-8, "bfloat16").stored == 1 + 2**-6


def test_known_layouts():
    e = fm.encode(-2.5, "float16")  # -1.25 x 2^1
    assert fm.groups(e) == ("1", "10000", "0100000000") and e.bits == 0xC100
    assert fm.encode(1.0, "bfloat16").bits == 0x3F80 and fm.encode(1.0, "float32").bits == 0x3F800000
    tenth = fm.encode(0.1, "float16")
    assert tenth.stored == 0.0999755859375 and tenth.rel_error == pytest.approx(2.44140625e-4)


def test_1e_minus_8_flushes_to_zero_in_float16_but_not_in_bfloat16():
    f16, bf = fm.encode(1e-8, "float16"), fm.encode(1e-8, "bfloat16")
    assert f16.stored == 0.0 and f16.kind == "zero" and f16.rel_error == 1.0
    assert bf.kind == "normal" and bf.stored == pytest.approx(1e-8, rel=2**-8)
    assert torch.tensor(1e-8, dtype=torch.float16).item() == 0.0  # the same as torch's own conversion
    assert fm.encode(6e-8, "float16").kind == "subnormal"


def test_overflow_is_infinity_and_flagged():
    e = fm.encode(70000.0, "float16")
    assert e.kind == "inf" and e.stored == math.inf and e.rel_error == math.inf
    assert fm.encode(70000.0, "bfloat16").kind == "normal"
    assert fm.encode(65504.0, "float16").stored == 65504.0


def test_ranges_come_from_finfo():
    r = fm.format_range("float16")
    assert (r.max, r.smallest_normal, r.smallest_subnormal, r.eps) == (65504.0, 2.0**-14, 2.0**-24, 2.0**-10)
    for fmt in fm.FORMATS:
        r = fm.format_range(fmt)
        assert fm.encode(r.smallest_subnormal, fmt).stored == r.smallest_subnormal
        assert fm.encode(r.smallest_subnormal / 2, fmt).stored == 0.0  # a tie, and zero is even
        assert fm.encode(r.max, fmt).stored == r.max
        assert fm.encode(1 + r.eps, fmt).stored == 1 + r.eps
    assert fm.format_range("bfloat16").smallest_normal == fm.format_range("float32").smallest_normal
    assert fm.format_range("bfloat16").smallest_subnormal == 2.0**-133


@pytest.mark.parametrize(("text", "key"), [("", "precision.err_empty"), ("   ", "precision.err_empty"),
                                          ("abc", "precision.err_not_number"), ("1,5", "precision.err_not_number"),
                                          ("nan", "precision.err_nan"), ("1e400", "precision.err_inf"),
                                          ("-inf", "precision.err_inf"), ("1" * 80, "precision.err_long"),
                                          (None, "precision.err_empty")])
def test_hostile_text_gives_a_catalogue_message(text, key):
    with pytest.raises(LabError) as e:
        fm.parse_number(text)
    assert e.value.key == key
    for lang in ("en", "he", "fa", "uk"):
        assert e.value.message(lang)


def test_numbers_parse():
    assert fm.parse_number(" 0.1 ") == 0.1 and fm.parse_number("\u22122.5") == -2.5 and fm.parse_number("1e-8") == 1e-8
    assert fm.parse_number("۱.۵") == 1.5  # Persian digits are digits


# -- loss scaling -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def study():
    return scaling.study(steps=150)


def test_loss_scaling_rescues_float16_gradients(study):
    assert study.loss < 0.05 and study.reference.dtype == np.float32
    plain, scaled = scaling.fp16_backward(study, 1.0), scaling.fp16_backward(study, 2.0**12)
    assert plain.subnormal > 0.5  # most gradients of a trained net sit below float16's smallest normal
    assert plain.zero > 0  # and some are lost altogether
    assert scaled.zero < plain.zero and scaled.subnormal < 0.05 and scaled.overflow == 0
    assert scaled.median_rel_error < plain.median_rel_error
    live = study.reference != 0
    assert np.mean(scaled.grads[live] == 0) == scaled.zero  # what the outcome reports is what the grads hold


def test_a_huge_scale_overflows(study):
    out = scaling.fp16_backward(study, 2.0**40)
    assert out.overflow > 0


def test_histogram_positions_are_log2_of_the_scaled_gradients(study):
    mags = scaling.log2_magnitudes(study.reference, 2.0**8)
    ref = study.reference[study.reference != 0]
    assert np.allclose(mags, np.log2(np.abs(ref.astype(np.float64))) + 8)
    assert (scaling.ZERO_LOG2, scaling.NORMAL_LOG2) == (-24.0, -14.0) and 15.99 < scaling.MAX_LOG2 < 16


def test_grad_scaler_halves_on_overflow_and_grows_after_good_steps():
    d = scaling.dynamic_scaling(steps=60, init_scale=2.0**30, growth_interval=10)
    assert d.scales[0] == 2.0**30 and any(d.skipped)
    for i in range(1, len(d.scales)):
        ratio = d.scales[i] / d.scales[i - 1]
        assert ratio == (0.5 if d.skipped[i - 1] else ratio) and ratio in (0.5, 1.0, 2.0)
    assert d.scales[-1] < 2.0**30 and max(d.scales[1:]) <= 2.0**30
    assert any(b > a for a, b in zip(d.scales, d.scales[1:], strict=False))  # it grew at least once


# -- autocast -------------------------------------------------------------------------------------------------
def test_bf16_autocast_follows_float32_from_the_same_start():
    c = amp.compare()
    assert c.amp.mode == "bf16" and len(c.base.losses) == len(c.amp.losses) == amp.STEPS + 1
    assert c.base.losses[0] != c.amp.losses[0]  # the same batch, computed in another precision
    assert c.max_loss_difference < 0.1 and c.base.samples_per_s > 0 and c.amp.samples_per_s > 0
    assert c.base.samples == amp.BATCH * amp.STEPS


def test_bench_amp_prints_json_with_a_ratio(capsys):
    from labcore.__main__ import main

    assert main(["bench", "amp", "--repeats", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["benchmark"] == "amp" and out["ratio"] == pytest.approx(out["bf16_autocast"] / out["float32"])
    assert ("cuda" in out) == torch.cuda.is_available()
