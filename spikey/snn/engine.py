"""Which engine runs a network's ticks, and why: the one place that decides.

Two engines compute the same equations:

* ``"compiled"``: ``spikey.snn.fused``, a numba game step for LIF neurons with Static, STDP,
  MSTDP or MSTDPET synapses on the numpy backend (any input kind, weight kind, readout and
  rewarder);
* ``"reference"``: the parts' own methods, one network step at a time (every part, every
  backend).

The compiled step does the work of some of the parts' methods itself (``REPLACES``, per
role). A part may take it only when its class is one of the kinds the kernel implements
(``KINDS``) or a subclass of one that overrides none of those methods: ``class MyLIF(LIF):
pass`` or a subclass that only changes Keys defaults runs compiled; a subclass with its own
``charge``, ``propagate``, ``spikes`` or synapse update runs on the reference path, which
calls its methods. Methods the compiled step still calls from Python (``inputs.update``,
``network.step_reward``/``step_action``, the rewarder, the readout, ``synapses.apply_reward``,
``derive``/``reset`` of every part) may be overridden freely.

``select`` says which engine a network takes and why; ``Network.engine`` and
``Network.engine_reason`` report it, and ``choose`` (what ``Network.tick`` uses) logs one INFO
line on the ``spikey.engine`` logger when a network falls back, and raises ``EngineError``
when the compiled path was demanded and cannot run.

Forcing a path: ``Network(..., engine="reference" | "compiled" | "auto")`` (or assigning
``network.engine``), or for networks built with ``engine="auto"`` the environment variable
``SPIKEY_ENGINE`` (same values), read when the network is built. ``SPIKEY_FUSED=0`` and
``network.fused = False`` are deprecated spellings of "reference".
"""
from __future__ import annotations

import functools
import logging
import os
from typing import Any, NamedTuple

import numpy as np

from spikey.module import ConfigError
from spikey.snn import fused
from spikey.snn.input import RBF, TTFS, Input, Poisson, RateCode, RateMap, StaticMap
from spikey.snn import neuron_kernel
from spikey.snn.neuron.template import Neuron
from spikey.snn.synapse.mstdp import MSTDP
from spikey.snn.synapse.mstdpet import MSTDPET
from spikey.snn.synapse.static import Static
from spikey.snn.synapse.stdp import STDP
from spikey.snn.weight.template import Weight

log = logging.getLogger("spikey.engine")

#: Values of the ``engine`` argument and of ``SPIKEY_ENGINE``.
REQUESTS = ("auto", "compiled", "reference")
COMPILED, REFERENCE = "compiled", "reference"

#: Part kinds the compiled step implements, per role (for synapses: the kernel's rule code).
#: Every shipped input kind draws a game step's spikes through ``Input.block``, which the
#: equivalence tests hold equal to calling the input step by step.
KINDS: dict[str, dict[type, Any]] = {
    "inputs": {kind: None for kind in (Input, RateMap, Poisson, StaticMap, RBF, TTFS, RateCode)},
    "neurons": {Neuron: None},
    "weights": {Weight: None},
    "synapses": {Static: fused.STATIC, STDP: fused.STDP_RULE, MSTDP: fused.MSTDP_RULE,
                 MSTDPET: fused.MSTDPET_RULE},
}

#: Methods (and properties) whose work the compiled step does itself, per role. The network's
#: own entry is checked against the class passed to ``select`` (``Network``).
REPLACES: dict[str, tuple[str, ...]] = {
    "network": ("_network_step",),
    # a game step's input spikes come from inputs.block(steps) in one draw (spike_block)
    "inputs": ("__call__", "spikes", "firing", "block", "spike_block"),
    # the fire -> reset -> charge skeleton is generated around the model's own equations
    # (spikey.snn.neuron_kernel): a model states equations, it does not override the skeleton
    "neurons": ("__call__", "fire_condition", "update", "reset_spiked", "charge", "effective_threshold"),
    # synaptic input sums the spikers' rows; plasticity bounds the entries it changes
    "weights": ("propagate", "clip_"),
    # traces, pairing, eligibility and the weight change are inlined (apply_reward is not)
    "synapses": ("plastic", "update", "step_traces", "pairing", "eligibility", "change_weights",
                 "unchanged_by", "_lane"),
}


class EngineError(ConfigError):
    """``engine="compiled"`` was demanded for a network the compiled path cannot run."""


class Selection(NamedTuple):
    """The engine a network takes: ``engine`` ("compiled" or "reference"), ``reason`` (why the
    reference path; None when compiled), ``rule`` (the kernel's rule code when compiled) and
    ``request`` (what was asked: "auto", "compiled" or "reference")."""

    engine: str
    reason: str | None = None
    rule: int = fused.STATIC
    request: str = "auto"


def check_request(value: Any, where: str) -> str:
    """``value`` if it is one of ``REQUESTS``, else a ConfigError naming ``where`` it came from."""
    if value not in REQUESTS:
        raise ConfigError(f"{where} = {value!r}; expected one of {list(REQUESTS)} ('auto' takes the compiled "
                          f"path where the parts allow it, else the reference path).", key="engine",
                          part=where, value=value, expected=" | ".join(REQUESTS))
    return value


