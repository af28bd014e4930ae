"""Genotypes for the genetic algorithm: per-key constraints, sampling, mutation, crossover.

A genotype is a flat dict ``key name -> value`` over some of an experiment's
keys (the same flat dict a Tune trial config is); ``Experiment.with_keys``
merges it into the experiment. A ``GenotypeSpace`` holds one constraint per
key and does everything random with an explicit ``numpy.random.Generator``.

Constraint forms
----------------
In Python:

* a **list** of values: a choice, e.g. ``["mean", "median"]`` or ``[0, 1, 2]``;
* a **tuple** ``(low, high)``: a uniform range, inclusive; integer when the key
  takes ints (or, for a key of no numeric type, when both bounds are ints),
  else float;
* ``(low, high, "log")`` or ``{"low": .., "high": .., "log": True}``: a range
  sampled uniformly in log space (needs ``low > 0``);
* ``{"choices": [...]}``: a choice.

In config files (YAML/JSON have no tuples) ``[low, high]`` of two numbers and
``[low, high, "log"]`` are ranges, like ``spikey.meta.space`` (a list ending in
``log`` is always a range: bounds that are not numbers are an error, never three
choices); a choice is
``{choices: [...]}`` or a list of any other length or content. The portable
form written to a GA folder's ``config.json`` is always one of the two dict
forms, so it reads back the same in either mode.

Every constraint is checked against the experiment's declared Keys
(``Experiment.declared_keys()``): an unknown key, an empty choice,
``low > high``, a log range with ``low <= 0``, or values the Key refuses
(type, declared range, declared choices) raise a ``ConfigError`` naming the
key, the value and what was expected.

Operators (the design)
----------------------
* ``sample``: each gene drawn independently (uniform choice; uniform or
  log-uniform in the range, integers inclusive of both bounds).
* ``mutate``: ``n_genes`` distinct genes change (default 1). A choice gene
  takes a different value uniformly. A range gene takes a Gaussian step of
  standard deviation ``scale * (high - low)`` (in log space for log ranges),
  reflected at the bounds, so mutation is local; integer genes round the step
  and move at least one unit. ``scale=None`` resamples the gene instead.
* ``crossover``: ``"one_point"`` cuts the sorted key list at a random point
  (1..n-1) and swaps the tails; ``"uniform"`` takes each gene from either
  parent with probability 1/2. Both return two complementary children.
* Floats are rounded to ``digits`` significant digits (default 8) when made,
  so the values evaluated, written to tables and used as cache keys are the
  same numbers; ``canonical`` gives the sorted, rounded tuple used as the
  fitness-cache key.

Examples
--------
>>> import numpy as np
>>> space = GenotypeSpace({"learning_rate": (1e-4, 1e-1, "log"), "refractory_period": (0, 3),
...                        "action_threshold": ["mean", "median"]})
>>> rng = np.random.default_rng(0)
>>> g = space.sample(rng)
>>> sorted(g), 1e-4 <= g["learning_rate"] <= 0.1, g["refractory_period"] in (0, 1, 2, 3)
(['action_threshold', 'learning_rate', 'refractory_period'], True, True)
>>> child = space.mutate(g, rng)
>>> sum(child[k] != g[k] for k in g)
1
>>> space.canonical({"refractory_period": 2, "learning_rate": 0.0012345678912, "action_threshold": "mean"})
(('action_threshold', 'mean'), ('learning_rate', 0.0012345679), ('refractory_period', 2))
>>> GenotypeSpace({"learning_rate": (0.1, 0.01)})
Traceback (most recent call last):
...
spikey.module.KeyRangeError: genotype: key 'learning_rate' range (0.1, 0.01) is empty; expected low <= high.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Mapping

import numpy as np

from spikey.module import ConfigError, Key, KeyRangeError, KeyTypeError, UnknownKeyError, suggest

CROSSOVERS = ("one_point", "uniform")


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def round_float(value: float, digits: int = 8) -> float:
    """``value`` rounded to ``digits`` significant digits (reproducible across machines).

    >>> round_float(0.123456789123), round_float(123456.7891, 4)
    (0.12345679, 123500.0)
    """
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.{int(digits)}g}")


def plain(value: Any) -> Any:
    """A numpy scalar as the Python scalar (genotypes hold plain values)."""
    return value.item() if isinstance(value, np.generic) else value


def _numeric_kind(key: Key | None) -> type | None:
    if key is None:
        return None
    types = key.type if isinstance(key.type, tuple) else (key.type,)
    if float in types:
        return float
    if int in types:
        return int
    return None


class Choice:
    """A gene drawn from a list of values."""

    def __init__(self, values: list):
        self.values = [plain(v) for v in values]

    def sample(self, rng: np.random.Generator) -> Any:
        return self.values[int(rng.integers(len(self.values)))]

    def mutate(self, value: Any, rng: np.random.Generator, scale: float | None) -> Any:
        others = [v for v in self.values if not _same(v, value)]
        return others[int(rng.integers(len(others)))] if others else value

    def contains(self, value: Any) -> bool:
        return any(_same(v, value) for v in self.values)

    def portable(self) -> dict:
        from spikey.experiment.config import portable
        return {"choices": [portable(v) for v in self.values]}

    def __repr__(self) -> str:
        return f"Choice({self.values!r})"


class Range:
    """A gene in ``[low, high]`` (inclusive): ``integer`` or float, optionally log-uniform."""

    def __init__(self, low: float, high: float, *, integer: bool, log: bool = False, digits: int = 8):
        self.low, self.high, self.integer, self.log, self.digits = low, high, integer, log, digits

    def _round(self, value: float) -> Any:
        if self.integer:
            return int(min(max(round(value), self.low), self.high))
        return round_float(min(max(value, self.low), self.high), self.digits)

    def sample(self, rng: np.random.Generator) -> Any:
        if self.integer and not self.log:
            return int(rng.integers(self.low, self.high + 1))
        if self.log:
            top = math.log(self.high + 1) if self.integer else math.log(self.high)
            value = math.exp(rng.uniform(math.log(self.low), top))
            return self._round(math.floor(value) if self.integer else value)
        return self._round(rng.uniform(self.low, self.high))

    def mutate(self, value: Any, rng: np.random.Generator, scale: float | None) -> Any:
        if scale is None or self.low == self.high:
            return self.sample(rng)
        lo, hi = (math.log(self.low), math.log(self.high)) if self.log else (self.low, self.high)
        x = math.log(value) if self.log else float(value)
        # Reflect at the bounds (a folded Gaussian keeps the step's size near an edge).
        x = _reflect(x + rng.normal(0.0, scale * (hi - lo)), lo, hi)
        new = math.exp(x) if self.log else x
        new = self._round(new)
        if self.integer and new == value:  # an integer gene moves at least one unit
            step = 1 if (rng.random() < 0.5 and value < self.high) or value <= self.low else -1
            new = int(min(max(value + step, self.low), self.high))
        return new

    def contains(self, value: Any) -> bool:
        if not _is_number(value) or (self.integer and float(value) != int(value)):
            return False
        return self.low <= value <= self.high

    def portable(self) -> dict:
        return {"low": self.low, "high": self.high, "log": self.log}

    def __repr__(self) -> str:
        kind = "int" if self.integer else "float"
        return f"Range({self.low!r}, {self.high!r}, {kind}{', log' if self.log else ''})"


def _reflect(x: float, lo: float, hi: float) -> float:
    """``x`` folded into ``[lo, hi]`` by reflection at the bounds."""
    span = hi - lo
    if span <= 0:
        return lo
    y = (x - lo) % (2 * span)
    return lo + (y if y <= span else 2 * span - y)


def _same(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return float(a) == float(b)
    return type(a) is type(b) and a == b


def parse_constraint(name: str, spec: Any, key: Key | None = None, *, file_form: bool = False,
                     digits: int = 8) -> Choice | Range:
    """One constraint from its spec (forms in the module docstring), checked against ``key``.

    ``file_form``: the spec comes from YAML/JSON, where ``[low, high]`` is a range.
    """
    where = f"genotype: key '{name}'"
    if isinstance(spec, (Choice, Range)):
        constraint = spec
    elif isinstance(spec, dict) and "choices" in spec:
        if set(spec) != {"choices"} or not isinstance(spec["choices"], (list, tuple)):
            raise KeyTypeError(f"{where} spec {spec!r}: expected {{choices: [v1, v2, ...]}}.", key=name,
                               value=spec, expected="{choices: [...]}")
        constraint = _choice(name, list(spec["choices"]), where)
    elif isinstance(spec, dict) and {"low", "high"} <= set(spec):
        unknown = set(spec) - {"low", "high", "log"}
        if unknown:
            raise KeyTypeError(f"{where} spec has unknown field(s) {sorted(unknown)}; expected low, high, log.",
                               key=name, value=spec, expected="{low, high, log}")
        constraint = _range(name, spec["low"], spec["high"], bool(spec.get("log", False)), key, where, digits,
                            shown=spec)
    elif isinstance(spec, tuple) or (file_form and isinstance(spec, list) and _looks_like_range(spec)):
        if len(spec) == 2:
            constraint = _range(name, spec[0], spec[1], False, key, where, digits, shown=tuple(spec))
        elif len(spec) == 3 and spec[2] == "log":
            constraint = _range(name, spec[0], spec[1], True, key, where, digits, shown=tuple(spec))
        else:
            raise KeyTypeError(f"{where} range {spec!r} is not understood; expected (low, high) or "
                               f"(low, high, 'log').", key=name, value=spec, expected="(low, high[, 'log'])")
    elif isinstance(spec, (list, np.ndarray)):
        constraint = _choice(name, list(spec), where)
    else:
        raise KeyTypeError(f"{where} spec {spec!r} is not understood; expected a list of values (a choice), "
                           f"(low, high) or (low, high, 'log') (a range), {{low, high, log}} or "
                           f"{{choices: [...]}}.", key=name, value=spec, expected="a constraint")
    if key is not None:
        _check_against_key(name, constraint, key)
    return constraint


def _looks_like_range(spec: list) -> bool:
    """A file-form list is a range: two numbers, or anything ending in "log" (a log range is never a choice;
    its bounds are checked as numbers)."""
    return (len(spec) == 2 and all(_is_number(v) for v in spec)) or (len(spec) == 3 and spec[2] == "log")


def _choice(name: str, values: list, where: str) -> Choice:
    if not values:
        raise KeyRangeError(f"{where} has an empty list of choices; expected at least one value.", key=name,
                            value=values, expected="a non-empty list")
    distinct = []
    for value in values:
        if not any(_same(value, v) for v in distinct):
            distinct.append(value)
    return Choice(distinct)


def _range(name: str, low: Any, high: Any, log: bool, key: Key | None, where: str, digits: int,
           shown: Any) -> Range:
    for bound in (low, high):
        if not _is_number(bound):
            raise KeyTypeError(f"{where} range {shown!r}: bound {bound!r} is not a number.", key=name,
                               value=shown, expected="numeric bounds")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise KeyRangeError(f"{where} range {shown!r} has an infinite bound; expected finite bounds.", key=name,
                            value=shown, expected="finite bounds")
    if low > high:
        raise KeyRangeError(f"{where} range {shown!r} is empty; expected low <= high.", key=name, value=shown,
                            expected="low <= high")
    if log and low <= 0:
        raise KeyRangeError(f"{where} log range {shown!r} needs low > 0; got low = {low}.", key=name,
                            value=shown, expected="low > 0")
    kind = _numeric_kind(key)
    if key is not None and kind is None:
        raise KeyTypeError(f"{where} takes {key.expected()}, not a numeric range {shown!r}; give a list of "
                           f"values (a choice).", key=name, value=shown, expected="a list of values")
    integer = kind is int or (kind is None and isinstance(low, numbers.Integral) and isinstance(high, numbers.Integral))
    if integer and not (float(low).is_integer() and float(high).is_integer()):
        raise KeyTypeError(f"{where} takes ints but the range {shown!r} has non-integer bounds.", key=name,
                           value=shown, expected="integer bounds")
    if integer:
        return Range(int(low), int(high), integer=True, log=log, digits=digits)
    return Range(float(low), float(high), integer=False, log=log, digits=digits)


def _check_against_key(name: str, constraint: Choice | Range, key: Key) -> None:
    from spikey.experiment.config import coerce_value
    where = f"genotype: key '{name}'"
    if isinstance(constraint, Choice):
        for value in constraint.values:
            try:
                key.validate(coerce_value(name, value, key), where)
            except ConfigError as error:
                raise type(error)(f"{where}: choice {value!r} is not a valid value; expected "
                                  f"{key.expected()}.", key=name, value=value, expected=key.expected()) from error
        return
    if key.choices is not None:
        raise KeyTypeError(f"{where} takes one of {list(key.choices)}; give a list of them, not the range "
                           f"{constraint!r}.", key=name, value=constraint.portable(), expected=str(list(key.choices)))
    if key.range is not None:
        low, high = key.range
        if (low is not None and constraint.low < low) or (high is not None and constraint.high > high):
            bounds = " <= ".join([str(low)] * (low is not None) + [name] + [str(high)] * (high is not None))
            raise KeyRangeError(f"{where} range [{constraint.low}, {constraint.high}] leaves the key's declared "
                                f"range {bounds}.", key=name, value=[constraint.low, constraint.high],
                                expected=bounds)


class GenotypeSpace:
    """Constraints over some keys; random genotypes, mutation and crossover with an explicit Generator.

    Parameters
    ----------
    constraints : dict
        ``key name -> spec`` (forms in the module docstring), at least one.
    declared : dict, optional
        ``name -> Key`` (``Experiment.declared_keys()``); each name and value is
        checked against it. None skips the Key checks (toy fitness functions).
    file_form : bool
        Specs come from YAML/JSON (``[low, high]`` is a range).
    digits : int
        Significant digits of float genes.
    """

    def __init__(self, constraints: Mapping[str, Any], declared: Mapping[str, Key] | None = None, *,
                 file_form: bool = False, digits: int = 8):
        if not isinstance(constraints, Mapping) or not constraints:
            raise ConfigError(f"genotype: constraints = {constraints!r}; expected a non-empty mapping "
                              f"key -> list of values or (low, high).", key="constraints", value=constraints,
                              expected="a non-empty dict")
        self.digits = int(digits)
        self.constraints: dict[str, Choice | Range] = {}
        for name in sorted(constraints):
            key = None
            if declared is not None:
                key = declared.get(name)
                if key is None:
                    plain_names = [k for k in declared if "." not in k]
                    raise UnknownKeyError(f"genotype: unknown key '{name}': no part or game of the experiment "
                                          f"declares it.{suggest(name, plain_names)}", key=name,
                                          value=constraints[name], expected="a declared key")
            self.constraints[name] = parse_constraint(name, constraints[name], key, file_form=file_form,
                                                      digits=self.digits)
        self.keys = list(self.constraints)

    def __repr__(self) -> str:
        return f"GenotypeSpace({self.constraints!r})"

    def portable(self) -> dict:
        """The constraints in portable JSON form (``{choices}`` / ``{low, high, log}``)."""
        return {name: c.portable() for name, c in self.constraints.items()}

    def _fix(self, genotype: dict) -> dict:
        return {k: (round_float(v, self.digits) if isinstance(v, float) else plain(v))
                for k, v in sorted(genotype.items())}

    def sample(self, rng: np.random.Generator) -> dict:
        """A random genotype (every gene drawn independently)."""
        return self._fix({name: c.sample(rng) for name, c in self.constraints.items()})

    def mutate(self, genotype: dict, rng: np.random.Generator, *, n_genes: int = 1,
               scale: float | None = 0.2) -> dict:
        """A copy of ``genotype`` with ``n_genes`` distinct genes changed (see the module docstring)."""
        child = dict(genotype)
        count = min(max(int(n_genes), 1), len(self.keys))
        for index in sorted(rng.choice(len(self.keys), size=count, replace=False).tolist()):
            name = self.keys[index]
            child[name] = self.constraints[name].mutate(child[name], rng, scale)
        return self._fix(child)

    def crossover(self, a: dict, b: dict, rng: np.random.Generator, method: str = "uniform") -> tuple[dict, dict]:
        """Two complementary children of parents ``a`` and ``b`` (``"one_point"`` or ``"uniform"``)."""
        n = len(self.keys)
        if method == "one_point":
            cut = int(rng.integers(1, n)) if n > 1 else 0
            take_a = np.arange(n) < cut
        elif method == "uniform":
            take_a = rng.random(n) < 0.5
        else:
            raise ConfigError(f"genotype: crossover = {method!r}; expected one of {list(CROSSOVERS)}.",
                              key="crossover", value=method, expected=str(list(CROSSOVERS)))
        first = {k: (a[k] if t else b[k]) for k, t in zip(self.keys, take_a)}
        second = {k: (b[k] if t else a[k]) for k, t in zip(self.keys, take_a)}
        return self._fix(first), self._fix(second)

    def canonical(self, genotype: dict) -> tuple:
        """The fitness-cache key: ``((name, value), ...)`` sorted, floats rounded to ``digits``."""
        out = []
        for name in sorted(genotype):
            value = plain(genotype[name])
            if isinstance(value, float):
                value = round_float(value, self.digits)
            elif isinstance(value, (list, tuple)):
                value = tuple(value)
            out.append((name, value))
        return tuple(out)

    def check(self, genotype: dict) -> dict:
        """``genotype`` if it has exactly this space's keys with values inside their constraints."""
        if sorted(genotype) != self.keys:
            raise ConfigError(f"genotype {genotype!r} has keys {sorted(genotype)}; expected {self.keys}.",
                              key="genotype", value=genotype, expected=str(self.keys))
        genotype = self._fix(genotype)
        for name, value in genotype.items():
            if not self.constraints[name].contains(value):
                raise KeyRangeError(f"genotype: key '{name}' = {value!r} is outside its constraint "
                                    f"{self.constraints[name]!r}.", key=name, value=value,
                                    expected=repr(self.constraints[name]))
        return genotype
