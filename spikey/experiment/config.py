"""One experiment spec for scripts, the CLI, Ray Train, Ray Tune and the genetic algorithm.

An ``Experiment`` names *what* runs (a network class with its parts, a game,
one flat dict of network and game ``keys``) and *how* (episodes, seeds,
backend, checkpoints). The flat ``keys`` dict is the Tune ``param_space`` and
the GA genotype: a search replaces some of its entries and nothing else.

Config files (YAML or JSON) hold the same fields::

    name: xor
    network: RLNetwork              # a spikey.snn class name, or "pkg.module.Class"
    parts:                          # role -> part class, short (spikey.snn) or dotted name
      inputs: RateMap
      neurons: LIF
      weights: Random
      synapses: MSTDPET
      readout: Threshold
      rewarder: MatchExpected
    modifiers:                      # optional schedules (spikey.snn modifiers)
      - {type: LinearSchedule, key: learning_rate, start: 0.01, stop: 0.0, n_steps: 400}
    game: Logic                     # a spikey.games class name, or dotted
    game_preset: XOR
    keys:                           # network and game keys together
      n_inputs: 10
      state_rate_map: {"0,0": [0, 0], "0,1": [0, 0.2], "1,0": [0.2, 0], "1,1": [0.2, 0.2]}
      expected_value: spikey.games:xor_gate
    n_episodes: 10                  # episodes, game steps per episode
    len_episode: 50
    seeds: 8                        # 8 means seeds 0..7; or a list [3, 5, 7]
    backend: numpy                  # numpy | torch; device: cpu | cuda; dtype: float32 | float64
    checkpoint_every: 1             # episodes between checkpoints
    callbacks: ["examples/florian_xor.py:record_rates"]   # custom per-step metrics
    sweep: {...}                    # settings of `spikey sweep` (spikey.meta.tune)
    trusted_modules: [mylab]        # modules references may name besides spikey and numpy
    max_memory: 4GB                 # refuse to build above this estimate (spikey.experiment.memory)

What a reference may name (spikey's part library, numpy, files the config
names, modules listed in ``trusted_modules``; never ``os``, ``subprocess``, ...)
is decided in ``spikey.experiment.references``. Numbers are read with YAML 1.2
floats (``load_yaml``): ``1e-3`` is a number.

Values JSON cannot hold are written in these forms and turned into Python
objects when the network is built (on the machine that builds it):

* ``"package.module:attr"`` or ``"path/to/file.py:attr"``: the object, for a
  key that does not take strings (callables such as reward functions, weight
  generators, gates). ``{ref: "module:attr"}`` does the same for any key.
* ``{call: "module:attr", args: [...], kwargs: {...}}``: the result of the call
  (e.g. a weight-matrix generator made by a factory).
* state-map dict keys ``"0,1"`` or ``"(0, 1)"``: the tuple ``(0, 1)``.
* a list for an array-typed key (``np.ndarray``): a numpy array.

A relative file path is looked up from the config file's folder, then the
working directory, then ``sys.path``. Where parts and keys cannot describe a
network (one built by code), ``builder: "examples/florian_xor.py:build"`` with
``builder_args: {...}`` names a function called as
``builder(seeds=[...], backend=..., **builder_args, **keys)`` (plus ``device``
and ``dtype`` if it takes them) that returns ``(network, game)``.

Everything is validated (part names, key names, types, ranges, sizes of game
and network) by ``Experiment.validate()`` before anything runs.

Examples
--------
>>> exp = Experiment.from_dict({
...     "network": "RLNetwork", "game": "Logic", "game_preset": "XOR",
...     "parts": {"inputs": "RateMap", "neurons": "LIF", "weights": "Random",
...               "synapses": "MSTDPET", "readout": "Threshold", "rewarder": "MatchExpected"},
...     "keys": {"n_inputs": 4, "n_neurons": 6, "n_outputs": 1, "processing_time": 10,
...              "state_rate_map": {"0,0": [0, 0], "0,1": [0, .3], "1,0": [.3, 0], "1,1": [.3, .3]},
...              "firing_threshold": 1.0, "potential_decay": 0.1, "max_weight": 1.0,
...              "learning_rate": 0.01, "action_threshold": "mean",
...              "expected_value": "spikey.games:xor_gate"},
...     "seeds": 3, "n_episodes": 2, "len_episode": 5})
>>> network, game = exp.validate().build()
>>> network.batch_size, type(game).__name__, network.seeds.tolist()
(3, 'Logic', [0, 1, 2])
>>> exp.with_keys(n_neuron=5).validate()  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
spikey.module.UnknownKeyError: RLNetwork: unknown key 'n_neuron': ... Did you mean 'n_neurons'...
"""
from __future__ import annotations

