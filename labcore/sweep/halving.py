"""Synchronous successive halving, ASHA's synchronous cousin.

Every live trial trains to the next rung (after 1, eta, eta², ... epochs, the last rung being the sweep's
epochs); there the trials are ranked by validation accuracy and only the best 1/eta go on, the rest stop.
ASHA (what the Ray backend uses) promotes a trial as soon as it is in the top 1/eta of those that reached its
rung so far, without waiting for the others: no trial idles, at the price of decisions made on fewer results.
Here every rung waits for all its trials, so each cut is made on complete information.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def rungs(epochs: int, eta: int, grace: int = 1) -> list[int]:
    """The epochs at which trials are compared: grace, grace*eta, ... below `epochs`, then `epochs` itself."""
    out, r = [], max(1, grace)
    while r < epochs:
        out.append(r)
        r *= max(2, eta)
    return out + [max(1, epochs)]


def keep_count(n: int, eta: int) -> int:
    """How many of `n` trials go on from a rung: the best 1/eta, at least one."""
    return max(1, n // max(2, eta))


def promote(scores: Mapping[int, float], eta: int) -> list[int]:
    """The trial ids that go on: the `keep_count` highest scores (NaN counts as the worst; ties: lower id)."""
    def key(i: int) -> tuple[float, int]:
        s = scores[i]
        return (-s if s == s else float("inf"), i)

    ranked = sorted(scores, key=key)
    return sorted(ranked[: keep_count(len(scores), eta)])


def budget(n: int, epochs: int, eta: int) -> int:
    """Epochs trained in all by a sweep of `n` trials with no early failures (each survivor trains on)."""
    total, alive, done = 0, n, 0
    marks = rungs(epochs, eta)
    for k, r in enumerate(marks):
        total += alive * (r - done)
        done = r
        if k < len(marks) - 1:
            alive = keep_count(alive, eta)
    return total


def plan(n: int, epochs: int, eta: int) -> Sequence[tuple[int, int]]:
    """(rung epoch, trials that train to it) for each rung."""
    out, alive = [], n
    marks = rungs(epochs, eta)
    for k, r in enumerate(marks):
        out.append((r, alive))
        if k < len(marks) - 1:
            alive = keep_count(alive, eta)
    return out
