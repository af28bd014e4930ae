"""Networks: parts assembled into B spiking networks that advance together.

A network is configured like a Spikey network: class attributes ``parts``
(role -> part class) and ``keys`` (default key values), overridable per
instance. Every state array has a leading batch axis B; ``batch_size=1`` is the
ordinary single network.

One network step (``processing_time`` of them per game step)::

    input spikes   (B, n_in)  <- inputs()
    body spikes    (B, N)     <- neurons()                 fire from the current state
    synaptic input (B, N)     <- [input, body] @ W         one batched product
    neurons.update(input)                                  reset, refractory, charge
    reward_t       (B,)       <- rewarder(state, this step's output spikes)   (ActiveRLNetwork)
    synapses.update(pre, post, reward_t)                   plasticity (training only)

Examples
--------
>>> import numpy as np
>>> from spikey.snn import RLNetwork, RateMap, LIF, Manual, MSTDP, Threshold, MatchExpected
>>> class XOR(RLNetwork):
...     parts = {"inputs": RateMap, "neurons": LIF, "weights": Manual, "synapses": MSTDP,
...              "readout": Threshold, "rewarder": MatchExpected}
...     keys = {"n_inputs": 4, "n_neurons": 3, "n_outputs": 1, "processing_time": 20,
...             "firing_threshold": 1.0, "potential_decay": 0.1, "max_weight": 2.0,
...             "matrix": np.full((7, 3), 0.5), "learning_rate": 0.01, "action_threshold": 0.1,
...             "state_rate_map": {(0, 0): [0, 0], (0, 1): [0, .5], (1, 0): [.5, 0], (1, 1): [.5, .5]},
...             "expected_value": lambda s: s.sum(axis=1) % 2}
>>> net = XOR(batch_size=2, seed=0)
>>> state = np.array([[0, 1], [1, 1]])
>>> action = net.tick(state)
>>> action.shape, net.reward(state, action).shape
((2,), (2,))
"""
from __future__ import annotations

import copy as copy_module
import warnings
from typing import Any, Iterable, Sequence

import numpy as np

from spikey.backend import Backend, lane_seeds
from spikey.module import ConfigError, Key, Module, UnknownKeyError, suggest
from spikey.snn.engine import EngineError, choose, resolve, select
from spikey.snn.fused import FusedEngine
from spikey.snn.modifier.template import Modifier
from spikey.snn.reward.template import call_rewarder

#: Roles of a network's parts, in construction order.
ROLES = ("inputs", "neurons", "weights", "synapses", "readout", "rewarder")
REQUIRED_ROLES = ("inputs", "neurons", "weights", "synapses", "readout")
#: Parts whose state the numerical guard checks (``Network.check_finite``): potentials, weights, traces.
GUARDED_ROLES = ("neurons", "weights", "synapses")
#: State arrays the guard skips: fixed signs, and the time-major (D, B, N) spike delay line (it holds
#: polarity x magnitude, finite whenever the keys are).
UNGUARDED_STATE = frozenset({"polarities", "delay_line"})


class NonFiniteStateError(ArithmeticError):
    """Raised where a lane's state became NaN or infinite and the caller cannot continue without it.

    ``failures`` holds the guard's records (``Network.failures``): lane, seed, step, parts, message.
    """

    def __init__(self, message: str, failures: Sequence[dict] = ()):
        super().__init__(message)
        self.failures = list(failures)


def _is_float_array(array: Any) -> bool:
    if hasattr(array, "detach"):
        return bool(array.dtype.is_floating_point)
    return isinstance(array, np.ndarray) and np.issubdtype(array.dtype, np.floating)