import ast
import copy
import dataclasses
import inspect
import json
import numbers
import os
import re
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from spikey.experiment import references
# What a config may run lives in spikey.experiment.references; these names stay importable from here.
from spikey.experiment.references import (ExperimentError, RefusedReferenceError, is_reference,  # noqa: F401
                                          load_file_module, reference_of, resolve_reference)
from spikey.module import Key, Module, UnknownKeyError, suggest

#: Roles of network parts and the family template each must extend (checked when resolving).
PART_FAMILIES = {"inputs": "Input", "neurons": "Neuron", "weights": "Weight", "synapses": "Synapse",
                 "readout": "Readout", "rewarder": "Reward"}


# -- class lookup ---------------------------------------------------------------------------------
def _public_classes(module: Any, base: type) -> dict[str, type]:
    return {name: obj for name, obj in vars(module).items()
            if isinstance(obj, type) and issubclass(obj, base) and not name.startswith("_")}


def part_classes_by_name() -> dict[str, type]:
    """Short name -> class of every part, network and modifier class ``spikey.snn`` exports."""
    import spikey.snn as snn
    from spikey.snn.modifier.template import Modifier
    return {**_public_classes(snn, Module), **_public_classes(snn, Modifier)}


def game_classes_by_name() -> dict[str, type]:
    """Short name -> class of every game ``spikey.games`` exports."""
    import spikey.games as games
    return _public_classes(games, games.Game)


def resolve_class(value: Any, field: str, known: dict[str, type], base_dir: str | None = None,
                  what: str = "class", trusted: Sequence[str] = ()) -> type:
    """A class from a class, a short name in ``known``, a dotted name or a ``module:attr`` reference.

    Names resolve under the rules of ``spikey.experiment.references`` (``trusted``: modules named as trusted).
    """
    if isinstance(value, type):
        return value
    if not isinstance(value, str) or not value:
        raise ExperimentError(f"Experiment: {field} = {value!r}; expected a {what} name.",
                              key=field, value=value, expected=f"a {what} name")
    if value in known:
        return known[value]
    if is_reference(value):
        obj = resolve_reference(value, base_dir, trusted)
    elif "." in value:
        try:
            obj = references.resolve_dotted(value, field, trusted)
        except RefusedReferenceError:
            raise
        except ExperimentError as error:
            raise ExperimentError(f"Experiment: {field} = {value!r} cannot be imported ({error}).",
                                  key=field, value=value, expected=f"a {what}") from error
    else:
        hint = suggest(value, known) or f" Known: {sorted(known)}."
        raise ExperimentError(f"Experiment: {field} = {value!r} is not a known {what}.{hint} A dotted name "
                              f"('package.module.Class') or 'file.py:Class' names any other.", key=field,
                              value=value, expected=f"one of {sorted(known)} or a dotted name")
    if not isinstance(obj, type):
        raise ExperimentError(f"Experiment: {field} = {value!r} is {obj!r}, not a class.", key=field,
                              value=value, expected=f"a {what}")
    return obj


# -- key values ---------------------------------------------------------------------------------------
def _accepts(key: Key, kind: type) -> bool:
    types = key.type if isinstance(key.type, tuple) else (key.type,)
    return any(t is object or t is Any or (isinstance(t, type) and issubclass(kind, t)) for t in types)


def _tuple_key(name: Any) -> Any:
    """``"0,1"`` / ``"(0, 1)"`` -> (0, 1); ``"3"`` -> 3; anything else unchanged."""
    if not isinstance(name, str):
        return name
    try:
        parsed = ast.literal_eval(name if not ("," in name and not name.strip().startswith("("))
                                  else f"({name})")
    except (ValueError, SyntaxError):
        return name
    if isinstance(parsed, tuple) and all(isinstance(v, numbers.Number) for v in parsed):
        return parsed
    return parsed if isinstance(parsed, numbers.Number) and not isinstance(parsed, bool) else name


def coerce_value(name: str, value: Any, key: Key | None, base_dir: str | None = None,
                 trusted: Sequence[str] = ()) -> Any:
    """Turn a JSON-friendly ``value`` of key ``name`` into what the part expects (see module doc).

    References resolve under the rules of ``spikey.experiment.references`` (``trusted``: trusted modules).
    """
    if isinstance(value, dict) and "call" in value and set(value) <= {"call", "args", "kwargs"}:
        return references.call_reference(value, base_dir, trusted)
    if isinstance(value, dict) and set(value) == {"ref"}:
        return resolve_reference(value["ref"], base_dir, trusted)
    if is_reference(value) and (key is None or not _accepts(key, str)):
        return resolve_reference(value, base_dir, trusted)
    if isinstance(value, dict) and (key is None or _accepts(key, dict)):
        return {_tuple_key(k): v for k, v in value.items()}
    if isinstance(value, list) and key is not None and _accepts(key, np.ndarray) \
            and not _accepts(key, list) and not key.per_member:
        return np.asarray(value)
    return value


