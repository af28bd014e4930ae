"""Model equations: plain functions over numbers or arrays, written once for every engine.

A part states each of its update equations as a function decorated with
``@equation(*updates)``: its parameters name what it reads (state variables,
the part's derived per-lane values, inputs such as ``current``), and it returns
the new values of the state variables named in ``updates`` (one value, or a
tuple in that order). The function uses only arithmetic and comparisons, so the
same code runs

* on ``(B, N)`` numpy arrays or torch tensors (the reference engine:
  ``evaluate`` fills the arguments from the part's attributes), and
* on numbers inside the compiled engine's per-neuron loop (numba compiles the
  same function).

Write constants as named parameters rather than float literals: numpy keeps
``float32 * 0.04`` in float32, compiled code would widen it to float64.

Examples
--------
>>> import numpy as np
>>> @equation("potential")
... def leak(potential, current, retain):
...     return potential * retain + current
>>> class Cell:
...     potential, retain = np.ones((1, 2)), 0.5
>>> cell = Cell()
>>> evaluate(cell, leak, current=np.array([[0.0, 1.0]]))
>>> cell.potential.tolist()
[[0.5, 1.5]]
>>> leak.__func__.updates, leak.__func__.inputs
(('potential',), ('potential', 'current', 'retain'))
"""
from __future__ import annotations

import inspect
from typing import Any, Callable


def equation(*updates: str) -> Callable[[Callable], staticmethod]:
    """Declare a model equation returning new values of the state variables ``updates``.

    The decorated function becomes a static method carrying ``updates`` and
    ``inputs`` (its parameter names).
    """
    if not updates:
        raise ValueError("equation(): name the state variables the equation returns")

    def mark(function: Callable) -> staticmethod:
        function.updates = tuple(updates)
        function.inputs = tuple(inspect.signature(function).parameters)
        return staticmethod(function)

    return mark


def is_equation(function: Any) -> bool:
    """Whether ``function`` was declared with ``@equation``."""
    function = getattr(function, "__func__", function)
    return callable(function) and hasattr(function, "updates") and hasattr(function, "inputs")


def evaluate(part: Any, function: Callable, mask: Any = None, **given: Any) -> None:
    """Apply ``function`` to ``part``'s arrays: arguments from ``given`` or ``part``'s attributes.

    With ``mask`` ((B, N) bool) only the masked entries change (``where(mask, new, old)``).
    """
    function = getattr(function, "__func__", function)
    values = function(*[given[name] if name in given else getattr(part, name) for name in function.inputs])
    if len(function.updates) == 1:
        values = (values,)
    for name, value in zip(function.updates, values):
        if mask is not None:
            value = part.xp.where(mask, value, getattr(part, name))
        setattr(part, name, value)
