"""The memory a config needs, estimated before anything is built, and the check against what is available.

A network of B lanes, n = n_inputs + n_neurons presynaptic rows and N = n_neurons
neurons, float itemsize s (4 for float32, 8 for float64), holds

* weights ``(B, n, N)`` (one ``(n, N)`` matrix shared by all lanes when the synapses
  are static), and when plastic, the rule's ``(B, n, N)`` traces (``trace`` of
  MSTDPET; ``eligibility_sum`` of MSTDP/MSTDPET when the network defers rewards,
  as ``RLNetwork`` does) and about one ``(B, n, N)``
  temporary of a step's update (the STDP pairing term);
* while building, one lane's initial weight draw, ``n x N`` float64;
* the spike log, ``spike_log_length`` (default ``processing_time``) x B x n booleans;
* the input block of a game step, ``processing_time x B x n_inputs`` floats;
* neuron state, a few ``(B, N)`` arrays and the ``spike_delay`` line;
* per lane, its seed and random streams (``PER_LANE_BYTES``).

``Experiment.validate()`` builds the network and copies it for a dry run, so
it needs twice the network. Not counted: the one-time growth of a process when
its first network is built and stepped (compiled kernels, lazy imports; about
130 MB measured on numpy).

Measured against the peak RSS growth of building a network and playing 20 game
steps (``examples/xor.yaml``: ActiveRLNetwork, MSTDPET, float32, numpy), less the
one-time 130 MB: N=4000 B=2 estimate 514 MB / measured 431 MB; N=2000 B=4
226 / 160 MB; N=1000 B=16 204 / 134 MB; ``validate()`` N=2000 B=4 (network and
copy) about 450 / 290 MB. The estimate is 1.2-1.6x what was measured: on the safe
side (traces allocated as zeros are only resident once written). The estimate is compared with the memory available
(``psutil.virtual_memory().available``, else ``MemAvailable`` of
``/proc/meminfo``) and with ``Experiment.max_memory`` / ``--max-memory``; a
config over either fails with ``MemoryEstimateError`` naming the keys that
drive the largest terms, before any allocation.

Examples
--------
>>> parse_size("4GB"), parse_size("512 MiB"), parse_size(1e9)
(4000000000, 536870912, 1000000000)
>>> est = estimate_lanes(8, {"n_inputs": 10, "n_neurons": 50, "processing_time": 100}, "float32",
...                      plastic=True, large_state=1)
>>> est.terms[0].name, est.terms[0].bytes   # 8 lanes x 60 x 50 x 4 bytes
('weights', 96000)
"""
from __future__ import annotations

import dataclasses
import numbers
import re
from typing import Any

from spikey.module import ConfigError

#: Bytes each lane costs whatever its size: its seed, per-part random streams and bookkeeping
#: (measured: about 3-4 KB per lane on numpy for a 3-neuron network; rounded up).
PER_LANE_BYTES = 4096
#: (B, n, N) temporaries of one plasticity step (the pairing term of the reference path; measured RSS
#: of the fused path fits 1 better than 2).
UPDATE_TEMPORARIES = 1
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


class MemoryEstimateError(ConfigError):
    """A config needs more memory than is available or allowed; names the keys that drive the estimate."""


@dataclasses.dataclass
class Term:
    """One contribution to the estimate: what, how many bytes, and the keys its size depends on."""
    name: str
    bytes: int
    keys: tuple[str, ...]
    formula: str


@dataclasses.dataclass
class Estimate:
    """The estimated bytes of a network (``total``) as a list of ``Term``."""
    terms: list
    copies: int = 1

    @property
    def total(self) -> int:
        return self.copies * sum(t.bytes for t in self.terms)

    def drivers(self) -> list[str]:
        """Keys of the terms that make up most of the total, largest term first."""
        out: list[str] = []
        for term in sorted(self.terms, key=lambda t: -t.bytes):
            if term.bytes * 4 < self.terms_max():
                break
            out += [k for k in term.keys if k not in out]
        return out

    def terms_max(self) -> int:
        return max((t.bytes for t in self.terms), default=0)

    def describe(self) -> str:
        largest_first = sorted(self.terms, key=lambda t: -t.bytes)
        parts = [f"{t.name} {format_size(t.bytes)} ({t.formula})" for t in largest_first
                 if t.bytes * 100 >= self.terms_max()]
        copies = f" x {self.copies} (the dry run copies the network)" if self.copies > 1 else ""
        return "; ".join(parts) + copies


