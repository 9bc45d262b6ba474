"""Lesson 11 extras: the sinusoidal position encoding, the model's switch for its positions (learned, sinusoidal,
none), the causal mask against torch's own, and the order-blind ceiling of the agreement task."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from labcore.config import DataConfig, ModelConfig, OptimConfig, RunConfig, TrainConfig
from labcore.data import load_dataset
from labcore.explain.attention import attention_maps
from labcore.explain.attention_steps import attention_steps
from labcore.explain.positions import (
    causal_mask,
    mixed_number_share,
    model_positions,
    position_similarity,
    sinusoidal_positions,
)
from labcore.models import build_model, default_config
from labcore.train.trainer import Trainer


def masked_softmax(scores: np.ndarray | torch.Tensor, causal: bool = True) -> np.ndarray:
    """The reference: softmax over the keys of a (T, T) score matrix, the upper triangle set to -inf first."""
    s = torch.as_tensor(scores, dtype=torch.float32)
    if causal:
        s = s.masked_fill(~torch.from_numpy(causal_mask(s.shape[-1])), float("-inf"))
    return torch.softmax(s, dim=-1).numpy()

def test_sinusoidal_encoding_follows_the_paper_and_its_similarity_depends_only_on_distance():
    pe = sinusoidal_positions(50, 16).numpy()
    assert pe.shape == (50, 16)
    p, i = 7, 3  # PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(...)
    assert pe[p, 2 * i] == pytest.approx(math.sin(p / 10000 ** (2 * i / 16)), abs=1e-6)
    assert pe[p, 2 * i + 1] == pytest.approx(math.cos(p / 10000 ** (2 * i / 16)), abs=1e-6)
    np.testing.assert_allclose(pe[0, 0::2], 0, atol=1e-7)
    np.testing.assert_allclose(pe[0, 1::2], 1, atol=1e-7)
    sim = position_similarity(pe)
    np.testing.assert_allclose(np.diag(sim), 1, atol=1e-9)
    # a Toeplitz matrix: the similarity of positions p and p + k is the same for every p
    for k in (1, 5, 20):
        diag = np.diag(sim, k)
        assert np.ptp(diag) < 1e-6
    assert sim[10, 11] > sim[10, 30]  # neighbours are more alike than far-apart positions
    assert sinusoidal_positions(5, 7).shape == (5, 7)  # odd sizes work too


def test_default_transformer_keeps_learned_positions_and_the_switch_builds_the_others():
    data = load_dataset("agreement")
    assert ModelConfig().positions == "learned" and default_config("transformer").positions == "learned"
    learned = build_model(default_config("transformer"), data, seed=0)
    assert any(n.endswith("pos") for n, _ in learned.named_parameters())  # a trained parameter, as before
    kind, pos = model_positions(learned)
    assert kind == "learned" and pos.shape == (data.input_shape[1] + 1, 32)
    sin = build_model(replace(default_config("transformer"), positions="sinusoidal"), data, seed=0)
    kind, pos = model_positions(sin)
    assert kind == "sinusoidal" and not any(n.endswith("pos") for n, _ in sin.named_parameters())
    np.testing.assert_allclose(pos, sinusoidal_positions(data.input_shape[1] + 1, 32).numpy())
    assert "pos" not in "".join(sin.state_dict())  # fixed: not saved, rebuilt from the formula
    with pytest.raises(ValueError):
        build_model(replace(default_config("transformer"), positions="rotary"), data)


def test_without_positions_the_answer_ignores_word_order():
    data = load_dataset("agreement")
    model = build_model(replace(default_config("transformer"), positions="none"), data, seed=0).eval()
    x = data.x_test[:8]
    shuffled = x[:, :, torch.randperm(x.shape[2], generator=torch.Generator().manual_seed(0))]
    assert not torch.equal(x, shuffled)
    torch.testing.assert_close(model(x), model(shuffled), atol=1e-5, rtol=1e-5)
    learned = build_model(default_config("transformer"), data, seed=0).eval()
    assert not torch.allclose(learned(x), learned(shuffled), atol=1e-4)


def test_order_blind_ceiling_of_the_agreement_task():
    vocab = ["<pad>", "the", "near", "book", "books", "idea", "ideas"]
    ids = np.array([[1, 3, 2, 1, 4], [1, 5, 2, 1, 6], [1, 3, 2, 1, 5], [1, 4, 0, 0, 0]])
    assert mixed_number_share(ids, vocab) == pytest.approx(0.5)  # rows 0 and 1 mix singular and plural
    data = load_dataset("agreement")
    share = mixed_number_share(data.extras["ids_test"], data.extras["vocab"])
    assert 0.3 < share < 0.6


def test_without_positions_the_model_stays_below_the_ceiling_and_with_them_it_learns(one_thread):
    accs = {}
    data = load_dataset(DataConfig(name="agreement"))
    _train_both(data, accs)
    ceiling = 1 - mixed_number_share(data.extras["ids_test"], data.extras["vocab"]) / 2
    assert accs["learned"] > 0.95
    assert accs["none"] < ceiling + 0.05 and accs["none"] < accs["learned"] - 0.15


def _train_both(data, accs: dict) -> None:
    for positions in ("learned", "none"):
        cfg = RunConfig(data=DataConfig(name="agreement"), model=replace(default_config("transformer"), positions=positions),
                        optim=OptimConfig(lr=3e-3, clip_norm=1.0), train=TrainConfig(epochs=12))
        trainer = Trainer(cfg, data)
        trainer.fit()
        accs[positions] = trainer.evaluate(data.x_test, data.y_test)[1]


def test_causal_mask_and_masked_softmax_match_torch():
    mask = causal_mask(4)
    assert mask.tolist() == [[True, False, False, False], [True, True, False, False], [True, True, True, False],
                             [True, True, True, True]]
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 1, 6, 8, generator=g) for _ in range(3))
    scores = (q @ k.transpose(-1, -2))[0, 0] / math.sqrt(8)
    weights = masked_softmax(scores)
    assert np.all(np.triu(weights, 1) == 0) and weights[0, 0] == pytest.approx(1.0)
    np.testing.assert_allclose(weights.sum(-1), 1, atol=1e-6)
    out = torch.from_numpy(weights) @ v[0, 0]
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True)[0, 0], atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(masked_softmax(scores, causal=False), torch.softmax(scores, -1).numpy(), atol=1e-6)


def test_masked_head_of_a_model_matches_the_mask_applied_to_its_own_scores():
    data = load_dataset("agreement")
    model = build_model(ModelConfig(name="transformer", depth=2, heads=2, width=16), data, seed=2)
    x = data.x_test[5:6]
    plain = attention_steps(model, x, 1, 1)
    masked = attention_steps(model, x, 1, 1, causal=True)
    np.testing.assert_allclose(masked.weights, masked_softmax(plain.scores), atol=1e-6)
    maps, _ = attention_maps(model, x)
    np.testing.assert_allclose(plain.weights, maps[0, 1, 1], atol=1e-5)  # unmasked: the model's own weights
    # the last row sees every key anyway: masked = unmasked there
    np.testing.assert_allclose(masked.weights[-1], plain.weights[-1], atol=1e-6)
