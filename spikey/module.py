"""Declared, typed and validated parameters: ``Key`` and ``Module``.

Every part of a network declares the parameters it reads as ``Key`` objects in
its class attribute ``Keys``. A configuration is one flat dict shared by all
parts of a network (and by the game), so the same dict serves as a script's
config, a Ray Tune ``param_space`` and a genetic-algorithm genotype.

Where one flat name would mean different things to different parts (the spike
``magnitude`` of inputs and of neurons, say), a part can be addressed by its
family's namespace: ``"input.magnitude"`` overrides ``"magnitude"`` for the
input part only.

Examples
--------
>>> class Leak(Module):
...     namespace = "neuron"
...     Keys = [Key("decay", "fraction of potential lost per step", float,
...                 default=0.1, range=(0, 1))]
>>> Leak(decay=0.2).params["decay"]
0.2
>>> Leak(decay=2.0)
Traceback (most recent call last):
...
spikey.module.KeyRangeError: Leak: key 'decay' = 2.0 is out of range; expected 0 <= decay <= 1.
"""
from __future__ import annotations

import difflib
import numbers
from typing import Any, Callable, Iterable, Sequence

import numpy as np


class _Required:
    """Sentinel: a Key without a default must be given."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()


class ConfigError(ValueError):
    """A configuration value is missing, unknown, ill-typed or out of range.

    Attributes name the culprit: ``key``, ``part`` (class name), ``value``
    and ``expected`` (a human-readable description).
    """

    def __init__(self, message: str, *, key: str | None = None, part: str | None = None,
                 value: Any = None, expected: str | None = None):
        super().__init__(message)
        self.key, self.part, self.value, self.expected = key, part, value, expected


class MissingKeyError(ConfigError, KeyError):
    """A required key was not given."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class UnknownKeyError(ConfigError, KeyError):
    """A key was given that no part declares."""

    def __str__(self) -> str:
        return self.args[0]


class KeyTypeError(ConfigError, TypeError):
    """A key's value has the wrong type."""


class KeyRangeError(ConfigError):
    """A key's value lies outside the declared range or choices."""


def _type_name(t: Any) -> str:
    if isinstance(t, tuple):
        return " or ".join(_type_name(x) for x in t)
    if t is callable:
        return "callable"
    return getattr(t, "__name__", str(t))


def _is_instance(value: Any, t: Any) -> bool:
    """isinstance with the numeric tower Spikey users expect.

    ``float`` accepts any real number but not bool; ``int`` accepts integral
    numbers (numpy ints too) but not bool; ``callable`` accepts callables.
    """
    if isinstance(t, tuple):
        return any(_is_instance(value, x) for x in t)
    if t is object or t is Any:
        return True
    if t is callable:
        return callable(value)
    if t is float:
        return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if t is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if t is bool:
        return isinstance(value, (bool, np.bool_))
    return isinstance(value, t)