def portable(value: Any) -> Any:
    """A JSON-friendly form of a key value (the inverse of ``coerce_value`` where one exists).

    Callables become ``"module:attr"`` references when importable, arrays become
    lists, tuple dict keys become ``"a,b"`` strings; anything else not
    JSON-friendly becomes ``{"repr": "..."}`` (readable, but not loadable).
    """
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [portable(v) for v in value]
    if isinstance(value, dict):
        return {(",".join(str(portable(x)) for x in k) if isinstance(k, tuple) else str(k)): portable(v)
                for k, v in value.items()}
    if isinstance(value, type) or callable(value):
        reference = reference_of(value)
        if reference is not None:
            return reference
    if hasattr(value, "tolist"):
        return value.tolist()
    return {"repr": repr(value)}


def _object_references(value: Any) -> list[str]:
    """The ``module:attr`` references ``portable`` writes for the classes and functions within ``value``."""
    if isinstance(value, (str, bool, numbers.Number, np.ndarray)) or value is None:
        return []
    if isinstance(value, dict):
        return [r for v in value.values() for r in _object_references(v)]
    if isinstance(value, (list, tuple)):
        return [r for v in value for r in _object_references(v)]
    if isinstance(value, type) or callable(value):
        reference = reference_of(value)
        return [reference] if reference else []
    return [r for v in getattr(value, "__dict__", {}).values() for r in _object_references(v)]