def format_size(n: float) -> str:
    """Bytes as a short human-readable string (``"1.5 GB"``)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


def parse_size(value: Any, field: str = "max_memory") -> int | None:
    """Bytes from an int, a float or a string such as ``"4GB"``, ``"512MiB"``, ``"1e9"`` (None stays None)."""
    if value is None:
        return None
    number = None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        match = re.match(r"^\s*([0-9.]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*$", value)
        unit = match[2].lower() if match else None
        if match and unit in _UNITS:
            try:
                number = float(match[1]) * _UNITS[unit]
            except ValueError:
                number = None
    if number is None or not number == number or number <= 0 or number == float("inf"):
        raise ConfigError(f"{field} = {value!r}; expected a positive size in bytes or with a unit "
                          f"(e.g. 4GB, 512MiB).", key=field, value=value, expected="a size such as 4GB")
    return int(number)


def available_bytes() -> tuple[int | None, str]:
    """The memory available to a new allocation now, and where the figure comes from."""
    try:
        import psutil
        return int(psutil.virtual_memory().available), "psutil.virtual_memory().available"
    except ImportError:
        pass
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "MemAvailable of /proc/meminfo"
    except OSError:
        pass
    return None, "unknown"


def _int_key(keys: dict, name: str, namespace: str | None = None, default: int = 0) -> int:
    """An integer size from the flat keys (``namespace.name`` first); ``default`` if absent or not a number."""
    value = keys.get(f"{namespace}.{name}", keys.get(name, default)) if namespace else keys.get(name, default)
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value \
            and abs(value) != float("inf"):
        return max(int(value), 0)
    return default


def estimate_lanes(n_lanes: int, keys: dict, dtype: str, *, plastic: bool = True, large_state: int = 2,
                   copies: int = 1) -> Estimate:
    """The estimate for ``n_lanes`` lanes with the sizes in ``keys`` (see the module docstring).

    ``plastic``: weights per lane and update temporaries; ``large_state``: the rule's ``(B, n, N)`` traces.
    """
    B = max(int(n_lanes), 0)
    itemsize = 8 if dtype == "float64" else 4
    n_in = _int_key(keys, "n_inputs")
    N = _int_key(keys, "n_neurons")
    T = _int_key(keys, "processing_time", default=1)
    log = _int_key(keys, "spike_log_length") or T
    delay = _int_key(keys, "spike_delay")
    n = n_in + N
    lanes = ("seeds",)
    sizes = ("n_neurons", "n_inputs")
    weight_lanes = B if plastic else 1
    terms = [
        Term("weights", weight_lanes * n * N * itemsize, (sizes + lanes) if plastic else sizes,
             f"{weight_lanes} x {n} x {N} x {itemsize} B"),
        Term("plasticity traces and update", (large_state + UPDATE_TEMPORARIES) * B * n * N * itemsize
             if plastic else 0, sizes + lanes,
             f"{large_state + UPDATE_TEMPORARIES} x {B} x {n} x {N} x {itemsize} B"),
        Term("initial weight draw", n * N * 8, sizes, f"one lane's {n} x {N} float64 draw"),
        Term("spike log", log * B * n, ("spike_log_length" if _int_key(keys, "spike_log_length") else
                                        "processing_time",) + lanes + sizes, f"{log} x {B} x {n} x 1 B"),
        Term("input block", T * B * n_in * itemsize, ("processing_time",) + lanes + ("n_inputs",),
             f"{T} x {B} x {n_in} x {itemsize} B"),
        Term("neuron state", (6 + delay) * B * N * itemsize, lanes + ("n_neurons",) + (("spike_delay",) if delay
                                                                                         else ()),
             f"{6 + delay} x {B} x {N} x {itemsize} B"),
        Term("per-lane streams", B * PER_LANE_BYTES, lanes, f"{B} x {PER_LANE_BYTES} B"),
    ]
    return Estimate(terms, copies)


def _synapse_traits(synapse: Any, deferred: bool = True) -> tuple[bool, int]:
    """(plastic, number of ``(B, n, N)`` state arrays) of a synapse class; ``eligibility_sum`` exists only
    when the network defers rewards (``RLNetwork``)."""
    plastic = True
    prop = getattr(synapse, "plastic", None)
    if isinstance(prop, property):
        try:
            plastic = bool(prop.fget(object.__new__(synapse)))
        except Exception:  # a rule whose plasticity depends on its state: count it as plastic
            plastic = True
    large = sum(name == "trace" or (name == "eligibility_sum" and deferred)
                for name in getattr(synapse, "state_names", ()))
    return plastic, large


def estimate(experiment: Any, n_lanes: int | None = None, copies: int = 1) -> Estimate | None:
    """The estimate of ``experiment``'s network for ``n_lanes`` lanes (all its seeds by default).

    None for an experiment built by a ``builder`` function (its parts are known only after a build).
    """
    if experiment.builder is not None:
        return None
    n_lanes = len(experiment.seeds) if n_lanes is None else n_lanes
    plastic, large = True, 2
    try:
        synapse = experiment.part_classes().get("synapses")
        deferred = bool(getattr(experiment.network_class(), "deferred_reward", True))
    except ConfigError:
        synapse = None  # named wrongly: the build says so
    if isinstance(synapse, type):
        plastic, large = _synapse_traits(synapse, deferred)
    return estimate_lanes(n_lanes, experiment.keys, experiment.dtype, plastic=plastic, large_state=large,
                          copies=copies)


def check_estimate(est: Estimate | None, max_memory: int | None, what: str = "the network") -> None:
    """Raise ``MemoryEstimateError`` when ``est`` exceeds the memory available or ``max_memory``."""
    if est is None:
        return
    available, source = available_bytes()
    limits = []
    if available is not None:
        limits.append((available, f"the {format_size(available)} available ({source})"))
    if max_memory is not None:
        limits.append((max_memory, f"max_memory = {format_size(max_memory)}"))
    for limit, described in sorted(limits):
        if est.total > limit:
            drivers = est.drivers()
            raise MemoryEstimateError(
                f"{what} needs about {format_size(est.total)}, more than {described}: {est.describe()}. "
                f"Reduce {', '.join(drivers)} (or raise --max-memory / max_memory if the memory is there).",
                key=drivers[0] if drivers else None, value=est.total, expected=f"<= {format_size(limit)}")


def check_lane_count(experiment: Any) -> None:
    """Refuse a seed count whose lanes alone exceed the limits, before the list of seeds is made.

    Counts only what every lane costs whatever its parts (its streams, neuron state, spike log,
    input block); ``check_experiment`` counts everything once the parts are known.
    """
    seeds = experiment.seeds
    if isinstance(seeds, dict):
        seeds = seeds.get("count")
    if not (isinstance(seeds, numbers.Real) and not isinstance(seeds, bool)) or not seeds == seeds \
            or seeds in (float("inf"), float("-inf")) or seeds < 1024:
        return  # small counts: checked with the parts when built (check_experiment)
    est = estimate_lanes(int(seeds), experiment.keys, experiment.dtype, plastic=False, large_state=0)
    est.terms = [t for t in est.terms if t.name != "weights"]  # shared weights: not per lane
    check_estimate(est, experiment.max_memory, f"Experiment: seeds = {experiment.seeds!r} ({int(seeds)} lanes)")


def check_experiment(experiment: Any, n_lanes: int | None = None, copies: int = 1) -> None:
    """Raise ``MemoryEstimateError`` before building ``experiment`` when its estimate exceeds the limits."""
    lanes = len(experiment.seeds) if n_lanes is None else n_lanes
    check_estimate(estimate(experiment, n_lanes, copies), experiment.max_memory,
                   f"Experiment '{experiment.name}' ({lanes} lanes)")