def nonfinite_lanes(array: Any, batch_size: int) -> np.ndarray | None:
    """(B,) bool: the lanes of ``array`` (leading axis B) holding a NaN or an infinity; None if none does.

    One reduction per lane, in the array's own dtype (the fastest pass): a sum is finite
    whenever every term is, and a NaN or inf term makes it non-finite; lanes whose sum is
    not finite are then checked entry by entry, since finite values can overflow a sum.
    """
    if hasattr(array, "detach"):  # torch: on its device, then the (B,) answer to the host
        import torch
        bad = ~torch.isfinite(array.reshape(batch_size, -1)).all(dim=1)
        return bad.cpu().numpy() if bool(bad.any()) else None
    flat = array.reshape(batch_size, -1)
    with np.errstate(over="ignore", invalid="ignore"):
        bad = ~np.isfinite(flat.sum(axis=1))
    if not bad.any():
        return None
    bad[bad] = ~np.isfinite(flat[bad]).all(axis=1)
    return bad if bad.any() else None


class Network(Module):
    """B spiking networks built from parts, stepping together.

    Parameters
    ----------
    parts : dict, optional
        Role -> part class, overriding the class attribute ``parts``. Roles:
        inputs, neurons, weights, synapses, readout, rewarder (optional), and
        ``modifiers`` (a list of ``Modifier`` objects, optional).
    keys : dict, optional
        Key values overriding the class attribute ``keys``; ``**overrides`` win over both.
    batch_size : int, default 1
        B, the number of networks; per-member keys accept B values.
    seed : int or sequence of B ints, default 0
        Lane b uses ``seed + b`` (or ``seed[b]``), so it reproduces a single
        network seeded with that value exactly.
    backend : {"numpy", "torch"}, device : str, dtype : {"float32", "float64"}
        Where and in what precision the arrays live.
    engine : {"auto", "compiled", "reference"}, default "auto"
        Which engine runs ticks (``spikey.snn.engine``): "auto" the compiled one where the
        parts allow it (else the reference path, with one INFO log line saying why),
        "reference" the parts' own methods step by step, "compiled" the compiled one or an
        ``EngineError`` naming what prevents it. With "auto", ``SPIKEY_ENGINE`` (read now) may
        force either.
    """

    namespace = "network"
    Keys = [
        Key("processing_time", "P, network steps per game step", int, range=(1, None)),
        Key("spike_log_length", "network steps kept in the spike log ring buffer (0: processing_time)",
            int, default=0, range=(0, None)),
    ]
    parts: dict = {}
    keys: dict = {}
    #: Keys that size arrays: fixed once the network is built.
    SHAPE_KEYS = frozenset({"n_inputs", "n_neurons", "n_outputs", "n_actions", "processing_time",
                            "spike_log_length", "spike_delay", "stdp_window", "matrix", "matrix_mask"})
    #: Whether rewards arrive once per game step through ``reward`` (RLNetwork).
    deferred_reward = False

    def __init__(self, parts: dict | None = None, keys: dict | None = None, *, batch_size: int = 1,
                 seed: int | Sequence[int] | None = 0, backend: str | Backend = "numpy",
                 device: str = "cpu", dtype: str = "float32", engine: str = "auto", **overrides: Any):
        self.engine_request, self.engine_requested_by = resolve(engine, f"{type(self).__name__}(engine=...)")
        part_classes = {**type(self).parts, **(parts or {})}
        config = {**type(self).keys, **(keys or {}), **overrides}
        self.part_classes = self._check_roles(part_classes)
        self._check_unknown(config, self.part_classes)
        super().__init__(batch_size=batch_size, strict=False, **config)
        self.config = config
        self.backend = backend if isinstance(backend, Backend) else Backend(backend, device, dtype)
        self.seeds = lane_seeds(seed, self.batch_size)
        self.modifiers: list[Modifier] = list(self.part_classes.get("modifiers", []))
        accepted = self._accepted(self.part_classes)
        for modifier in self.modifiers:
            if modifier.key not in accepted:
                raise UnknownKeyError(f"{type(self).__name__}: {type(modifier).__name__} schedules key "
                                      f"'{modifier.key}' that no part declares.{suggest(modifier.key, accepted)}",
                                      key=modifier.key, part=type(modifier).__name__, value=modifier.key,
                                      expected="a key declared by one of the parts")
        common = dict(backend=self.backend, seed=self.seeds, batch_size=self.batch_size, strict=False)
        for role in ROLES:
            cls = self.part_classes.get(role)
            setattr(self, role, None if cls is None else cls(**common, **config))
        self._check_sizes()
        self.synapses.deferred = self.deferred_reward
        self.synapses.bind(self.weights)  # static rules keep one matrix shared by all lanes
        self.training = True
        self.total_game_steps = 0  # game steps since construction: the clock of modifiers
        self._clear_failures()
        self.reset()
        if self.engine_request == "compiled":
            choose(self, Network)  # refuse now, naming the part, rather than at the first tick

    # -- configuration ------------------------------------------------------------------------
    @staticmethod
    def _check_roles(part_classes: dict) -> dict:
        for role in part_classes:
            if role not in ROLES and role != "modifiers":
                raise ConfigError(f"Network: unknown part role '{role}'.{suggest(role, ROLES)} "
                                  f"Roles: {list(ROLES) + ['modifiers']}.", key=role, part="Network",
                                  value=part_classes[role], expected="a part role")
        for role in REQUIRED_ROLES:
            if part_classes.get(role) is None:
                raise ConfigError(f"Network: part '{role}' is missing; expected a part class for it.",
                                  key=role, part="Network", value=None, expected="a part class")
        for role in ROLES:
            cls = part_classes.get(role)
            if cls is not None and not (isinstance(cls, type) and issubclass(cls, Module)):
                raise ConfigError(f"Network: part '{role}' = {cls!r}; expected a part class "
                                  f"(a Module subclass such as spikey.snn.LIF), not an instance.",
                                  key=role, part="Network", value=cls, expected="a part class")
        for modifier in part_classes.get("modifiers", []):
            if not isinstance(modifier, Modifier):
                raise ConfigError(f"Network: modifier {modifier!r} is not a Modifier instance.",
                                  key="modifiers", part="Network", value=modifier,
                                  expected="a list of Modifier objects")
        return part_classes

    @classmethod
    def _accepted(cls, part_classes: dict) -> set[str]:
        names = cls.accepted_names()
        for role in ROLES:
            if part_classes.get(role) is not None:
                names |= part_classes[role].accepted_names()
        return names

    @classmethod
    def _check_unknown(cls, config: dict, part_classes: dict) -> None:
        accepted = cls._accepted(part_classes)
        for name in config:
            if name not in accepted:
                raise UnknownKeyError(
                    f"{cls.__name__}: unknown key '{name}': no part declares it.{suggest(name, accepted)} "
                    f"Network.list_keys(...) shows every key.", key=name, part=cls.__name__,
                    value=config[name], expected="a key declared by one of the parts")

    @classmethod
    def list_keys(cls, print_table: bool = True, **parts: Any) -> list[dict]:
        """Every key of a configuration: one row (part, key, type, default, description) each.

        ``parts`` overrides the class's ``parts`` (role=class); prints a table by default.
        """
        part_classes = {**cls.parts, **parts}
        rows = cls.describe_keys()
        for role in ROLES:
            if part_classes.get(role) is not None:
                rows += [dict(row, role=role) for row in part_classes[role].describe_keys()]
        if print_table:
            for row in rows:
                print(f"{row.get('role', 'network'):>9} {row['part']:<14} {row['key']:<24} "
                      f"{row['type']:<16} {str(row['default']):<12} {row['description']}")
        return rows

    def _check_sizes(self) -> None:
        n_in, N = self.inputs.params["n_inputs"], self.neurons.params["n_neurons"]
        sizes = {"weights": (self.weights.params["n_inputs"], self.weights.params["n_neurons"]),
                 "synapses": (self.synapses.params["n_inputs"], self.synapses.params["n_neurons"])}
        for role, (w_in, w_n) in sizes.items():
            if (w_in, w_n) != (n_in, N):
                raise ConfigError(f"Network: {role} are sized for n_inputs={w_in}, n_neurons={w_n} but "
                                  f"inputs have {n_in} and neurons {N}.", key="n_inputs", part=role,
                                  value=(w_in, w_n), expected=(n_in, N))
        if self.readout.params["n_outputs"] > N:
            raise ConfigError(f"Network: n_outputs = {self.readout.params['n_outputs']} exceeds "
                              f"n_neurons = {N}; outputs are the last n_outputs body neurons.",
                              key="n_outputs", part=type(self.readout).__name__,
                              value=self.readout.params["n_outputs"], expected=f"<= {N}")

    def _parts(self) -> Iterable[tuple[str, Module]]:
        return ((role, getattr(self, role)) for role in ROLES if getattr(self, role) is not None)

    def set_key(self, name: str, value: Any) -> None:
        """Change key ``name`` (plain or ``"namespace.key"``) on every part that declares it."""
        namespace, _, plain = name.rpartition(".")
        if plain in self.SHAPE_KEYS:
            raise ConfigError(f"{type(self).__name__}.set_key: '{plain}' sets array sizes and cannot change "
                              f"during a run; build a new network instead.", key=name,
                              part=type(self).__name__, value=value, expected="a non-size key")
        targets = [part for _, part in [(None, self)] + list(self._parts())
                   if plain in part.key_map() and (not namespace or namespace == part.namespace)]
        # Validate for every part first, so a value one part rejects changes nothing.
        for part in targets:
            part.key_map()[plain].validate(value, type(part).__name__, self.batch_size)
        for part in targets:
            part.set_param(plain, value)
        if not targets:
            raise UnknownKeyError(f"{type(self).__name__}.set_key: no part declares '{name}'."
                                  f"{suggest(name, self._accepted(self.part_classes))}", key=name,
                                  part=type(self).__name__, value=value, expected="a declared key")
        self.config[name] = value

    # -- running ------------------------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        return self.inputs.params["n_inputs"]

    @property
    def n_neurons(self) -> int:
        return self.neurons.params["n_neurons"]

    @property
    def n_outputs(self) -> int:
        return self.readout.params["n_outputs"]

    @property
    def processing_time(self) -> int:
        return self.params["processing_time"]

    def reset(self) -> None:
        """Clear all dynamic state (potentials, traces, logs); learned weights are kept.

        Use ``reset_weights()`` to return to the initial matrix as well.
        """
        for _, part in self._parts():
            if part is not self.weights:
                part.reset()
        for modifier in self.modifiers:
            modifier.reset()
        B, n = self.batch_size, self.n_inputs + self.n_neurons
        self.polarities = self.backend.concat([self.inputs.polarities, self.neurons.polarities], axis=1)
        self.output_polarities = self.neurons.polarities[:, self.n_neurons - self.n_outputs:]
        log_length = self.params["spike_log_length"] or self.processing_time
        self._log = self.backend.zeros((log_length, B, n), dtype=bool)
        self._log_position = 0
        self._logged = 0
        self.game_step = 0
        self.output_counts = self.backend.zeros((B, self.n_outputs))
        self._state = None
        # Lanes that may learn; the episode loop clears the lanes whose game is over,
        # so a frozen game's network stops changing its weights (None: all lanes).
        self.learning_lanes = None

    @property
    def learning_lanes(self) -> np.ndarray | None:
        """(B,) bool: the lanes whose plasticity runs (None: all of them).

        Lanes outside it change nothing learned, on every path: no weight change
        (STDP included), no reward modulation, no threshold adaptation. The episode
        loop clears the lanes whose game has ended or that the numerical guard stopped.
        """
        return self._learning_lanes

    @learning_lanes.setter
    def learning_lanes(self, lanes: Any) -> None:
        lanes = None if lanes is None else np.asarray(lanes, dtype=bool).reshape(self.batch_size)
        self._learning_lanes = lanes
        for _, part in self._parts():
            part.learning_lanes = lanes

    def _mask_reward(self, reward: np.ndarray) -> np.ndarray:
        """``reward`` (B,) with the lanes outside ``learning_lanes`` set to 0 (no modulation)."""
        if self.learning_lanes is None:
            return reward
        return np.where(self.learning_lanes, reward, 0.0)

    # -- numerical guard -----------------------------------------------------------------------
    def _clear_failures(self) -> None:
        #: (B,) bool: lanes the numerical guard stopped (kept by ``reset``; ``reset_weights`` clears it).
        self.failed_lanes = np.zeros(self.batch_size, dtype=bool)
        #: One record per stopped lane: lane, seed, game_step, total_game_steps, network_steps, parts, message.
        self.failures: list[dict] = []

    def nonfinite_state(self) -> dict[str, np.ndarray]:
        """``{"role.array (Part)": (B,) bool}`` for each guarded state array holding NaN or inf; {} if all finite.

        Checks the float state of neurons (potentials, timers, adaptive thresholds), weights
        and synapses (traces, eligibility). A matrix shared by all lanes (static weights)
        counts against every lane.
        """
        B, found = self.batch_size, {}
        for role in GUARDED_ROLES:
            part = getattr(self, role)
            for name in part.state_names:
                array = getattr(part, name, None)
                if name in UNGUARDED_STATE or not _is_float_array(array):
                    continue
                if array.ndim and array.shape[0] == B and not (role == "weights" and array.ndim == 2):
                    bad = nonfinite_lanes(array, B)
                else:  # shared by every lane
                    bad = nonfinite_lanes(array.reshape(1, -1), 1)
                    bad = None if bad is None else np.ones(B, dtype=bool)
                if bad is not None:
                    found[f"{role}.{name} ({type(part).__name__})"] = bad
        return found

    def check_finite(self) -> list[dict]:
        """The numerical guard: stop every lane whose state has become NaN or infinite.

        Call once per game step (after ``tick`` and ``reward``; the episode loop does). A lane
        found non-finite joins ``failed_lanes`` for good (its game should end and it no longer
        learns; ``reset`` keeps it stopped, ``reset_weights`` restarts it) and gets a record in
        ``failures`` naming the game step, the network steps, the parts and arrays, and the lane.
        Returns the records of lanes stopped by this call (usually none).
        """
        found = self.nonfinite_state()
        if not found:
            return []
        new = np.zeros(self.batch_size, dtype=bool)
        for bad in found.values():
            new |= bad
        new &= ~self.failed_lanes
        P, records = self.processing_time, []
        first, last = (self.total_game_steps - 1) * P + 1, self.total_game_steps * P
        for lane in np.flatnonzero(new):
            parts = [name for name, bad in found.items() if bad[lane]]
            message = (f"lane {lane} (seed {self.seeds[lane]}) stopped: non-finite values (NaN or inf) in "
                       f"{', '.join(parts)} after game step {self.game_step} of the episode (network steps "
                       f"{first}-{last} since the network was built); its weights and state are no longer "
                       f"meaningful. Lower learning_rate or max_weight, check the parts' keys, or run in "
                       f"float64.")
            records.append({"lane": int(lane), "seed": int(self.seeds[lane]), "game_step": int(self.game_step),
                            "total_game_steps": int(self.total_game_steps), "network_steps": [first, last],
                            "parts": parts, "message": message})
        self.failed_lanes = self.failed_lanes | new
        self.failures.extend(records)
        return records

    def reset_weights(self) -> None:
        """Return the weights to their initial values, restart schedules and clear state."""
        self.total_game_steps = 0
        self._clear_failures()
        for _, part in self._parts():
            part.reset_learning()
        self.weights.reset()
        self.synapses.reset()
        self.reset()

    def train(self, mode: bool = True) -> "Network":
        """Enable (or with False disable) all plasticity; returns self."""
        self.training = bool(mode)
        for _, part in self._parts():
            part.train(mode)
        return self

    def eval(self) -> "Network":
        """Disable all plasticity: weights (and adaptive thresholds) stay fixed."""
        return self.train(False)

    def step_reward(self, post_outputs: Any) -> Any:
        """Reward of one network step, from its output spikes; None outside ActiveRLNetwork."""
        return None

    def _network_step(self) -> None:
        """Advance all B networks by one network step (see the module docstring)."""
        spikes = self.backend.concat([self.inputs(), self.neurons()], axis=1)
        self.neurons.update(self.weights.propagate(spikes))
        fired = spikes != 0
        self._log[self._log_position] = fired
        self._log_position = (self._log_position + 1) % self._log.shape[0]
        self._logged += 1
        post = fired[:, self.n_inputs:]
        post_outputs = post[:, self.n_neurons - self.n_outputs:]
        self.output_counts += post_outputs
        reward = self.step_reward(post_outputs)
        if self.training and self.synapses.plastic:
            self.synapses.update(fired * self.polarities, self.backend.cast(post), reward)

    @property
    def engine(self) -> str:
        """The engine that runs this network's ticks: "compiled" or "reference" (see ``engine_reason``).

        Assigning "auto", "compiled" or "reference" changes what is requested, as the
        constructor argument does.
        """
        return select(self, Network).engine

    @engine.setter
    def engine(self, request: str) -> None:
        before = self.engine_request, self.engine_requested_by
        self.engine_request, self.engine_requested_by = resolve(request, f"{type(self).__name__}.engine")
        if self.engine_request == "compiled":
            try:
                choose(self, Network)  # refuse now, naming the part, as the constructor does
            except EngineError:
                self.engine_request, self.engine_requested_by = before
                raise

    @property
    def engine_reason(self) -> str | None:
        """Why this network runs on the reference path (the part and what it does), None when compiled."""
        return select(self, Network).reason

    @property
    def fused(self) -> bool:
        """Deprecated: ``engine != "reference"`` requested; use ``engine``/``engine_request``."""
        return self.engine_request != "reference"

    @fused.setter
    def fused(self, value: bool) -> None:
        warnings.warn("network.fused is deprecated: set network.engine = 'reference' (or 'auto') instead.",
                      DeprecationWarning, stacklevel=2)
        self.engine = "auto" if value else "reference"

    def fused_engine(self) -> Any:
        """The compiled engine that runs this network's ticks, or None for the reference path.

        ``spikey.snn.engine`` decides (and logs a fallback once); both paths compute the
        same equations.
        """
        selection = choose(self, Network)
        if selection.engine != "compiled":
            return None
        engine = getattr(self, "_fused", None)
        if engine is None or not engine.matches(self, selection.rule):
            engine = self._fused = FusedEngine(self, selection.rule)
        return engine

    def tick(self, state: Any) -> Any:
        """Run one game step: ``processing_time`` network steps on ``state`` (B, ...).

        Returns the readout's action for each network, ``(B,)`` or ``(B, n_actions)``.
        """
        for modifier in self.modifiers:
            modifier.update(self, self.total_game_steps)
        self._state = state
        self.inputs.update(state)
        self.output_counts = self.output_counts * 0
        engine = self.fused_engine()
        if engine is not None:
            engine.tick(self, per_step_reward=type(self).step_reward is not Network.step_reward)
        else:
            for _ in range(self.processing_time):
                self._network_step()
        self.game_step += 1
        self.total_game_steps += 1
        return self.readout(self.output_counts, self.output_polarities, self.processing_time)

    def reward(self, state: Any, action: Any, state_next: Any = None, game_reward: Any = None,
               terminated: Any = None, truncated: Any = None) -> np.ndarray:
        """Reward ``(B,)`` of the last game step from the rewarder (no learning in Network).

        ``game_reward``, ``terminated``, ``truncated`` are the game's own step results
        ``(B,)``; they reach rewarders whose ``__call__`` takes them
        (``spikey.snn.reward.template.call_rewarder``).
        """
        if self.rewarder is None:
            raise ConfigError(f"{type(self).__name__}.reward: no 'rewarder' part configured.",
                              key="rewarder", part=type(self).__name__, value=None,
                              expected="a Reward part class")
        return call_rewarder(self.rewarder, state, action, state_next, game_reward=game_reward,
                             terminated=terminated, truncated=truncated)

    @property
    def spike_log(self) -> np.ndarray:
        """Spikes of the last ``spike_log_length`` steps, oldest first: bool ``(B, T, n_in + N)``."""
        log = self.backend.to_numpy(self._log)
        length = min(self._logged, log.shape[0])
        order = (np.arange(length) + (self._log_position - length)) % log.shape[0]
        return np.transpose(log[order], (1, 0, 2))

    # -- copies and checkpoints --------------------------------------------------------------
    def copy(self) -> "Network":
        """An independent deep copy, learned weights and all state included."""
        return copy_module.deepcopy(self)

    def state_dict(self) -> dict:
        """All state (numpy arrays), key values and random-stream positions, for checkpoints."""
        return {"network": {"game_step": self.game_step, "training": self.training,
                            "total_game_steps": self.total_game_steps,
                            "seeds": self.seeds.copy(), "params": dict(self.params),
                            "failures": [dict(record) for record in self.failures]},
                **{role: part.state_dict() for role, part in self._parts()}}

    def load_state_dict(self, state: dict) -> None:
        """Restore a ``state_dict`` taken from a network of the same configuration."""
        for role, part in self._parts():
            if role not in state:
                raise KeyError(f"load_state_dict: the checkpoint has no state for part '{role}'.")
            part.load_state_dict(state[role])
        self.game_step = state["network"]["game_step"]
        self.total_game_steps = state["network"].get("total_game_steps", self.game_step)
        self._clear_failures()
        self.failures = [dict(record) for record in state["network"].get("failures", [])]
        self.failed_lanes[[int(record["lane"]) for record in self.failures]] = True
        self.train(state["network"]["training"])


