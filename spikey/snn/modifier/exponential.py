"""Exponential parameter schedule."""
from __future__ import annotations

from spikey.snn.modifier.template import Modifier


class ExponentialSchedule(Modifier):
    """``value = floor + (start - floor) * rate**step``: exponential approach to ``floor``.

    Examples
    --------
    >>> s = ExponentialSchedule("learning_rate", start=1.0, rate=0.5)
    >>> [s.value(t) for t in range(4)]
    [1.0, 0.5, 0.25, 0.125]
    """

    def __init__(self, key: str, start: float, rate: float, floor: float = 0.0):
        super().__init__(key)
        if not 0 < float(rate):
            raise ValueError(f"ExponentialSchedule: rate = {rate!r}; expected a number > 0.")
        self.start, self.rate, self.floor = float(start), float(rate), float(floor)

    def value(self, step: int) -> float:
        return self.floor + (self.start - self.floor) * self.rate ** step
