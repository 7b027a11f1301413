"""Exponential backoff with jitter: how long to wait before the next attempt.

Shared by every component that retries a server (the stream's scorer and labels sink, the
producer's HTTP feed), so it sits beside the other shared modules, below all of them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """``base * 2**n`` capped at ``cap``, drawn uniformly in ``[cap/2, that]`` so that many
    workers retrying the same service spread out instead of arriving together."""

    base: float
    cap: float
    attempts: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * 2**self.attempts)
        self.attempts += 1
        return self.rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempts = 0
