"""Random numbers that belong to one run, so a seeded run is the same whatever else the server is doing.

torch has one global CPU generator per process, shared by every thread: a page that reseeds it, or another
job's dropout and augmentations drawing from it, would change a seeded run that happens to train at the
same time. So nothing in the lab calls `torch.manual_seed` while others work:

- model initialisation runs under `init_rng(seed)`: the global generator is seeded inside a lock and put back
  afterwards (`torch.random.fork_rng`), so the weights depend on the seed alone; an unseeded build still
  takes the lock, so it never draws from a state that a seeded block has swapped in;
- a job's dropout draws from the job's own `torch.Generator` (`Dropout`, given one by `use_generator`), and
  so does its input noise (`labcore.train.augment`);
- code that can only draw from the global generator (torchvision's random transforms) runs inside
  `PrivateRNG.active()`, which swaps the job's own generator state in and out under the same lock.

Code outside the lab that draws from the global generator without the lock (a notebook's `nn.Linear(3, 3)`
in another thread) can still land inside one of those short locked blocks; nothing in the lab does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import torch
import torch.nn.functional as F
from torch import nn

RNG_LOCK = threading.RLock()  # whoever touches torch's global generator holds this


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """The global generator seeded with `seed` for the block, and restored after it (CPU only)."""
    with RNG_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def init_rng(seed: int | None) -> AbstractContextManager:
    """For building a model: `seeded(seed)`, or, without a seed, the lock alone."""
    return seeded(seed) if seed is not None else RNG_LOCK


class PrivateRNG:
    """A generator state of one's own for code that draws from torch's global generator."""

    def __init__(self, seed: int):
        self.state = torch.Generator().manual_seed(seed).get_state()

    @contextmanager
    def active(self) -> Iterator[None]:
        with RNG_LOCK, torch.random.fork_rng(devices=[]):
            torch.set_rng_state(self.state)
            try:
                yield
            finally:
                self.state = torch.get_rng_state()


class Dropout(nn.Dropout):
    """`nn.Dropout` that draws its mask from `self.generator` when it has one (see `use_generator`)."""

    generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = self.generator
        if g is None or not self.training or self.p == 0 or g.device != x.device:
            return F.dropout(x, self.p, self.training, self.inplace)
        keep = torch.empty_like(x).bernoulli_(1 - self.p, generator=g)
        return x * keep / (1 - self.p)


def use_generator(model: nn.Module, generator: torch.Generator) -> int:
    """Give every lab `Dropout` in `model` this generator; returns how many there are."""
    layers = [m for m in model.modules() if isinstance(m, Dropout)]
    for m in layers:
        m.generator = generator
    return len(layers)
