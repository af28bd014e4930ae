"""Linear parameter schedule."""
from __future__ import annotations

import numpy as np

from spikey.snn.modifier.template import Modifier


class LinearSchedule(Modifier):
    """Move ``key`` linearly from ``start`` to ``stop`` over ``n_steps`` game steps, then hold.

    ``start`` and ``stop`` are numbers, or sequences with one value per lane
    (for a per-member key): e.g. learning lanes and their learning-rate-0
    controls in one batch, ``start=[lr] * k + [0] * k, stop=0``; the value is
    then a list per lane.

    Examples
    --------
    >>> s = LinearSchedule("learning_rate", start=1.0, stop=0.0, n_steps=4)
    >>> [s.value(t) for t in range(6)]
    [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    >>> LinearSchedule("learning_rate", start=[0.2, 0.0], stop=0.0, n_steps=4).value(1)
    [0.15000000000000002, 0.0]
    """

    def __init__(self, key: str, start: float | list, stop: float | list, n_steps: int):
        super().__init__(key)
        if int(n_steps) < 1:
            raise ValueError(f"LinearSchedule: n_steps = {n_steps!r}; expected an int >= 1.")
        lanes = np.ndim(start) > 0 or np.ndim(stop) > 0
        self.start = np.asarray(start, dtype=float) if lanes else float(start)
        self.stop = np.asarray(stop, dtype=float) if lanes else float(stop)
        self.n_steps = int(n_steps)

    def value(self, step: int) -> float | list:
        fraction = min(step, self.n_steps) / self.n_steps
        value = self.start + (self.stop - self.start) * fraction
        return value.tolist() if isinstance(value, np.ndarray) else value