def resolve(argument: Any, where: str) -> tuple[str, str | None]:
    """(request, who asked) for an ``engine`` argument: the argument itself unless it is "auto",
    else ``SPIKEY_ENGINE``, else the deprecated ``SPIKEY_FUSED=0``, else ("auto", None).

    Networks resolve it when built (and when ``network.engine`` is assigned), so the
    environment is read once per network, not per tick.
    """
    request = check_request(argument, where)
    if request != "auto":
        return request, f"engine={request!r} was requested"
    env = os.environ.get("SPIKEY_ENGINE")
    if env:
        env = check_request(env, "SPIKEY_ENGINE")
        if env != "auto":
            return env, f"SPIKEY_ENGINE={env}"
    if os.environ.get("SPIKEY_FUSED", "1") == "0":
        return REFERENCE, "SPIKEY_FUSED=0 (deprecated: use SPIKEY_ENGINE=reference)"
    return "auto", None


def _kind(role: str, cls: type) -> type | None:
    """The nearest class in ``cls``'s MRO that the compiled step implements for ``role``."""
    return next((base for base in cls.__mro__ if base in KINDS[role]), None)


def _overridden(role: str, cls: type, base: type) -> list[str]:
    """The methods of ``REPLACES[role]`` that ``cls`` defines differently from ``base``."""
    names = REPLACES[role]
    if role == "inputs" and _block_calls_inputs(cls):
        names = ()  # block() calls inputs() step by step: every override runs
    return [name for name in names if getattr(cls, name, None) is not getattr(base, name, None)]


def _block_calls_inputs(cls: type) -> bool:
    """Whether ``Input.block`` stacks calls of the input itself for ``cls`` (no block draw)."""
    return cls.block is Input.block and cls.spike_block is Input.spike_block and cls.rate_stream is None


@functools.lru_cache(maxsize=256)
def class_reason(network_cls: type, network_base: type, inputs: type, neurons: type, weights: type,
                 synapses: type) -> tuple[str | None, int]:
    """(why these part classes cannot run compiled or None, the synapses' rule code).

    Depends on classes only, so it is computed once per combination.
    """
    changed = [name for name in REPLACES["network"]
               if getattr(network_cls, name, None) is not getattr(network_base, name, None)]
    if changed:
        return f"network: {network_cls.__name__} overrides {', '.join(changed)} of {network_base.__name__}", \
            fused.STATIC
    rule = fused.STATIC
    for role, cls in (("inputs", inputs), ("neurons", neurons), ("weights", weights), ("synapses", synapses)):
        base = _kind(role, cls)
        if base is None:
            kinds = ", ".join(kind.__name__ for kind in KINDS[role])
            return f"{role}: {cls.__name__} is not a kind the compiled path implements ({kinds})", fused.STATIC
        changed = _overridden(role, cls, base)
        if changed:
            return (f"{role}: {cls.__name__} overrides {', '.join(changed)} of {base.__name__}, which the "
                    f"compiled path computes itself", fused.STATIC)
        if role == "neurons":
            try:
                neuron_kernel.equations(cls)
            except neuron_kernel.NeuronKernelError as error:
                return f"neurons: {error}", fused.STATIC
        if role == "synapses":
            rule = KINDS[role][base]
    return None, rule


def _state_reason(network: Any, rule: int) -> str | None:
    """Why this network's keys or arrays keep it off the compiled path (None: they do not)."""
    weights = network.weights
    if rule == fused.STDP_RULE and network.synapses.params["normalize_columns"] is not None:
        return "synapses: STDP normalize_columns is set (the compiled path does not normalise columns)"
    matrix, dtype = weights.matrix, network.backend.dtype
    if not (isinstance(matrix, np.ndarray) and matrix.dtype == dtype and matrix.ndim in (2, 3)
            and matrix.flags.c_contiguous and matrix.flags.writeable):
        return (f"weights: matrix is not a writable C-contiguous {dtype} array (it is "
                f"{type(matrix).__name__} {getattr(matrix, 'dtype', '')}, shape {getattr(matrix, 'shape', '')})")
    return None


def select(network: Any, network_base: type) -> Selection:
    """The engine ``network`` takes now and why; ``network_base`` is the class whose network step
    the compiled path implements (``Network``). Cheap: class checks are cached."""
    request, asked = network.engine_request, network.engine_requested_by
    if getattr(type(network), "fused", True) is False:  # a subclass setting the deprecated ``fused = False``
        request, asked = REFERENCE, f"{type(network).__name__}.fused is False (deprecated: use engine='reference')"
    if request == REFERENCE:
        return Selection(REFERENCE, asked, request=request)
    if fused.numba is None:
        reason = "numba is not installed"
    elif network.backend.is_torch:
        reason = "the torch backend steps through the parts"
    else:
        reason, rule = class_reason(type(network), network_base, type(network.inputs), type(network.neurons),
                                    type(network.weights), type(network.synapses))
        if reason is None:
            reason = _state_reason(network, rule)
        if reason is None:
            return Selection(COMPILED, None, rule, request)
    return Selection(REFERENCE, reason, request=request)


def choose(network: Any, network_base: type) -> Selection:
    """``select``, plus what a tick needs: an ``EngineError`` when "compiled" was demanded and
    cannot run, and one INFO log line when the network falls back (again only if the reason
    changes)."""
    selection = select(network, network_base)
    if selection.engine == REFERENCE and selection.request == COMPILED:
        raise EngineError(f"{type(network).__name__}: engine='compiled' was requested but this network cannot "
                          f"run on the compiled path: {selection.reason}. Use engine='auto' (or unset "
                          f"SPIKEY_ENGINE) to run it on the reference path.", key="engine",
                          part=type(network).__name__, value=COMPILED,
                          expected="a network the compiled path implements")
    if selection.reason != getattr(network, "_engine_reported", None):
        network._engine_reported = selection.reason
        if selection.engine == REFERENCE:
            log.info("%s runs on the reference engine: %s", type(network).__name__, selection.reason)
    return selection
