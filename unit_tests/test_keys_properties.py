"""Property-based tests over every Key of every shipped part and game: invalid values raise the documented error.

Keys are validated by ``Key.validate`` (what ``Module.resolve`` calls for each key when a part is
built, and ``set_param`` during a run): NaN, infinity where the Key does not allow it, values
outside the declared range and values that overflow the network's float32 raise ``KeyRangeError``;
values of the wrong type raise ``KeyTypeError``. Examples are bounded so the file runs in seconds.
"""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikey.experiment.config import game_classes_by_name, part_classes_by_name
from spikey.module import ConfigError, Key, KeyRangeError, KeyTypeError

BATCH = 3
EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _types(key: Key) -> tuple:
    return key.type if isinstance(key.type, tuple) else (key.type,)


def _shipped_keys() -> list[tuple[str, Key]]:
    """(class name, Key) for every Key of every part, network, modifier and game spikey ships."""
    out, seen = [], set()
    classes = {**part_classes_by_name(), **game_classes_by_name()}
    for name, cls in sorted(classes.items()):
        if not hasattr(cls, "key_map"):
            continue
        for key in cls.key_map().values():
            if (name, key.name) not in seen:
                seen.add((name, key.name))
                out.append((name, key))
    return out


KEYS = _shipped_keys()
FLOAT_KEYS = [(part, key) for part, key in KEYS if float in _types(key)]
FINITE_ONLY = [(part, key) for part, key in FLOAT_KEYS if not key.allow_inf]
RANGED = [(part, key) for part, key in KEYS if key.range is not None and (float in _types(key) or int in _types(key))]
NO_STR = [(part, key) for part, key in KEYS if (float in _types(key) or int in _types(key))
          and str not in _types(key) and object not in _types(key)]
INT_KEYS = [(part, key) for part, key in KEYS if int in _types(key) and float not in _types(key)]


def test_the_registry_covers_the_part_library():
    parts = {part for part, _ in KEYS}
    assert {"LIF", "MSTDPET", "RateMap", "Random", "Threshold", "CartPole", "Logic"} <= parts
    assert len(FLOAT_KEYS) > 40 and len(RANGED) > 40


def _values(key: Key, draw_value):
    """The value alone, and (for per-member keys) inside a batch of otherwise valid values."""
    yield draw_value
    if key.per_member:
        fine = key.default if not key.required and isinstance(key.default, (int, float)) \
            and not isinstance(key.default, bool) else (key.range[0] if key.range and key.range[0] is not None else 1.0)
        yield [fine, draw_value, fine]


def _refused(error: type, pairs, value_of, float_dtype=None) -> None:
    """Each (part, key) in ``pairs`` refuses ``value_of(key)`` (alone, and within a batch) with ``error``."""
    for part, key in pairs:
        value = value_of(key)
        if value is _SKIP:
            continue
        for candidate in _values(key, value):
            with pytest.raises(error, match=key.name):
                key.validate(candidate, part, BATCH, float_dtype)


_SKIP = object()


@EXAMPLES
@given(nan=st.sampled_from([float("nan"), np.float32("nan"), -float("nan"), np.float64("nan")]))
def test_nan_is_refused_by_every_float_key(nan):
    _refused(KeyRangeError, FLOAT_KEYS, lambda key: nan)


@EXAMPLES
@given(inf=st.sampled_from([math.inf, -math.inf, np.float64("inf"), np.float32("-inf")]))
def test_inf_is_refused_unless_the_key_allows_it(inf):
    _refused(KeyRangeError, FINITE_ONLY, lambda key: inf)


def _outside(key: Key, data) -> object:
    low, high = key.range
    integer = int in _types(key) and float not in _types(key)
    sides = []
    if low is not None:
        sides.append(st.integers(min_value=-10 ** 6, max_value=math.ceil(low) - 1) if integer else
                     st.floats(min_value=-1e30, max_value=low, exclude_max=True, allow_nan=False))
    if high is not None:
        sides.append(st.integers(min_value=math.floor(high) + 1, max_value=10 ** 6) if integer else
                     st.floats(min_value=high, max_value=1e30, exclude_min=True, allow_nan=False))
    return data.draw(st.one_of(sides), label=key.name)


@EXAMPLES
@given(data=st.data())
def test_values_outside_the_declared_range_are_refused(data):
    _refused(KeyRangeError, RANGED, lambda key: _outside(key, data))


@EXAMPLES
@given(value=st.one_of(st.text(max_size=8), st.booleans(), st.dictionaries(st.text(max_size=3), st.integers(),
                                                                           min_size=1, max_size=2)))
def test_values_of_the_wrong_type_are_refused(value):
    _refused(KeyTypeError, NO_STR, lambda key: _SKIP if isinstance(value, dict) and dict in _types(key) else value)


@EXAMPLES
@given(value=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
       .filter(lambda v: not float(v).is_integer()))
def test_int_keys_refuse_fractions(value):
    _refused(KeyTypeError, INT_KEYS, lambda key: value)


@EXAMPLES
@given(value=st.floats(min_value=3.5e38, max_value=1e308, allow_nan=False, allow_infinity=False),
       sign=st.sampled_from([1, -1]))
def test_values_that_overflow_float32_are_refused(value, sign):
    _refused(KeyRangeError, FINITE_ONLY, lambda key: sign * value, float_dtype="float32")


@EXAMPLES
@given(length=st.integers(min_value=0, max_value=8).filter(lambda n: n != BATCH))
def test_per_member_lists_of_the_wrong_length_say_the_expected_length(length):
    for part, key in FLOAT_KEYS:
        if key.per_member and list not in _types(key):
            with pytest.raises(ConfigError, match=rf"'{key.name}'.*shape \({BATCH},\)"):
                key.validate([0.5] * length, part, BATCH)
