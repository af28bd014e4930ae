"""Game state -> per-input values: the lookup shared by the state-mapped input variants.

A state map is a dict keyed by states (tuples or scalars, normalised the way
``RateMap`` does it) or an array indexed by integer states. The helpers here
run once per game step (not per network step) and raise errors that name the
part, the key and the offending lane and state.

Examples
--------
>>> import numpy as np
>>> table = {(0, 1): [0.5, 1.0], (1, 1): [2.0, 3.0]}
>>> [v.tolist() for v in lookup("Demo", "demo_map", table, np.array([[1, 1], [0, 1]]))]
[[2.0, 3.0], [0.5, 1.0]]
>>> lookup("Demo", "demo_map", np.arange(6.0).reshape(3, 2), np.array([2]))[0].tolist()
[4.0, 5.0]
>>> lookup("Demo", "demo_map", np.arange(6.0).reshape(3, 2), np.array([3]))
Traceback (most recent call last):
...
spikey.snn.input._state_lookup.UnknownStateError: Demo: lane 0 has state 3, outside 'demo_map' \
of shape (3, 2); expected integer states 0 <= s < 3.
"""
from __future__ import annotations

from typing import Any

import numpy as np


class UnknownStateError(KeyError, ValueError):
    """A game state has no entry in a state map (or is not a valid index into an array map)."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


def state_key(state: Any) -> Any:
    """The dict key of one lane's state: a Python scalar, or a flat tuple."""
    array = np.asarray(state)
    if array.ndim == 0:
        return array.item()
    return tuple(array.reshape(-1).tolist())


def normalise_table(mapping: Any) -> Any:
    """A dict map with normalised keys and float64 array values, or a float64 array map."""
    if isinstance(mapping, dict):
        return {state_key(k): np.asarray(v, dtype=np.float64) for k, v in mapping.items()}
    return np.asarray(mapping, dtype=np.float64)


def array_index(part: str, key: str, shape: tuple, states: np.ndarray) -> tuple:
    """Index tuple into an array map of ``shape`` for ``states`` (B,) or (B, k) integer states.

    Raises UnknownStateError for non-integral states, too many state dimensions
    or states outside the array (negative states do not wrap around).
    """
    index = np.asarray(states).reshape(states.shape[0], -1)
    if index.shape[1] >= len(shape):
        raise UnknownStateError(f"{part}: states have {index.shape[1]} entries per lane but '{key}' "
                                f"has shape {shape}; expected fewer state entries than map axes.")
    if index.dtype.kind not in "biuf":
        raise UnknownStateError(f"{part}: states have dtype {index.dtype}; '{key}' is an array, so "
                                f"states must be integers indexing it.")
    as_float = index.astype(np.float64)
    fractional = (~np.isfinite(as_float) | (as_float != np.round(as_float))).any(axis=1)
    if fractional.any():
        lane = int(np.flatnonzero(fractional)[0])
        raise UnknownStateError(f"{part}: lane {lane} has state {states[lane].tolist()!r}; '{key}' is "
                                f"an array, so states must be integers indexing it.")
    index = index.astype(np.int64)
    limits = np.asarray(shape[:index.shape[1]])
    outside = ((index < 0) | (index >= limits)).any(axis=1)
    if outside.any():
        lane = int(np.flatnonzero(outside)[0])
        state = states[lane].tolist() if np.ndim(states[lane]) else states[lane].item()
        bounds = ", ".join(f"0 <= s < {n}" for n in limits)
        raise UnknownStateError(f"{part}: lane {lane} has state {state!r}, outside '{key}' of shape "
                                f"{shape}; expected integer states {bounds}.")
    return tuple(index.T)


def lookup(part: str, key: str, table: Any, states: np.ndarray) -> list[np.ndarray]:
    """One value array per lane: ``table[state_b]`` for the B lanes of ``states`` (B, ...).

    ``table`` is a dict (keys normalised with ``state_key``) or an array indexed
    by integer states; a raw dict is normalised on the fly.
    """
    if isinstance(table, dict):
        out = []
        for lane, state in enumerate(states):
            value = table.get(state_key(state))
            if value is None:
                raise UnknownStateError(
                    f"{part}: lane {lane} has state {state_key(state)!r}, which is not in '{key}' "
                    f"(known states: {list(table)[:8]}{' ...' if len(table) > 8 else ''}).")
            out.append(np.asarray(value, dtype=np.float64))
        return out
    table = np.asarray(table, dtype=np.float64)
    return list(table[array_index(part, key, table.shape, states)])