# -- numbers as users write them ----------------------------------------------------------------------
#: Plain scalars read as floats: YAML 1.2's core schema (``1e-3``, ``1E-3``, ``.5``, ``-2.5e+3``, ``.inf``)
#: plus the ``inf``/``-inf``/``nan`` of JSON and Python (refused by Keys that do not allow them).
#: PyYAML follows YAML 1.1, whose floats need a dot: ``1e-3`` would be the string "1e-3".
_FLOAT_1_2 = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                               |\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
                               |[0-9][0-9_]*[eE][-+]?[0-9]+)
                            |[-+]?\.?(?:inf|Inf|INF)
                            |\.?(?:nan|NaN|NAN))$""", re.X)
_YAML_LOADER = None


def yaml_loader() -> type:
    """The YAML loader of every config and ``--set`` value: PyYAML's safe loader with YAML 1.2 floats."""
    global _YAML_LOADER
    if _YAML_LOADER is None:
        import yaml

        class ConfigLoader(yaml.SafeLoader):
            """Safe YAML loading (no Python objects) whose float resolver follows YAML 1.2."""

        ConfigLoader.yaml_implicit_resolvers = {
            first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
        for first in "-+0123456789.iInN":
            # ahead of the int resolver: "1e3" is a float, "12" still an int (the pattern needs a dot or e)
            ConfigLoader.yaml_implicit_resolvers.setdefault(first, []).insert(
                0, ("tag:yaml.org,2002:float", _FLOAT_1_2))
        _YAML_LOADER = ConfigLoader
    return _YAML_LOADER


def load_yaml(text: str) -> Any:
    """Parse YAML ``text`` as configs are read (``yaml_loader``): ``1e-3`` is a float, not a string.

    >>> load_yaml("space: [1e-3, 1E-5, .5, +2, -inf, log]")
    {'space': [0.001, 1e-05, 0.5, 2, -inf, 'log']}
    """
    import yaml
    return yaml.load(text, Loader=yaml_loader())


def _is_scalar_spec(value: Any) -> bool:
    return isinstance(value, (str, numbers.Number, bool)) or value is None


# -- the spec -----------------------------------------------------------------------------------------
RUN_FIELDS = ("n_episodes", "len_episode", "seeds", "backend", "device", "dtype", "checkpoint_every",
              "reset_network")


@dataclasses.dataclass
class Experiment:
    """What to run and how: network, parts, game, flat keys, and run settings.

    Parameters
    ----------
    name : str
        A label (run folders, Tune experiment names).
    network : class or str
        The Network class (``Network``, ``RLNetwork``, ``ActiveRLNetwork`` or a subclass).
    parts : dict
        Role -> part class or name (overrides the network class's own ``parts``).
    modifiers : list
        Schedules: ``{type: "LinearSchedule", key: ..., **arguments}`` or Modifier objects.
    game : class or str
        The Game class; ``game_preset`` its preset (e.g. Logic's "XOR").
    keys : dict
        One flat dict of network and game keys (values in Python or JSON-friendly form).
    builder : callable or str, optional
        ``builder(seeds=, backend=, **builder_args, **keys) -> (network, game)``
        instead of network/parts/game.
    n_episodes, len_episode : int
        Episodes and maximum game steps per episode.
    seeds : int or list of int
        One network (lane) per seed; an int n means ``0..n-1``.
    backend, device, dtype : str
        ``"numpy"`` or ``"torch"``; ``"cpu"`` or ``"cuda"``; ``"float32"`` or ``"float64"``.
    checkpoint_every : int
        Episodes between checkpoints (the last episode always checkpoints).
    reset_network : bool
        Clear the network's dynamic state at each episode start.
    callbacks : list
        Step callbacks ``f(record, network, game, step)`` (or references) adding metrics.
    sweep : dict
        Settings for ``spikey sweep`` (see ``spikey.meta.tune``); ignored by runs.
    evolve : dict
        Constraints and settings for ``spikey evolve`` (see ``spikey.meta.evolve``); ignored by runs.
    trusted_modules : list of str
        Modules (besides spikey's part library and numpy) whose objects references may name;
        see ``spikey.experiment.references`` (files named as ``file.py:attr`` need no entry).
    max_memory : int or str, optional
        Refuse to build when the estimated memory exceeds this (bytes, or ``"4GB"``, ``"512MiB"``);
        the memory available is always a limit (``spikey.experiment.memory``). A limit of the
        machine, so ``to_dict`` (a run folder's ``config.json``) leaves it out.
    base_dir : str, optional
        Folder relative file references are looked up from (the config file's folder).
    """

    name: str = "experiment"
    network: Any = "Network"
    parts: dict = dataclasses.field(default_factory=dict)
    modifiers: list = dataclasses.field(default_factory=list)
    game: Any = None
    game_preset: str | None = None
    keys: dict = dataclasses.field(default_factory=dict)
    builder: Any = None
    builder_args: dict = dataclasses.field(default_factory=dict)
    n_episodes: int = 10
    len_episode: int = 100
    seeds: Any = 1
    backend: str = "numpy"
    device: str = "cpu"
    dtype: str = "float32"
    checkpoint_every: int = 1
    reset_network: bool = True
    callbacks: list = dataclasses.field(default_factory=list)
    sweep: dict = dataclasses.field(default_factory=dict)
    evolve: dict = dataclasses.field(default_factory=dict)
    trusted_modules: list = dataclasses.field(default_factory=list)
    max_memory: Any = None
    base_dir: str | None = None

    def __post_init__(self) -> None:
        self.trusted_modules = list(references.normalise_trusted(self.trusted_modules))
        from spikey.experiment import memory
        self.max_memory = memory.parse_size(self.max_memory, "max_memory")
        memory.check_lane_count(self)  # before a list of (perhaps 1e8) seeds is made
        self.seeds = self._normalise_seeds(self.seeds)
        self.keys = dict(self.keys or {})
        self.parts = dict(self.parts or {})
        self.modifiers = list(self.modifiers or [])
        self.callbacks = list(self.callbacks or [])
        self.builder_args = dict(self.builder_args or {})
        self.sweep = dict(self.sweep or {})
        self._check_run_settings()

    # -- construction ----------------------------------------------------------------------------
    @staticmethod
    def _normalise_seeds(seeds: Any) -> list[int]:
        if isinstance(seeds, float) and seeds.is_integer():  # a count written 1e3
            seeds = int(seeds)
        if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
            if seeds < 1:
                raise ExperimentError(f"Experiment: seeds = {seeds!r}; expected a count >= 1 or a list of "
                                      f"seeds.", key="seeds", value=seeds, expected="int >= 1 or list")
            return list(range(int(seeds)))
        if isinstance(seeds, dict) and set(seeds) <= {"start", "count"}:
            return list(range(int(seeds.get("start", 0)), int(seeds.get("start", 0)) + int(seeds["count"])))
        try:
            values = [int(s) for s in seeds]
        except (TypeError, ValueError) as error:
            raise ExperimentError(f"Experiment: seeds = {seeds!r}; expected a count or a list of ints.",
                                  key="seeds", value=seeds, expected="int or list of ints >= 0") from error
        if not values or any(s < 0 for s in values) or len(set(values)) != len(values):
            raise ExperimentError(f"Experiment: seeds = {seeds!r}; expected distinct ints >= 0.", key="seeds",
                                  value=seeds, expected="distinct ints >= 0")
        return values

    def _check_run_settings(self) -> None:
        checks = {"n_episodes": (int, 1), "len_episode": (int, 1), "checkpoint_every": (int, 0)}
        for field, (kind, low) in checks.items():
            value = getattr(self, field)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
                raise ExperimentError(f"Experiment: {field} = {value!r}; expected an int >= {low}.",
                                      key=field, value=value, expected=f"int >= {low}")
            setattr(self, field, int(value))
        for field, choices in (("backend", ("numpy", "torch")), ("dtype", ("float32", "float64"))):
            if getattr(self, field) not in choices:
                raise ExperimentError(f"Experiment: {field} = {getattr(self, field)!r}; expected one of "
                                      f"{list(choices)}.", key=field, value=getattr(self, field),
                                      expected=str(list(choices)))
        if not isinstance(self.device, str) or not re.match(r"^(cpu|cuda(:\d+)?|mps)$", self.device):
            raise ExperimentError(f"Experiment: device = {self.device!r}; expected 'cpu' or 'cuda[:i]'.",
                                  key="device", value=self.device, expected="'cpu' or 'cuda'")
        if not isinstance(self.keys, dict):
            raise ExperimentError(f"Experiment: keys = {self.keys!r}; expected a dict of key values.",
                                  key="keys", value=self.keys, expected="dict")

    @classmethod
    def from_dict(cls, data: dict, base_dir: str | None = None) -> "Experiment":
        """An Experiment from a config dict (fields as in the module docstring)."""
        if not isinstance(data, dict):
            raise ExperimentError(f"Experiment config is a {type(data).__name__}; expected a mapping of "
                                  f"fields.", value=data, expected="dict")
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = [name for name in data if name not in fields]
        if unknown:
            raise ExperimentError(f"Experiment: unknown field '{unknown[0]}'.{suggest(unknown[0], fields)} "
                                  f"Fields: {sorted(fields - {'base_dir'})}.", key=unknown[0],
                                  value=data[unknown[0]], expected="an Experiment field")
        data = dict(data)
        if base_dir is not None and data.get("base_dir") is None:
            data["base_dir"] = str(base_dir)
        for field in ("parts", "keys", "builder_args", "sweep", "evolve"):
            if data.get(field) is not None and not isinstance(data[field], dict):
                raise ExperimentError(f"Experiment: {field} = {data[field]!r}; expected a mapping.",
                                      key=field, value=data[field], expected="dict")
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "Experiment":
        """Read a YAML (``.yaml``/``.yml``) or JSON config file; relative references start at its folder."""
        path = Path(path)
        if not path.is_file():
            raise ExperimentError(f"config file '{path}' does not exist.", key="config", value=str(path),
                                  expected="an existing YAML or JSON file")
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix.lower() == ".json":
                data = json.loads(text)
            else:
                data = load_yaml(text)
        except Exception as error:  # the parser's own message says where
            raise ExperimentError(f"config file '{path}' cannot be parsed: {error}", key="config",
                                  value=str(path), expected="valid YAML or JSON") from error
        data = data or {}
        if isinstance(data, dict):
            data.setdefault("name", path.stem)
        return cls.from_dict(data, base_dir=str(path.resolve().parent))

    def to_dict(self) -> dict:
        """JSON-friendly fields (``config.json`` of a run folder); ``from_dict`` reads it back."""
        data = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name in ("keys", "builder_args", "sweep", "evolve"):
                data[field.name] = {k: portable(v) for k, v in value.items()}
            elif field.name == "parts":
                data[field.name] = {role: portable(cls) if not isinstance(cls, str) else cls
                                    for role, cls in value.items()}
            elif field.name == "modifiers":
                data[field.name] = [m if isinstance(m, dict) else
                                    {"type": portable(type(m)), **{k: portable(v) for k, v in vars(m).items()}}
                                    for m in value]
            else:
                data[field.name] = portable(value)
        # Objects given in Python from a user's module are written as references to it: the module
        # is named as trusted so that the folder reads back (a module of a file stays a file reference).
        needed = [references.needs_trust(r) for r in _object_references(
            [self.network, self.game, self.builder, self.parts, self.modifiers, self.keys, self.callbacks,
             self.builder_args])]
        trusted = list(dict.fromkeys(self.trusted_modules + [n for n in needed if n]))
        if trusted:
            data["trusted_modules"] = trusted
        else:
            del data["trusted_modules"]  # config.json of folders written before the field reads the same
        del data["max_memory"]  # a limit of the machine that runs it, not part of the experiment
        return data

    def replace(self, **changes: Any) -> "Experiment":
        """A copy with some fields changed (``keys`` replaced whole; see ``with_keys``)."""
        return dataclasses.replace(self, **changes)

    def with_keys(self, keys: dict | None = None, **more: Any) -> "Experiment":
        """A copy whose flat keys are updated with ``keys`` and ``more`` (a Tune config, a genotype)."""
        return dataclasses.replace(self, keys={**self.keys, **(keys or {}), **more})

    # -- resolution -------------------------------------------------------------------------------
    def network_class(self) -> type:
        from spikey.snn.network import Network
        cls = resolve_class(self.network, "network", part_classes_by_name(), self.base_dir, "Network class",
                            self.trusted_modules)
        if not issubclass(cls, Network):
            raise ExperimentError(f"Experiment: network = {self.network!r} is not a Network class.",
                                  key="network", value=self.network, expected="a spikey.snn.Network subclass")
        return cls

    def part_classes(self) -> dict:
        """Role -> part class, with the network class's own parts filled in."""
        import spikey.snn as snn
        from spikey.snn.network import ROLES
        known = part_classes_by_name()
        parts = {}
        for role, value in self.parts.items():
            if role == "modifiers":
                raise ExperimentError("Experiment: give schedules in the 'modifiers' field, not in parts.",
                                      key="parts.modifiers", value=value, expected="modifiers: [...]")
            if role not in ROLES:
                raise ExperimentError(f"Experiment: unknown part role '{role}'.{suggest(role, ROLES)} Roles: "
                                      f"{list(ROLES)}.", key=f"parts.{role}", value=value, expected="a role")
            cls = resolve_class(value, f"parts.{role}", known, self.base_dir, "part class", self.trusted_modules)
            family = getattr(snn, PART_FAMILIES[role])
            if not issubclass(cls, family):
                raise ExperimentError(f"Experiment: parts.{role} = {cls.__name__} is not a "
                                      f"{PART_FAMILIES[role]} part; the '{role}' role needs a "
                                      f"{PART_FAMILIES[role]} (e.g. one of {sorted(n for n, c in known.items() if isinstance(c, type) and issubclass(c, family) and c is not family)[:6]}).",
                                      key=f"parts.{role}", value=value, expected=f"a {PART_FAMILIES[role]} class")
            parts[role] = cls
        return {**self.network_class().parts, **parts}

    def modifier_objects(self) -> list:
        """Fresh Modifier objects from the ``modifiers`` field."""
        from spikey.snn.modifier.template import Modifier
        known = part_classes_by_name()
        out = []
        for i, spec in enumerate(self.modifiers):
            if isinstance(spec, Modifier):
                out.append(copy.deepcopy(spec))
                continue
            if not isinstance(spec, dict) or "type" not in spec:
                raise ExperimentError(f"Experiment: modifiers[{i}] = {spec!r}; expected {{type: ..., key: ..., "
                                      f"...}}.", key=f"modifiers[{i}]", value=spec, expected="a modifier spec")
            cls = resolve_class(spec["type"], f"modifiers[{i}].type", known, self.base_dir, "modifier class",
                                self.trusted_modules)
            arguments = {k: v for k, v in spec.items() if k != "type"}
            try:
                modifier = cls(**arguments)
            except TypeError as error:
                raise ExperimentError(f"Experiment: modifiers[{i}] ({cls.__name__}): {error}; its arguments are "
                                      f"{list(inspect.signature(cls).parameters)}.", key=f"modifiers[{i}]",
                                      value=spec, expected=str(inspect.signature(cls))) from error
            if not isinstance(modifier, Modifier):
                raise ExperimentError(f"Experiment: modifiers[{i}].type = {spec['type']!r} is not a Modifier.",
                                      key=f"modifiers[{i}]", value=spec, expected="a Modifier class")
            out.append(modifier)
        return out

    def game_class(self) -> type:
        if self.game is None:
            raise ExperimentError("Experiment: no game given; expected game: <Game class> (e.g. Logic).",
                                  key="game", value=None, expected="a Game class")
        from spikey.games import Game
        cls = resolve_class(self.game, "game", game_classes_by_name(), self.base_dir, "game", self.trusted_modules)
        if not issubclass(cls, Game):
            raise ExperimentError(f"Experiment: game = {self.game!r} is not a spikey Game.", key="game",
                                  value=self.game, expected="a spikey.games.Game subclass")
        return cls

    def builder_function(self) -> Callable | None:
        if self.builder is None:
            return None
        builder = resolve_reference(self.builder, self.base_dir, self.trusted_modules) \
            if isinstance(self.builder, str) else self.builder
        if not callable(builder):
            raise ExperimentError(f"Experiment: builder = {self.builder!r} is not callable.", key="builder",
                                  value=self.builder, expected="f(seeds=, backend=, **keys) -> (network, game)")
        return builder

    def declared_keys(self) -> dict[str, Key]:
        """Name -> Key of everything the network class, its parts and the game declare.

        (With a ``builder`` the parts are known only after a build: one is made.)
        """
        if self.builder is not None:
            network, game = self._build_with_builder(self.seeds, {k: coerce_value(k, v, None, self.base_dir,
                                                                                self.trusted_modules)
                                                                  for k, v in self.keys.items()}, "cpu")
            classes = [type(network)] + [type(p) for _, p in network._parts()] + [type(game)]
        else:
            classes = [self.network_class()] + [c for c in self.part_classes().values() if isinstance(c, type)]
            if self.game is not None:
                classes.append(self.game_class())
        declared: dict[str, Key] = {}
        for cls in classes:
            for key in cls.key_map().values():
                declared.setdefault(key.name, key)
                if getattr(cls, "namespace", ""):
                    declared[f"{cls.namespace}.{key.name}"] = key
        return declared

    def resolved_keys(self, lanes: Sequence[int] | None = None, declared: dict | None = None) -> dict:
        """Keys as Python objects; per-member lists (one value per seed) cut to ``lanes``."""
        declared = self.declared_keys() if declared is None else declared
        out = {}
        for name, value in self.keys.items():
            key = declared.get(name)
            value = coerce_value(name, value, key, self.base_dir, self.trusted_modules)
            if lanes is not None and key is not None and key.per_member \
                    and isinstance(value, (list, tuple, np.ndarray)) and not _is_scalar_spec(value) \
                    and len(value) == len(self.seeds) and len(lanes) != len(self.seeds):
                value = np.asarray(value)[list(lanes)]
            out[name] = value
        return out

    def resolved_callbacks(self) -> list:
        return [resolve_reference(c, self.base_dir, self.trusted_modules) if isinstance(c, str) else c
                for c in self.callbacks]

    # -- building --------------------------------------------------------------------------------
    def build(self, lanes: Sequence[int] | None = None, device: str | None = None,
              backend: str | None = None) -> tuple[Any, Any]:
        """``(network, game)`` for the seeds at positions ``lanes`` (all by default).

        Lane b of the result is seed ``seeds[lanes[b]]``; ``device``/``backend``
        override the spec's (a Ray worker passes its own GPU).
        """
        lanes = list(range(len(self.seeds))) if lanes is None else [int(i) for i in lanes]
        from spikey.experiment import memory
        memory.check_experiment(self, len(lanes))  # before allocating: names the keys that drive it
        seeds = [self.seeds[i] for i in lanes]
        device = self.device if device is None else device
        backend = self.backend if backend is None else backend
        if self.builder is not None:
            # Parts are known only after a build: probe for declarations only when a
            # per-member list has to be cut to this shard's lanes.
            cut = len(lanes) != len(self.seeds) and any(
                isinstance(v, (list, tuple, np.ndarray)) and len(v) == len(self.seeds) for v in self.keys.values())
            declared = self.declared_keys() if cut else {}
            return self._build_with_builder(seeds, self.resolved_keys(lanes, declared), device, backend)
        network_cls, parts, game_cls = self.network_class(), self.part_classes(), self.game_class()
        declared = self.declared_keys()
        keys = self.resolved_keys(lanes, declared)
        network_keys, game_keys = self.split_keys(keys, network_cls, parts, game_cls)
        modifiers = self.modifier_objects()
        if modifiers:
            parts = {**parts, "modifiers": modifiers}
        network = network_cls(parts=parts, keys=network_keys, batch_size=len(seeds), seed=seeds,
                              backend=backend, device=device, dtype=self.dtype)
        game_args = dict(batch_size=len(seeds), seed=seeds, **game_keys)
        game = game_cls(self.game_preset, **game_args) if self.game_preset is not None else game_cls(**game_args)
        return network, game

    def _build_with_builder(self, seeds: list, keys: dict, device: str, backend: str | None = None) -> tuple:
        builder = self.builder_function()
        parameters = inspect.signature(builder).parameters
        extra = {}
        for name, value in (("device", device), ("dtype", self.dtype)):
            if name in parameters:
                extra[name] = value
            elif value not in ("cpu", "float32"):
                raise ExperimentError(f"Experiment: builder {self.builder!r} takes no '{name}' argument, so "
                                      f"{name} = {value!r} cannot be applied.", key=name, value=value,
                                      expected=f"a builder with a '{name}' parameter")
        result = builder(seeds=list(seeds), backend=backend or self.backend, **extra, **self.builder_args, **keys)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise ExperimentError(f"Experiment: builder {self.builder!r} returned {type(result).__name__}; "
                                  f"expected (network, game).", key="builder", value=self.builder,
                                  expected="(network, game)")
        return result

    @staticmethod
    def split_keys(keys: dict, network_cls: type, parts: dict, game_cls: type) -> tuple[dict, dict]:
        """Split the flat keys into the network's and the game's (a key both declare goes to both)."""
        network_names = network_cls._accepted(parts)
        game_names = game_cls.accepted_names()
        network_keys, game_keys = {}, {}
        for name, value in keys.items():
            if name not in network_names and name not in game_names:
                known = network_names | game_names
                part_names = ", ".join(c.__name__ for c in parts.values() if isinstance(c, type))
                plain = {k for k in known if "." not in k}
                raise UnknownKeyError(f"{network_cls.__name__}: unknown key '{name}': neither a part "
                                      f"({part_names}) nor the game {game_cls.__name__} declares it."
                                      f"{suggest(name, plain)} `spikey keys` lists every key.", key=name,
                                      part=network_cls.__name__, value=value,
                                      expected="a key declared by a part or the game")
            if name in network_names:
                network_keys[name] = value
            if name in game_names:
                game_keys[name] = value
        return network_keys, game_keys

    def validate(self, dry_run: bool = True) -> "Experiment":
        """Check everything without running: names, keys (types, ranges), game/network sizes.

        Builds the networks on the CPU (numpy or torch-CPU) and, with ``dry_run``,
        plays one game step on a throwaway copy, so errors surface here rather
        than on a Ray worker. Returns self; raises a ``ConfigError`` naming the culprit.
        """
        for i, callback in enumerate(self.callbacks):
            target = resolve_reference(callback, self.base_dir, self.trusted_modules) \
                if isinstance(callback, str) else callback
            if not callable(target):
                raise ExperimentError(f"Experiment: callbacks[{i}] = {callback!r} is not callable.",
                                      key=f"callbacks[{i}]", value=callback, expected="f(record, network, game, step)")
        from spikey.experiment import memory
        memory.check_experiment(self, copies=2 if dry_run else 1)  # the network and its dry-run copy
        device = "cpu"
        network, game = self.build(device=device)
        check_compatible(network, game, dry_run=dry_run)
        return self


# -- game / network compatibility ---------------------------------------------------------------------
def _space(game: Any, name: str) -> Any:
    return getattr(game, f"single_{name}", None) or getattr(game, name, None)


def readout_actions(readout: Any) -> int | None:
    """How many distinct actions a readout produces (None when it is not a discrete choice)."""
    params = readout.params
    if "n_actions" in params:
        return int(params["n_actions"]) or int(params["n_outputs"])
    if "output_range" in params:
        return len(params["output_range"])
    return None


def check_compatible(network: Any, game: Any, dry_run: bool = True) -> None:
    """Raise a ``ConfigError`` saying which and why when ``game`` and ``network`` cannot play together.

    Checks batch sizes, the action count of the readout against a discrete
    action space, observation sizes against inputs that declare ``n_dims``,
    and (``dry_run``) one game step on copies of both.
    """
    readout, inputs = type(network.readout).__name__, type(network.inputs).__name__
    game_name = type(game).__name__
    if network.batch_size != game.batch_size:
        raise ExperimentError(f"the network has batch_size {network.batch_size} but the game {game_name} "
                              f"{game.batch_size}; they must match (one game per network).", key="batch_size",
                              value=(network.batch_size, game.batch_size), expected="equal batch sizes")
    action_space = _space(game, "action_space")
    n_game = getattr(action_space, "n", None)
    if n_game is None and getattr(action_space, "shape", None):  # a Box: one value per action
        n_game = int(np.prod(action_space.shape))
    n_readout = readout_actions(network.readout)
    if n_game is not None and n_readout is not None and int(n_game) != n_readout:
        raise ExperimentError(f"readout {readout} produces {n_readout} actions but game {game_name} has "
                              f"{int(n_game)} (action_space {action_space}); set the readout's n_actions "
                              f"(or output_range) to match.", key="n_actions", part=readout,
                              value=n_readout, expected=f"{int(n_game)} actions")
    observation_space = _space(game, "observation_space")  # one lane's space
    shape = getattr(observation_space, "shape", None)
    if shape is not None and "n_dims" in network.inputs.params:
        dims = int(np.prod(shape))
        if dims != network.inputs.params["n_dims"]:
            raise ExperimentError(f"inputs {inputs} expect n_dims = {network.inputs.params['n_dims']} "
                                  f"observation values but game {game_name} gives {dims} "
                                  f"(observation_space {observation_space}); set n_dims = {dims}.",
                                  key="n_dims", part=inputs, value=network.inputs.params["n_dims"],
                                  expected=str(dims))
    if not dry_run:
        return
    network, game = network.copy(), copy.deepcopy(game)
    try:
        state, _ = game.reset()
    except Exception as error:
        raise ExperimentError(f"game {game_name} failed to reset: {error}", part=game_name) from error
    try:
        action = network.tick(state)
    except Exception as error:
        shape = getattr(state, "shape", None)
        raise ExperimentError(f"game {game_name} gives observations of shape {shape} (e.g. "
                              f"{np.asarray(state)[0].tolist() if shape else state!r}) that inputs "
                              f"{inputs} cannot take: {error}", part=inputs, value=shape,
                              expected="observations the inputs part understands") from error
    try:
        game.step(action)
    except Exception as error:
        shown = network.backend.to_numpy(action) if hasattr(action, "shape") else action
        raise ExperimentError(f"readout {readout} gives actions {np.asarray(shown)[:4].tolist()} "
                              f"(shape {getattr(shown, 'shape', None)}) that game {game_name} rejects: "
                              f"{error}", part=readout, value=shown,
                              expected=f"actions game {game_name} accepts") from error
