"""Search spaces from Keys: Ray Tune distributions over an experiment's flat keys.

``search_space(experiment, space)`` turns a dict ``key name -> spec`` into a
Tune ``param_space``, checked against each key's declaration (type, range,
choices) before anything runs. A spec is

* ``None`` or ``"auto"``: from the Key itself: its choices, ``[False, True]``
  for a bool, its declared ``range`` for a number (log-uniform where the range
  is positive and spans at least two decades);
* ``[low, high]``, ``[low, high, "log"]``: a uniform (int keys: integer) range;
* ``{low: .., high: .., log: true, step: ..}``;
* ``{choices: [...]}`` (a random choice) or ``{grid: [...]}`` (every value);
* a Tune domain (``tune.uniform(...)``), used as is; any other scalar is a constant.

Examples
--------
>>> from spikey.experiment import Experiment
>>> exp = Experiment(network="RLNetwork", game="Logic", game_preset="XOR",
...                  parts=dict(inputs="RateMap", neurons="LIF", weights="Random", synapses="MSTDPET",
...                             readout="Threshold", rewarder="MatchExpected"))
>>> space = search_space(exp, {"learning_rate": [1e-4, 1e-1, "log"], "refractory_period": [0, 5],
...                            "action_threshold": {"choices": ["mean", "median"]}})
>>> sorted((name, type(domain).__name__) for name, domain in space.items())
[('action_threshold', 'Categorical'), ('learning_rate', 'Float'), ('refractory_period', 'Integer')]
>>> search_space(exp, {"potential_decay": [0.5, 2.0]})
Traceback (most recent call last):
...
spikey.module.KeyRangeError: search space: key 'potential_decay' bounds [0.5, 2.0] leave its declared range 0 <= potential_decay <= 1.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

from spikey.module import Key, KeyRangeError, KeyTypeError, UnknownKeyError, suggest


def _is_domain(value: Any) -> bool:
    try:
        from ray.tune.search.sample import Domain
    except ImportError:  # pragma: no cover - ray is a dependency
        return False
    return isinstance(value, Domain) or (isinstance(value, dict) and "grid_search" in value)


def _numeric_kind(key: Key) -> type | None:
    types = key.type if isinstance(key.type, tuple) else (key.type,)
    if int in types and float not in types:
        return int
    if float in types:
        return float
    return None


def key_domain(key: Key, spec: Any = None, name: str | None = None, trusted: Sequence[str] = ()) -> Any:
    """The Tune domain of one key for ``spec`` (see the module docstring); validated against ``key``.

    ``trusted``: the experiment's trusted modules, for choices that are references.
    """
    from ray import tune
    name = name or key.name
    if _is_domain(spec):
        return spec
    if spec is None or spec == "auto":
        if key.choices is not None:
            return tune.choice(list(key.choices))
        if key.type is bool:
            return tune.choice([False, True])
        low, high = key.range if key.range is not None else (None, None)
        if low is None or high is None or _numeric_kind(key) is None:
            raise KeyRangeError(f"search space: key '{name}' has no finite declared range "
                                f"({key.expected()}); give bounds, e.g. {name}: [low, high].",
                                key=name, value=spec, expected="[low, high] or {choices: [...]}")
        spec = {"low": low, "high": high, "log": low > 0 and high / low >= 100}
    if isinstance(spec, dict) and ("choices" in spec or "grid" in spec):
        values = list(spec.get("choices", spec.get("grid")))
        if not values:
            raise KeyRangeError(f"search space: key '{name}' has no choices.", key=name, value=spec,
                                expected="a non-empty list")
        for value in values:
            _check_value(key, name, value, trusted)
        return tune.choice(values) if "choices" in spec else tune.grid_search(values)
    if isinstance(spec, (list, tuple)) and (len(spec) == 2 or len(spec) == 3 and spec[2] == "log"):
        spec = {"low": spec[0], "high": spec[1], "log": len(spec) == 3}
    if isinstance(spec, dict) and {"low", "high"} <= set(spec):
        return _range_domain(key, name, spec)
    if isinstance(spec, (str, numbers.Number, bool)) or spec is None:
        return _check_value(key, name, spec, trusted)
    raise KeyTypeError(f"search space: key '{name}' spec {spec!r} is not understood; expected [low, high], "
                       f"{{low, high, log}}, {{choices: [...]}}, {{grid: [...]}} or a Tune domain.",
                       key=name, value=spec, expected="a search spec")


def _check_value(key: Key, name: str, value: Any, trusted: Sequence[str] = ()) -> Any:
    from spikey.experiment.config import coerce_value
    key.validate(coerce_value(name, value, key, trusted=trusted), f"search space (key '{name}')")
    return value


def _range_domain(key: Key, name: str, spec: dict) -> Any:
    from ray import tune
    unknown = set(spec) - {"low", "high", "log", "step"}
    if unknown:
        raise KeyTypeError(f"search space: key '{name}' spec has unknown field(s) {sorted(unknown)}; expected "
                           f"low, high, log, step.", key=name, value=spec, expected="low, high, log, step")
    kind = _numeric_kind(key)
    low, high, log, step = spec["low"], spec["high"], bool(spec.get("log", False)), spec.get("step")
    if kind is None:
        raise KeyTypeError(f"search space: key '{name}' takes {key.expected()}, not a numeric range; use "
                           f"{{choices: [...]}}.", key=name, value=spec, expected="choices")
    for bound in (low, high):
        if not isinstance(bound, numbers.Real) or isinstance(bound, bool):
            raise KeyTypeError(f"search space: key '{name}' bound {bound!r} is not a number.", key=name,
                               value=spec, expected="numbers")
        if not math.isfinite(bound):
            raise KeyRangeError(f"search space: key '{name}' bound {bound!r} is not finite; a range needs "
                                f"finite bounds.", key=name, value=spec, expected="finite numbers")
    if not low < high:
        raise KeyRangeError(f"search space: key '{name}' bounds [{low}, {high}] are empty; expected low < high.",
                            key=name, value=spec, expected="low < high")
    if key.range is not None:
        declared_low, declared_high = key.range
        if (declared_low is not None and low < declared_low) or (declared_high is not None and high > declared_high):
            bounds = " <= ".join([str(declared_low)] * (declared_low is not None) + [name]
                                 + [str(declared_high)] * (declared_high is not None))
            raise KeyRangeError(f"search space: key '{name}' bounds [{low}, {high}] leave its declared range "
                                f"{bounds}.", key=name, value=spec, expected=bounds)
    if log and low <= 0:
        raise KeyRangeError(f"search space: key '{name}' log range needs low > 0; got {low}.", key=name,
                            value=spec, expected="low > 0")
    if kind is int:
        low, high = int(low), int(high)
        if log:
            return tune.lograndint(low, high + 1)
        return tune.qrandint(low, high, int(step)) if step else tune.randint(low, high + 1)
    if step:
        return tune.qloguniform(low, high, step) if log else tune.quniform(low, high, step)
    return tune.loguniform(low, high) if log else tune.uniform(low, high)


def search_space(experiment: Any, space: dict | list | tuple) -> dict:
    """A Tune ``param_space`` over ``experiment``'s keys (names checked; specs in the module docstring).

    ``space`` is a dict ``name -> spec`` or a list of names (each ``"auto"``).
    Keys not in ``space`` keep the experiment's values; the trainable merges them.
    """
    if isinstance(space, (list, tuple)):
        space = {name: "auto" for name in space}
    declared = experiment.declared_keys()
    out = {}
    for name, spec in space.items():
        key = declared.get(name)
        if key is None:
            plain = [k for k in declared if "." not in k]
            raise UnknownKeyError(f"search space: unknown key '{name}': no part or game of the experiment "
                                  f"declares it.{suggest(name, plain)}", key=name, value=spec,
                                  expected="a declared key")
        out[name] = key_domain(key, spec, name, getattr(experiment, "trusted_modules", ()))
    return out
