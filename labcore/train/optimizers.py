"""Optimizer registry (SGD family, Adagrad, RMSProp, Adam, AdamW, Lion) built from one `OptimConfig`.

All but Lion are `torch.optim`'s own; torch has no Lion, so it is implemented here from the paper
(Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import optim

from labcore.config import OptimConfig
from labcore.registry import Registry


class Lion(optim.Optimizer):
    """Lion: step by the sign of an interpolated momentum; decoupled weight decay as in AdamW."""

    def __init__(self, params: Iterable, lr: float = 1e-4, betas: tuple[float, float] = (0.9, 0.99),
                 weight_decay: float = 0.0):
        if lr <= 0:
            raise ValueError(f"Lion needs lr > 0, got {lr}")
        super().__init__(params, {"lr": lr, "betas": betas, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Callable | None = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p)
                m = state["exp_avg"]
                p.mul_(1 - group["lr"] * group["weight_decay"])
                update = m.mul(beta1).add_(p.grad, alpha=1 - beta1).sign_()
                p.add_(update, alpha=-group["lr"])
                m.mul_(beta2).add_(p.grad, alpha=1 - beta2)
        return loss


class SwitchableAdam(optim.Optimizer):
    """Adam whose bias correction can be switched off, to show why it exists.

    On (the default) it performs `torch.optim.Adam`'s update with the same operations in the same order.
    Off, it drops the 1/(1-β₁ᵗ) and 1/(1-β₂ᵗ) factors: the book's Eqs 14.2-14.4, whose moments start at
    zero and so make the first steps too small (β₁ = 0.9, β₂ = 0.999: about 0.3x at step 1). Not in
    OPTIMIZERS: it is a teaching variant, used by the optimizer playground.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, bias_correction: bool = True):
        if lr <= 0:
            raise ValueError(f"Adam needs lr > 0, got {lr}")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "bias_correction": bias_correction})

    @torch.no_grad()
    def step(self, closure: Callable | None = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad if group["weight_decay"] == 0 else p.grad.add(p, alpha=group["weight_decay"])
                state = self.state[p]
                if not state:
                    state.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
                state["step"] += 1
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.lerp_(grad, 1 - beta1)
                v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                correction1, correction2_sqrt = 1.0, 1.0
                if group["bias_correction"]:
                    correction1 = 1 - beta1 ** state["step"]
                    correction2_sqrt = (1 - beta2 ** state["step"]) ** 0.5
                denom = (v.sqrt() / correction2_sqrt).add_(group["eps"])
                p.addcdiv_(m, denom, value=-group["lr"] / correction1)
        return loss


@dataclass(frozen=True)
class OptimizerSpec:
    build: Callable[[Iterable, OptimConfig], optim.Optimizer]
    options: tuple[str, ...]  # OptimConfig fields it uses (the page shows only these)
    defaults: dict[str, float] = field(default_factory=dict)


OPTIMIZERS = Registry("optimizer")


def _add(name: str, build, options, **defaults) -> None:
    OPTIMIZERS.register(name)(OptimizerSpec(build, options, defaults))


_add("sgd", lambda p, c: optim.SGD(p, lr=c.lr, weight_decay=c.weight_decay), ("lr", "weight_decay"), lr=0.05)
_add("momentum", lambda p, c: optim.SGD(p, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay),
     ("lr", "momentum", "weight_decay"), lr=0.02)
_add("nesterov", lambda p, c: optim.SGD(p, lr=c.lr, momentum=c.momentum, nesterov=True,
                                        weight_decay=c.weight_decay),
     ("lr", "momentum", "weight_decay"), lr=0.02)
_add("adagrad", lambda p, c: optim.Adagrad(p, lr=c.lr, eps=c.eps, weight_decay=c.weight_decay),
     ("lr", "eps", "weight_decay"), lr=0.02)
_add("rmsprop", lambda p, c: optim.RMSprop(p, lr=c.lr, alpha=c.alpha, eps=c.eps, weight_decay=c.weight_decay),
     ("lr", "alpha", "eps", "weight_decay"), lr=1e-3)
_add("adam", lambda p, c: optim.Adam(p, lr=c.lr, betas=(c.beta1, c.beta2), eps=c.eps,
                                     weight_decay=c.weight_decay),
     ("lr", "beta1", "beta2", "eps", "weight_decay"), lr=1e-3)
_add("adamw", lambda p, c: optim.AdamW(p, lr=c.lr, betas=(c.beta1, c.beta2), eps=c.eps,
                                       weight_decay=c.weight_decay),
     ("lr", "beta1", "beta2", "eps", "weight_decay"), lr=1e-3, weight_decay=0.01)
_add("lion", lambda p, c: Lion(p, lr=c.lr, betas=(c.beta1, c.beta2), weight_decay=c.weight_decay),
     ("lr", "beta1", "beta2", "weight_decay"), lr=1e-4, beta2=0.99)


def optimizer_config(name: str, **changes: object) -> OptimConfig:
    """`name` with the registry's own starting values (its usual learning rate, AdamW's decay, Lion's
    beta2), then `changes`: the one source of these defaults for the page, the command line and the API."""
    return OptimConfig(name=name, **{**OPTIMIZERS.get(name).defaults, **changes})


def build_optimizer(params: Iterable, cfg: OptimConfig) -> optim.Optimizer:
    return OPTIMIZERS.get(cfg.name).build(params, cfg)
