"""The Game API: B games that step together, in gymnasium's terms.

``reset(seed=None) -> (observations, info)`` and
``step(actions) -> (observations, rewards, terminated, truncated, info)``,
with a leading batch axis B on every array. Games declare their Keys like
network parts, so one flat config carries game and network keys together.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from spikey.backend import lane_generators, lane_seeds
from spikey.module import Module


class Game(Module):
    """Template for batched games.

    Parameters
    ----------
    batch_size : int, default 1
        B, the number of games stepping together.
    seed : int or sequence of B ints, default 0
        Lane seeds; lane b of a batch seeded with s behaves like a single game seeded with s + b.
    strict : bool, default True
        Reject config entries this game does not declare.
    **config
        Key values.
    """

    namespace = "game"
    #: Named key presets (e.g. Logic's "XOR"), applied under the explicit config.
    PRESETS: dict = {}

    def __init__(self, preset: str | None = None, *, batch_size: int = 1,
                 seed: int | Sequence[int] | None = 0, strict: bool = True, **config: Any):
        if preset is not None:
            if preset not in self.PRESETS:
                raise ValueError(f"{type(self).__name__}: unknown preset {preset!r}; expected one of "
                                 f"{sorted(self.PRESETS)}.")
            config = {**self.PRESETS[preset], **config}
        self.preset = preset
        super().__init__(batch_size=batch_size, strict=strict, **config)
        self.seeds = lane_seeds(seed, self.batch_size)
        self.rngs = lane_generators(self.seeds, "game")

    def seed(self, seed: int | Sequence[int]) -> None:
        """Reseed every lane (``seed=0`` seeds too; lane b gets ``seed + b``)."""
        self.seeds = lane_seeds(seed, self.batch_size)
        self.rngs = lane_generators(self.seeds, "game")

    def reset(self, seed: int | Sequence[int] | None = None, options: dict | None = None) -> tuple:
        raise NotImplementedError

    def step(self, action: Any) -> tuple:
        raise NotImplementedError

    def close(self) -> None:
        """Release resources (nothing by default)."""