class Key:
    """One declared parameter of a part.

    Parameters
    ----------
    name : str
        The flat config name, e.g. ``"firing_threshold"``.
    description : str
        What it means, with units.
    type : type or tuple of types, default float
        Accepted type(s). ``float`` accepts ints; ``callable`` accepts functions.
    default : any, optional
        Value used when the config does not give one. Without it the key is required.
    range : (low, high), optional
        Inclusive bounds for numbers; either end may be None.
    choices : sequence, optional
        The allowed values (checked after the type).
    per_member : bool, default False
        Whether the value may differ between the B networks of a batch: then
        a length-B sequence or array is accepted as well as a scalar.
    nullable : bool, default False
        Whether None is an accepted value.
    allow_inf : bool, default False
        Whether +-inf is a meaningful value (e.g. "no limit"). NaN is never accepted.

    Every number given to a Key (scalar, per-member array, or an array/list value)
    must be finite unless ``allow_inf``, and must fit the float dtype of the part's
    network (``float_dtype`` of ``validate``): ``1e300`` overflows float32.
    An ``int`` Key accepts a float with an integral value (``1e3``) as that int.
    """

    def __init__(self, name: str, description: str, type: Any = float, default: Any = REQUIRED,
                 range: tuple | None = None, choices: Sequence | None = None,
                 per_member: bool = False, nullable: bool = False, allow_inf: bool = False):
        self.name = name
        self.description = description
        self.type = type
        self.default = default
        self.range = range
        self.choices = None if choices is None else tuple(choices)
        self.per_member = per_member
        self.nullable = nullable
        self.allow_inf = allow_inf

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def expected(self) -> str:
        """Human-readable description of accepted values."""
        text = _type_name(self.type)
        if self.range is not None:
            low, high = self.range
            if low is not None and high is not None:
                text += f" with {low} <= {self.name} <= {high}"
            elif low is not None:
                text += f" with {self.name} >= {low}"
            elif high is not None:
                text += f" with {self.name} <= {high}"
        if self.choices is not None:
            text += f" in {list(self.choices)}"
        if self.per_member:
            text += " (or one such value per network of the batch)"
        if self.nullable:
            text += " or None"
        return text

    def _finite_text(self) -> str:
        return "a finite number or +-inf" if self.allow_inf else "a finite number"

    def check_numbers(self, value: Any, part: str, float_dtype: Any = None) -> None:
        """Raise ``KeyRangeError`` when ``value`` (a number, or numbers in an array/list) is NaN, is
        infinite where the Key does not allow inf, or overflows ``float_dtype`` (e.g. ``"float32"``)."""
        if isinstance(value, (bool, np.bool_)) or value is None or isinstance(value, (str, bytes)):
            return
        if isinstance(value, numbers.Real):
            array = np.asarray(float(value))
        elif isinstance(value, (list, tuple, np.ndarray)):
            try:
                array = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):  # not (only) numbers: nothing to check here
                return
        else:
            return
        if array.size == 0:
            return
        shown = value if array.ndim == 0 else f"{value!r} (an array)"
        if np.isnan(array).any():
            raise KeyRangeError(f"{part}: key '{self.name}' = {shown} is not a number (NaN); expected "
                                f"{self._finite_text()} ({self.expected()}).", key=self.name, part=part,
                                value=value, expected=self._finite_text())
        infinite = np.isinf(array)
        if infinite.any() and not self.allow_inf:
            raise KeyRangeError(f"{part}: key '{self.name}' = {shown} is infinite; expected "
                                f"{self._finite_text()} ({self.expected()}).", key=self.name, part=part,
                                value=value, expected=self._finite_text())
        if float_dtype is not None:
            dtype = np.dtype(float_dtype)
            if dtype.kind == "f" and (np.abs(array[~infinite]) > np.finfo(dtype).max).any():
                raise KeyRangeError(
                    f"{part}: key '{self.name}' = {shown} overflows {dtype.name} (largest "
                    f"{float(np.finfo(dtype).max):.3g}), the float type this network computes in; give a "
                    f"smaller value or use dtype float64.", key=self.name, part=part, value=value,
                    expected=f"|{self.name}| <= {float(np.finfo(dtype).max):.3g}")

    def _check_scalar(self, value: Any, part: str, float_dtype: Any = None) -> Any:
        if self.type is int and isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)  # a count written as 1e3
        if not _is_instance(value, self.type):
            raise KeyTypeError(
                f"{part}: key '{self.name}' = {value!r} has type {type(value).__name__}; "
                f"expected {self.expected()}.",
                key=self.name, part=part, value=value, expected=self.expected())
        self.check_numbers(value, part, float_dtype)
        if self.range is not None and isinstance(value, numbers.Real):
            low, high = self.range
            if (low is not None and value < low) or (high is not None and value > high):
                bounds = " <= ".join(
                    [str(low)] * (low is not None) + [self.name] + [str(high)] * (high is not None))
                raise KeyRangeError(
                    f"{part}: key '{self.name}' = {value!r} is out of range; expected {bounds}.",
                    key=self.name, part=part, value=value, expected=self.expected())
        if self.choices is not None and value not in self.choices:
            raise KeyRangeError(
                f"{part}: key '{self.name}' = {value!r} is not one of {list(self.choices)}.",
                key=self.name, part=part, value=value, expected=self.expected())
        if self.type is float and isinstance(value, numbers.Real):
            return float(value)
        if self.type is int and isinstance(value, numbers.Integral):
            return int(value)
        return value

    def validate(self, value: Any, part: str, batch_size: int = 1, float_dtype: Any = None) -> Any:
        """Return the checked (and normalised) value or raise a ConfigError.

        A per-member key given a sequence returns a float64 or int64 array of
        shape ``(batch_size,)``. ``float_dtype`` (``"float32"``/``"float64"``) is
        the float type of the part's network: values that overflow it are refused.
        """
        if value is None and self.nullable:
            return None
        if self.per_member and isinstance(value, (list, tuple, np.ndarray)) \
                and not _is_instance(value, self.type):
            array = np.asarray(value)
            if array.ndim != 1 or array.shape[0] != batch_size:
                raise KeyRangeError(
                    f"{part}: key '{self.name}' has {array.shape} values per network; expected a "
                    f"scalar or one value per network of the batch, shape ({batch_size},).",
                    key=self.name, part=part, value=value, expected=self.expected())
            # Each element as given (np.asarray would turn [0.5, False] into floats and hide the bool).
            items = value if isinstance(value, (list, tuple)) else array
            checked = [self._check_scalar(v.item() if isinstance(v, (np.generic, np.ndarray)) else v, part,
                                          float_dtype) for v in items]
            return np.asarray(checked)
        return self._check_scalar(value, part, float_dtype)

    def __repr__(self) -> str:
        default = "required" if self.required else f"default={self.default!r}"
        return f"Key({self.name!r}, {_type_name(self.type)}, {default})"


