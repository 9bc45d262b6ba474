"""Inside the network: the inspector's numbers are those of the hooked tensors, and it looks only when due."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labcore.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from labcore.data import load_dataset
from labcore.train.inspector import Inspector, summarize_tensor
from labcore.train.trainer import Trainer


def _step(model: nn.Module, insp: Inspector, x: torch.Tensor, y: torch.Tensor, opt, step: int = 0) -> dict | None:
    looking = insp.start(step)
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()
    return insp.finish(step + 1, 0.0) if looking else None


def test_std_histogram_and_gradient_are_those_of_the_hooked_tensors():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 3))
    x, y = torch.randn(32, 5), torch.randint(0, 3, (32,))
    seen = {}
    model[1].register_forward_hook(lambda m, i, o: seen.update(out=o.detach().clone()))
    model[1].register_full_backward_hook(lambda m, gi, go: seen.update(grad=go[0].detach().clone()))
    insp = Inspector(model, every_s=0)
    rec = _step(model, insp, x, y, torch.optim.SGD(model.parameters(), lr=0.1))
    assert insp.layer_names == ["ReLU 1"] and insp.weight_names == ["Linear 1", "Linear 2"]
    act, grad = rec["act"]["ReLU 1"], rec["grad"]["ReLU 1"]
    assert act["std"] == pytest.approx(seen["out"].std().item(), rel=1e-5)
    assert act["mean"] == pytest.approx(seen["out"].mean().item(), rel=1e-5)
    assert grad["std"] == pytest.approx(seen["grad"].std().item(), rel=1e-5)
    assert sum(act["counts"]) == seen["out"].numel() and len(act["counts"]) == insp.bins
    assert act["lo"] == pytest.approx(seen["out"].min().item()) and act["hi"] == pytest.approx(seen["out"].max().item())


def test_relu_with_a_large_negative_bias_is_all_dead():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    with torch.no_grad():
        model[0].bias.fill_(-100.0)
    rec = _step(model, Inspector(model, every_s=0), torch.randn(16, 4), torch.randint(0, 2, (16,)),
                torch.optim.SGD(model.parameters(), lr=0.01))
    assert rec["act"]["ReLU 1"]["dead"] == 1.0
    model[0].bias.data.fill_(0.0)  # half the units dead: the share counts units, not outputs
    model[0].bias.data[:4] = -100.0
    rec = _step(model, Inspector(model, every_s=0), torch.randn(16, 4), torch.randint(0, 2, (16,)),
                torch.optim.SGD(model.parameters(), lr=0.0))
    assert rec["act"]["ReLU 1"]["dead"] == pytest.approx(0.5)


def test_dead_conv_channels_count_over_all_positions():
    x = torch.zeros(2, 3, 4, 4)
    x[1, 0, 3, 3] = 1.0  # channel 0 fires once, in one example at one position: alive
    assert summarize_tensor(x, "relu")["dead"].item() == pytest.approx(2 / 3)


def test_tanh_with_huge_weights_saturates_and_sigmoid_too():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(6, 10), nn.Tanh(), nn.Linear(10, 10), nn.Sigmoid(), nn.Linear(10, 2))
    with torch.no_grad():
        model[0].weight.mul_(1000.0)
        model[2].weight.mul_(1000.0)
    rec = _step(model, Inspector(model, every_s=0), torch.randn(64, 6), torch.randint(0, 2, (64,)),
                torch.optim.SGD(model.parameters(), lr=0.0))
    assert rec["act"]["Tanh 1"]["saturated"] > 0.95
    assert rec["act"]["Sigmoid 1"]["saturated"] > 0.9
    assert "dead" not in rec["act"]["Tanh 1"]
    calm = summarize_tensor(torch.tanh(torch.linspace(-1, 1, 101)), "tanh")  # |tanh(x)| <= 0.77: none saturated
    assert calm["saturated"].item() == 0.0


def test_update_ratio_is_the_sgd_step_over_the_weight_norm():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x, y = torch.randn(8, 3), torch.randint(0, 2, (8,))
    w0 = model[0].weight.detach().clone()
    lr = 0.05
    rec = _step(model, Inspector(model, every_s=0), x, y, torch.optim.SGD(model.parameters(), lr=lr))
    by_hand = (lr * model[0].weight.grad).norm() / w0.norm()  # SGD: ΔW = -lr·∂L/∂W
    assert rec["weights"]["Linear 1"]["ratio"] == pytest.approx(by_hand.item(), rel=1e-5)
    assert rec["weights"]["Linear 1"]["norm"] == pytest.approx(model[0].weight.norm().item(), rel=1e-6)


def test_the_throttle_limits_the_records_and_hooks_go_away():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    now = [0.0]
    insp = Inspector(model, every_s=1.0, every_steps=1, free_looks=0, clock=lambda: now[0])
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(8, 3), torch.randint(0, 2, (8,))
    for step in range(36):  # 36 steps, 1/8 s apart: a look at 0, 1, 2, 3 and 4 s
        _step(model, insp, x, y, opt, step)
        now[0] += 0.125
    assert [r["step"] for r in insp.snapshot()] == [1, 9, 17, 25, 33]
    assert not model[1]._forward_hooks  # hooked only while looking
    short = Inspector(model, every_s=10.0, every_steps=2, free_looks=3, free_spacing=4, clock=lambda: now[0])
    for step in range(20):  # a short run: the first 3 looks need 4 steps between them only, then the clock rules
        _step(model, short, x, y, opt, step)
    assert [r["step"] for r in short.snapshot()] == [1, 5, 9]
    by_steps = Inspector(model, every_s=0, every_steps=5)
    for step in range(12):
        _step(model, by_steps, x, y, opt, step)
    assert [r["step"] for r in by_steps.snapshot()] == [1, 6, 11]


def test_a_long_run_keeps_every_other_record_and_looks_half_as_often():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    insp = Inspector(model, every_s=0, every_steps=1, max_records=4)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for step in range(5):
        _step(model, insp, torch.randn(4, 3), torch.randint(0, 2, (4,)), opt, step)
    assert [r["step"] for r in insp.snapshot()] == [1, 3, 5] and insp.every_steps == 2


def test_the_trainer_records_while_it_trains():
    cfg = RunConfig(data=DataConfig(name="moons"), model=ModelConfig(name="mlp", depth=2, width=16, activation="tanh"),
                    train=TrainConfig(epochs=2, batch_size=32, num_threads=1))
    trainer = Trainer(cfg, load_dataset(cfg.data))
    trainer.inspector = Inspector(trainer.model, every_s=0, every_steps=3)
    trainer.fit()
    records = trainer.inspector.snapshot()
    assert len(records) == -(-trainer.step // 3)
    assert set(records[0]["act"]) == {"Tanh 1", "Tanh 2"} and set(records[0]["grad"]) == {"Tanh 1", "Tanh 2"}
    assert all(0 < r["weights"]["Linear 1"]["ratio"] < 1 for r in records)
    assert not any(m._forward_hooks for m in trainer.model.modules())  # evaluation ran without hooks


def _records(steps: int = 6) -> list[dict]:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2))
    insp = Inspector(model, every_s=0, every_steps=1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(steps):
        _step(model, insp, torch.randn(32, 4), torch.randint(0, 2, (32,)), opt, step)
    return insp.snapshot()


def test_the_distribution_grid_keeps_every_value_and_its_place():
    from labcore.viz.inside import distribution_grid

    records = _records()
    steps, centres, grid = distribution_grid(records, "Tanh 1", "act", bins=30)
    assert steps.tolist() == [1, 2, 3, 4, 5, 6] and grid.shape == (30, 6)
    assert np.allclose(grid.sum(0), 1.0)  # each look's values all land somewhere
    for j, r in enumerate(records):  # and each column's mean is the look's own mean, to a bin's width
        mean = float((centres * grid[:, j]).sum())
        assert abs(mean - r["act"]["Tanh 1"]["mean"]) < (centres[1] - centres[0]) * 1.5


def test_the_inside_figures_show_every_layer_and_the_rule_of_thumb():
    from labcore.viz.inside import distribution_figure, health_figure, std_figure, update_ratio_figure, weight_norm_figure

    records = _records()
    acts = std_figure(records, "act")
    assert [tr.name for tr in acts.data] == ["ReLU 1", "Tanh 1"] and acts.layout.yaxis.type == "log"
    assert np.allclose(acts.data[0].y, [r["act"]["ReLU 1"]["std"] for r in records])
    assert len(std_figure(records, "grad").data) == 2
    health = health_figure(records)
    assert [tr.name for tr in health.data] == ["ReLU 1: dead", "Tanh 1: saturated"]
    assert np.allclose(health.data[0].y, [100 * r["act"]["ReLU 1"]["dead"] for r in records])
    ratio = update_ratio_figure(records)
    assert len(ratio.data) == 3 and ratio.layout.shapes[0].y0 == 1e-3 and ratio.layout.yaxis.type == "log"
    assert len(weight_norm_figure(records).data) == 3
    heat = distribution_figure(records, "ReLU 1", "grad", lang="he")
    assert heat.data[0].type == "heatmap" and heat.data[0].z.shape == (60, 6)
    empty = std_figure([], "act")  # before the first look: a note, no traces
    assert not empty.data and empty.layout.annotations
    assert not distribution_figure([], None).data


def test_a_narrow_look_spreads_over_the_grid_without_gaps():
    from labcore.viz.inside import distribution_grid

    wide = {"lo": 0.0, "hi": 1.0, "counts": [1.0] * 10}  # uniform on 0..1 in 10 bins, on a 40-bin grid
    narrow = {"lo": 0.5, "hi": 0.5, "counts": [4.0] + [0.0] * 9}  # every value 0.5
    records = [{"step": 1, "act": {"L": wide}}, {"step": 2, "act": {"L": narrow}}]
    _, centres, grid = distribution_grid(records, "L", bins=40)
    assert np.allclose(grid[:, 0], 1 / 40)  # no empty rows
    assert grid[:, 1].max() == 1.0 and abs(centres[grid[:, 1].argmax()] - 0.5) <= 1 / 40


def test_a_diverging_tensor_is_summarised_without_raising():
    stats = summarize_tensor(torch.tensor([[1.0, float("nan")], [float("inf"), 3.0]]), "relu")
    assert stats["counts"].sum().item() == 2 and stats["lo"].item() == 1.0 and stats["hi"].item() == 3.0
    assert torch.isnan(stats["std"])  # the spread of a diverged layer is not a number, as the loss says
    assert summarize_tensor(torch.full((3, 2), float("nan")))["counts"].sum().item() == 0
