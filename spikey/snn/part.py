"""The common base of network parts: backend, lanes, random streams and state."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from spikey.backend import Backend, RandomStream, lane_generators, lane_seeds
from spikey.module import Module


class Part(Module):
    """A network part: Keys plus batched state on a backend.

    Parameters
    ----------
    backend : Backend, optional
        Array namespace and device; numpy float32 by default.
    seed : int or sequence of B ints, default 0
        Lane seeds (see ``spikey.backend.lane_seeds``).
    batch_size : int, default 1
        B, the number of networks simulated together.
    strict : bool, default True
        Reject config entries this part does not declare.
    **config
        Flat key values.

    Subclasses list their state arrays in ``state_names`` so that
    ``state_dict``/``load_state_dict`` checkpoint them, allocate them in
    ``reset()``, and compute constants from ``params`` in ``derive()``.
    """

    state_names: tuple[str, ...] = ()
    #: (B,) bool of the lanes whose plasticity runs, or None for all (set by ``Network.learning_lanes``).
    learning_lanes: np.ndarray | None = None

    def __init__(self, backend: Backend | None = None, seed: int | Sequence[int] | None = 0,
                 batch_size: int = 1, strict: bool = True, **config):
        backend = backend if backend is not None else Backend()
        # Keys are checked against the float type the part computes in (1e300 overflows float32).
        super().__init__(batch_size=batch_size, strict=strict, float_dtype=backend.dtype_name, **config)
        self.backend = backend
        self.seeds = lane_seeds(seed, self.batch_size)
        self.training = True
        self._streams: dict[str, RandomStream] = {}
        self.derive()

    @property
    def xp(self) -> Any:
        """The array namespace (numpy or torch)."""
        return self.backend.xp

    def column(self, name: str) -> Any:
        """Key ``name`` as a scalar or a (B, 1) array broadcasting over (B, N) state."""
        return self.backend.column(self.params[name])

    def stream(self, name: str, shape: tuple) -> RandomStream:
        """This part's per-lane uniform stream ``name`` with per-step shape ``shape``."""
        full_name = f"{self.namespace}.{name}"
        existing = self._streams.get(name)
        if existing is None or existing.shape != tuple(shape):
            existing = self.backend.stream(self.seeds, full_name, tuple(shape))
            self._streams[name] = existing
        return existing

    def generators(self, name: str) -> list[np.random.Generator]:
        """Fresh per-lane numpy generators for one-off draws (initial weights, polarities)."""
        return lane_generators(self.seeds, f"{self.namespace}.{name}")

    def reset(self) -> None:
        """Allocate or clear the state arrays. Override."""

    def cleared(self, name: str, shape: tuple) -> Any:
        """Attribute ``name`` zeroed in place when it already has ``shape`` and the backend's dtype, else new zeros.

        For large state (``(B, n, N)`` traces): allocating a fresh array at every reset
        would hold two of them at once, doubling the peak memory.
        """
        current = getattr(self, name, None)
        if current is not None and tuple(current.shape) == tuple(shape) and current.dtype == self.backend.dtype:
            current[...] = 0
            return current
        return self.backend.zeros(shape)

    def reset_learning(self) -> None:
        """Forget what was learned besides weights (e.g. adaptive thresholds). Override."""

    def train(self, mode: bool = True) -> "Part":
        self.training = bool(mode)
        return self

    def eval(self) -> "Part":
        return self.train(False)

    def state_dict(self) -> dict:
        """State arrays (as numpy copies), key values and random-stream positions."""
        arrays = {name: None if getattr(self, name, None) is None
                  else self.backend.to_numpy(getattr(self, name)).copy() for name in self.state_names}
        return {"arrays": arrays, "params": dict(self.params),
                "streams": {name: s.state() for name, s in self._streams.items()}}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned (same keys, shapes and backend kind)."""
        for name, value in state["arrays"].items():
            if value is not None:
                current = getattr(self, name, None)
                if isinstance(current, np.ndarray):  # host-side bookkeeping stays numpy
                    setattr(self, name, np.array(value, dtype=current.dtype))
                else:
                    setattr(self, name, self.backend.asarray(value, dtype=getattr(current, "dtype", None)))
        self.params.update(state.get("params", {}))
        for name, stream_state in state.get("streams", {}).items():
            shape = stream_state.get("shape")
            if shape is None:  # an older format: the stream refuses it, naming why
                shape = () if stream_state.get("buffer") is None else stream_state["buffer"].shape[2:]
            self.stream(name, tuple(shape)).load_state(stream_state)
        self.derive()