def suggest(name: str, known: Iterable[str]) -> str:
    """The ``did you mean`` clause for an unknown key (empty if nothing is close)."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""


class Module:
    """A configurable part: declared Keys, validated at construction.

    Subclasses set ``Keys`` (a list of ``Key``; a variant extends its
    template's list) and ``namespace`` (the family name used for
    ``"namespace.key"`` overrides). Values are available as ``self.params[name]``.

    Parameters
    ----------
    batch_size : int, default 1
        B, the number of networks simulated together; per-member keys accept B values.
    strict : bool, default True
        Raise ``UnknownKeyError`` for config entries this part does not declare.
        A Network passes False because the flat dict holds other parts' keys.
    float_dtype : str, optional
        The float type the part computes in (``"float32"``, ``"float64"``): values that
        overflow it are refused, naming the key.
    **config
        Flat key values, optionally namespaced (``"neuron.magnitude"``).
    """

    Keys: list[Key] = []
    namespace: str = ""

    def __init__(self, batch_size: int = 1, strict: bool = True, float_dtype: Any = None, **config):
        if not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ConfigError(f"{type(self).__name__}: batch_size = {batch_size!r}; expected an int >= 1.",
                              key="batch_size", part=type(self).__name__, value=batch_size,
                              expected="int >= 1")
        self.batch_size = int(batch_size)
        self.float_dtype = float_dtype
        if strict:
            known = self.accepted_names()
            for name in config:
                if name not in known:
                    raise UnknownKeyError(
                        f"{type(self).__name__}: unknown key '{name}'.{suggest(name, known)} "
                        f"Known keys: {sorted(k.name for k in self.Keys)}.",
                        key=name, part=type(self).__name__, value=config[name],
                        expected="one of the declared keys")
        self.params: dict[str, Any] = self.resolve(config, self.batch_size, float_dtype)

    @classmethod
    def key_map(cls) -> dict[str, Key]:
        """Declared keys by name; a later declaration of a name overrides an earlier one."""
        return {key.name: key for key in cls.Keys}

    @classmethod
    def accepted_names(cls) -> set[str]:
        """Every config name this part reads: plain and namespaced forms."""
        names = set(cls.key_map())
        if cls.namespace:
            names |= {f"{cls.namespace}.{n}" for n in cls.key_map()}
        return names

    @classmethod
    def resolve(cls, config: dict, batch_size: int = 1, float_dtype: Any = None) -> dict[str, Any]:
        """Pick, default and validate this part's keys from a flat config (``float_dtype``: see ``validate``)."""
        part = cls.__name__
        values = {}
        for name, key in cls.key_map().items():
            scoped = f"{cls.namespace}.{name}" if cls.namespace else None
            if scoped is not None and scoped in config:
                value = config[scoped]
            elif name in config:
                value = config[name]
            elif key.required:
                raise MissingKeyError(
                    f"{part}: required key '{name}' is missing; expected {key.expected()} "
                    f"({key.description}).", key=name, part=part, value=None,
                    expected=key.expected())
            else:
                value = key.default
            values[name] = key.validate(value, part, batch_size, float_dtype)
        return values

    def set_param(self, name: str, value: Any) -> None:
        """Change one key during a run (validated); derived constants are recomputed."""
        keys = self.key_map()
        if name not in keys:
            raise UnknownKeyError(
                f"{type(self).__name__}: unknown key '{name}'.{suggest(name, keys)}",
                key=name, part=type(self).__name__, value=value, expected="a declared key")
        self.params[name] = keys[name].validate(value, type(self).__name__, self.batch_size,
                                                getattr(self, "float_dtype", None))
        self.derive()

    def derive(self) -> None:
        """Recompute constants derived from ``params`` (decay factors, ...). Override."""

    @classmethod
    def describe_keys(cls) -> list[dict]:
        """One row per key: part, name, type, default, description."""
        return [{"part": cls.__name__, "key": k.name, "type": _type_name(k.type),
                 "default": "required" if k.required else k.default,
                 "description": k.description} for k in cls.key_map().values()]