class RLNetwork(Network):
    """A network that learns from one reward per game step.

    After ``action = tick(state)`` the game's outcome goes to
    ``reward(state, action, state_next)``: the rewarder's value modulates the
    plasticity accumulated over the game step's network steps
    (``synapses.apply_reward``).
    """

    deferred_reward = True

    def reward(self, state: Any, action: Any, state_next: Any = None, game_reward: Any = None,
               terminated: Any = None, truncated: Any = None) -> np.ndarray:
        reward = self._mask_reward(np.asarray(super().reward(state, action, state_next, game_reward,
                                                             terminated, truncated), dtype=float))
        if self.training and self.synapses.plastic:
            self.synapses.apply_reward(reward)
        return reward


class ActiveRLNetwork(Network):
    """A network rewarded at every network step from that step's own output spikes.

    Each step, ``step_action(output_spikes)`` (default: whether any output
    neuron fired, ``(B,)`` bool) goes to ``rewarder(state, step_action)``; the
    resulting ``(B,)`` reward modulates that same step's plasticity. This is
    Florian's (2007) XOR protocol: reward or punishment at output spike times.
    ``reward(...)`` returns the sum of the game step's per-step rewards.
    """

    def step_action(self, post_outputs: Any) -> Any:
        """The per-step action from this step's output events ``(B, n_outputs)`` bool."""
        if post_outputs.shape[1] == 1:  # one output: its spike is the action (a copy is cheaper than any)
            return post_outputs[:, 0].clone() if self.backend.is_torch else post_outputs[:, 0].copy()
        return post_outputs.any(axis=1) if not self.backend.is_torch else post_outputs.any(dim=1)

    def reset(self) -> None:
        super().reset()
        self.tick_reward = np.zeros(self.batch_size)

    def tick(self, state: Any) -> Any:
        self.tick_reward = np.zeros(self.batch_size)
        return super().tick(state)

    def step_reward(self, post_outputs: Any) -> Any:
        if self.rewarder is None:
            return None
        action = self.step_action(post_outputs)
        if self.backend.is_torch:
            action = self.backend.to_numpy(action)
        reward = self.rewarder(self._state, action)
        if type(reward) is not np.ndarray or reward.dtype != np.float64:
            reward = np.asarray(reward, dtype=float)
        if self.learning_lanes is not None:
            reward = self._mask_reward(reward)
        self.tick_reward += reward
        return reward

    def reward(self, state: Any, action: Any, state_next: Any = None, game_reward: Any = None,
               terminated: Any = None, truncated: Any = None) -> np.ndarray:
        """The summed per-step rewards of the last game step (learning already happened)."""
        return self.tick_reward.copy()
