"""Linear parameter schedule."""
from __future__ import annotations

from spikey.snn.modifier.template import Modifier


class LinearSchedule(Modifier):
    """Move ``key`` linearly from ``start`` to ``stop`` over ``n_steps`` game steps, then hold.

    Examples
    --------
    >>> s = LinearSchedule("learning_rate", start=1.0, stop=0.0, n_steps=4)
    >>> [s.value(t) for t in range(6)]
    [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """

    def __init__(self, key: str, start: float, stop: float, n_steps: int):
        super().__init__(key)
        if int(n_steps) < 1:
            raise ValueError(f"LinearSchedule: n_steps = {n_steps!r}; expected an int >= 1.")
        self.start, self.stop, self.n_steps = float(start), float(stop), int(n_steps)

    def value(self, step: int) -> float:
        fraction = min(step, self.n_steps) / self.n_steps
        return self.start + (self.stop - self.start) * fraction
