"""Piecewise-constant parameter schedule."""
from __future__ import annotations

from typing import Any, Sequence

from spikey.snn.modifier.template import Modifier


class StepSchedule(Modifier):
    """``values[k]`` from game step ``boundaries[k-1]`` on (``values[0]`` before the first).

    Examples
    --------
    >>> s = StepSchedule("learning_rate", values=[0.1, 0.01, 0.0], boundaries=[2, 4])
    >>> [s.value(t) for t in range(6)]
    [0.1, 0.1, 0.01, 0.01, 0.0, 0.0]
    """

    def __init__(self, key: str, values: Sequence[Any], boundaries: Sequence[int]):
        super().__init__(key)
        values, boundaries = list(values), [int(b) for b in boundaries]
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"StepSchedule: {len(values)} values for {len(boundaries)} boundaries; "
                             f"expected one more value than boundaries.")
        if boundaries != sorted(boundaries):
            raise ValueError(f"StepSchedule: boundaries = {boundaries}; expected increasing steps.")
        self.values, self.boundaries = values, boundaries

    def value(self, step: int) -> Any:
        return self.values[sum(step >= b for b in self.boundaries)]
