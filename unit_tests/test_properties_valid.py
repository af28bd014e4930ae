"""Property-based tests over valid configurations: random parts, keys and games build, step and keep invariants.

Each example draws a game (Logic, CartPole discrete or continuous, a small classification set), a network
kind (Network, RLNetwork, ActiveRLNetwork), one part class per role from the part registry
(``spikey.experiment.config.part_classes_by_name``) among those that fit the game, and a value for the
keys of those parts: every key without a default, and about half of the others. Values come from the
key's declared type and range (``Module.key_map``), narrowed to a sane scale listed in ``SCALES``;
per-member keys are a scalar or one value per lane. Sizes are small, B is 1 to 4, dtype float32 or float64.

Invariants checked on every example:

* state arrays have their documented shapes (leading batch axis B) and are finite;
* weights stay in [0, max_weight] (each lane its own bound) and are zero where no synapse exists;
* actions lie in the game's action space; rewards are (B,) and finite;
* the spike log is (B, min(steps run, spike_log_length), n_inputs + n_neurons) bool;
* lane b of the batch equals a single network (and game) seeded like lane b;
* ``reset()`` restores every dynamic state array to that of a freshly built network (learned weights
  and adaptive thresholds are kept);
* after ``eval()`` weights and adaptive thresholds no longer change.

The test is parametrized by the part class, network kind or game it must contain, so every one of
them is exercised in every run; hypothesis draws the rest (``derandomize=True``: the same examples
every run). Values that must be refused are in test_keys_properties.py.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spikey.snn as snn
from spikey.experiment.config import PART_FAMILIES, part_classes_by_name
from spikey.games import CartPole, Classification, Logic
from spikey.module import ConfigError, Key

#: Examples per focus (part class, network kind or game); SPIKEY_PROPERTY_EXAMPLES raises it for a longer hunt.
EXAMPLES_PER_FOCUS = int(os.environ.get("SPIKEY_PROPERTY_EXAMPLES", "3"))
GAME_STEPS = 3

# -- what fits what ---------------------------------------------------------------------------------
GAMES = ("logic", "cartpole", "cartpole_continuous", "classes")
NETWORKS = (snn.Network, snn.RLNetwork, snn.ActiveRLNetwork)
STATE_DIMS = {"logic": 2, "cartpole": 4, "cartpole_continuous": 4, "classes": 3}
INPUTS = {"logic": ("RateMap", "Poisson", "StaticMap", "TTFS", "RateCode", "RBF", "RBFGrid")}
INPUTS.update({game: ("StaticMap", "TTFS", "RateCode", "RBF", "RBFGrid") for game in GAMES[1:]})
#: Inputs whose rates can code a TDCritic's states (its critic_code).
CRITIC_CODES = ("RBF", "RBFGrid")
READOUTS = {"logic": ("Threshold", "TopAction"), "cartpole": ("Threshold", "TopAction"),
            "cartpole_continuous": ("PopulationVector", "NeuronRates"), "classes": ("Threshold", "TopAction")}
NEURONS = ("LIF", "AdaptiveLIF", "Izhikevich", "RandPotential")
WEIGHTS = ("Manual", "Random")
SYNAPSES = ("Static", "STDP", "MSTDP", "MSTDPET", "RLSTDP")


def rewarders(network: type, game: str) -> tuple:
    """Rewarders that can judge ``game`` in ``network`` (None: no rewarder, plain Network only)."""
    labelled = game in ("logic", "classes")
    options = ["RewardFunction", "DelayedReward"] + ["MatchExpected"] * labelled
    if network is snn.Network:
        options.append(None)
    if network is not snn.ActiveRLNetwork and game.startswith("cartpole"):
        options.append("CartPoleBalance")  # needs the next state, which only a game step's reward has
    if network is snn.ActiveRLNetwork and labelled:
        options.append("PoolSpikes")       # judges each output spike: SpikingActiveRLNetwork below
    if network is not snn.ActiveRLNetwork:  # these read the game's reward, which only a game step has
        options += ["GameReward", "RewardPredictionError", "TDCritic"]
    return tuple(options)


class SpikingActiveRLNetwork(snn.ActiveRLNetwork):
    """PoolSpikes' protocol: the per-step action is the output spikes themselves."""

    def step_action(self, post_outputs):
        return post_outputs


class Triads(Classification):
    """Twelve 3-feature samples, three classes (the brightest feature); a classification game small enough
    for every example."""

    n_classes = 3

    def load(self, split):
        features = np.random.default_rng(7).random((12, 3)) * 0.5
        labels = np.arange(12) % 3
        features[np.arange(12), labels] += 0.5
        return features, labels


def make_game(spec: dict, batch_size: int, seed) -> object:
    kind = spec["game"]
    if kind == "logic":
        return Logic(spec["gate"], batch_size=batch_size, seed=seed)
    if kind.startswith("cartpole"):
        return CartPole(spec["preset"], batch_size=batch_size, seed=seed, continuous=kind.endswith("continuous"))
    return Triads(batch_size=batch_size, seed=seed, shuffle=spec["shuffle"])


def action_count(game: str) -> int:
    return {"logic": 2, "cartpole": 2, "cartpole_continuous": 1, "classes": 3}[game]


# -- values from the declared keys ------------------------------------------------------------------
#: Sane (low, high) per numeric key, intersected with the key's declared range. Keys the builder sets
#: from the structure of the network (sizes, maps, matrices, callables) are in STRUCTURAL.
SCALES = {
    "magnitude": (0.2, 2.0), "input_pct_inhibitory": (0.0, 1.0), "dt_ms": (0.1, 2.0), "rbf_width": (0.2, 2.0),
    "max_rate": (0.0, 1.0), "ttfs_window": (1, 10),
    "refractory_period": (0, 3), "prob_rand_fire": (0.0, 0.3), "neuron_pct_inhibitory": (0.0, 1.0),
    "spike_delay": (0, 2), "potential_decay": (0.0, 1.0), "theta_plus": (0.0, 0.5),
    "theta_decay_tau": (1.0, 1e4), "potential_noise_scale": (0.0, 2.0), "a": (0.01, 0.1), "b": (0.15, 0.25),
    "c": (-70.0, -50.0), "d": (0.5, 8.0), "izhikevich_dt": (0.1, 1.0),
    "reward_scale": (-2.0, 2.0), "reward_offset": (-1.0, 1.0), "baseline_rate": (0.0, 1.0),
    "discount": (0.0, 1.0), "critic_rate": (0.0, 0.5), "critic_lambda": (0.0, 1.0), "value_init": (-1.0, 1.0),
    "max_weight": (0.1, 3.0), "connection_prob": (0.0, 1.0),
    "learning_rate": (0.0, 0.1), "tau_plus": (1.0, 30.0), "tau_minus": (1.0, 30.0), "a_plus": (0.0, 1.5),
    "a_minus": (0.0, 1.5), "tau_eligibility": (1.0, 50.0), "normalize_columns": (0.5, 3.0),
    "stdp_window": (2, 6), "trace_decay": (0.0, 1.0), "threshold_window": (1, 10),
    "reward_mult": (0.0, 2.0), "punish_mult": (0.0, 2.0), "lookahead": (0.0, 1.0), "theta_max": (0.1, 0.5),
    "x_max": (1.0, 5.0), "dopamine_tau": (0.0, 50.0),
}
#: The LIF family works in threshold units, Izhikevich in millivolts.
SCALES_BY_PART = {
    "Izhikevich": {"firing_threshold": (25.0, 35.0), "resting_mv": (-70.0, -60.0)},
    "LIF": {"firing_threshold": (0.3, 3.0), "resting_mv": (-0.5, 0.2)},
}
STRUCTURAL = {"n_inputs", "n_neurons", "n_outputs", "n_actions", "n_features", "n_dims", "processing_time",
              "state_rate_map", "state_spike_map", "state_value_map", "rbf_low", "rbf_high", "matrix",
              "matrix_mask", "weight_generator", "expected_value", "reward_fn", "rewarded_states", "reward_delay",
              "action_threshold", "output_range", "input_firing_steps", "grid_shape", "critic_code"}


def concrete_parts() -> dict[str, dict[str, type]]:
    """Role -> {name: class} of every part the registry offers (family templates left out)."""
    registry = part_classes_by_name()
    out = {}
    for role, family in PART_FAMILIES.items():
        base = getattr(snn, family)
        out[role] = {name: cls for name, cls in registry.items()
                     if isinstance(cls, type) and issubclass(cls, base) and cls is not base
                     and name != "TraceSTDP"}
    return out


def scale_of(key: Key, part: type) -> tuple:
    for klass in part.__mro__:
        if key.name in SCALES_BY_PART.get(klass.__name__, {}):
            return SCALES_BY_PART[klass.__name__][key.name]
    return SCALES[key.name]


def value_strategy(key: Key, part: type) -> st.SearchStrategy:
    """Values of ``key`` inside its declared type and range, at a sane scale."""
    if key.type is bool:
        return st.booleans()
    low, high = scale_of(key, part)
    declared_low, declared_high = key.range or (None, None)
    low = low if declared_low is None else max(low, declared_low)
    high = high if declared_high is None else min(high, declared_high)
    assert low <= high, f"{part.__name__}.{key.name}: scale and declared range {key.range} do not overlap"
    if key.type is int:
        return st.integers(int(low), int(high))
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def per_member(data, strategy: st.SearchStrategy, B: int):
    """A scalar, or one value per lane."""
    if data.draw(st.booleans(), label="one value per lane"):
        return [data.draw(strategy) for _ in range(B)]
    return data.draw(strategy)


def draw_keys(data, part: type, B: int, keys: dict) -> None:
    """Values for ``part``'s keys not set yet: every required one and about half of those with defaults."""
    for key in part.key_map().values():
        if key.name in STRUCTURAL or key.name in keys:
            continue
        if not key.required and data.draw(st.booleans(), label=f"keep default of {key.name}"):
            continue
        strategy = value_strategy(key, part)
        if key.nullable:
            strategy = st.none() | strategy
        keys[key.name] = per_member(data, strategy, B) if key.per_member else data.draw(strategy, label=key.name)


# -- reward functions and input functions (row-wise, so a lane never depends on the others) -------------
def any_output_reward(state, action, state_next, params):
    """reward_mult where the action (or any output spike) is non-zero, else -punish_mult; (B,)."""
    B = np.asarray(state).shape[0]
    hit = np.asarray(action, dtype=float).reshape(B, -1).sum(axis=1) > 0
    reward, punish = (np.broadcast_to(params[name], (B,)) for name in ("reward_mult", "punish_mult"))
    return np.where(hit, reward, -punish)


class RowCurrents:
    """StaticMap function: input k gets |state[:, k mod d]| * gain[k] (elementwise, row by row)."""

    def __init__(self, gain: np.ndarray, dims: int):
        self.gain, self.dims = gain, dims

    def __call__(self, states):
        states = np.abs(np.asarray(states, dtype=np.float64).reshape(len(states), -1))
        return states[:, np.arange(len(self.gain)) % self.dims] * self.gain


# -- the configuration --------------------------------------------------------------------------------
unit = st.floats(0.0, 1.0, allow_nan=False)


def configuration(data, focus: str) -> dict:
    """A valid configuration containing ``focus`` (a part class, network kind or game name)."""
    draw = data.draw
    parts_by_role = concrete_parts()
    role_of = {name: role for role, names in parts_by_role.items() for name in names}
    network_names = {n.__name__: n for n in NETWORKS}
    # the game: one the focus fits
    games = [g for g in GAMES if focus == g or focus in network_names or focus in NEURONS + WEIGHTS + SYNAPSES
             or focus in INPUTS[g] or focus in READOUTS[g]
             or (role_of.get(focus) == "rewarder" and any(focus in rewarders(n, g) for n in NETWORKS))]
    game = draw(st.sampled_from(games), label="game")
    networks = [n for n in NETWORKS if focus not in network_names or network_names[focus] is n]
    if role_of.get(focus) == "rewarder":
        networks = [n for n in networks if focus in rewarders(n, game)]
    network = draw(st.sampled_from(networks), label="network")
    options = {"inputs": INPUTS[game], "neurons": NEURONS, "weights": WEIGHTS, "synapses": SYNAPSES,
               "readout": READOUTS[game], "rewarder": rewarders(network, game)}
    chosen = {role: focus if focus in names else draw(st.sampled_from(names), label=role)
              for role, names in options.items()}
    if chosen["rewarder"] == "TDCritic" and chosen["inputs"] not in CRITIC_CODES:
        # the critic codes states with the network's own input keys: an input that takes observations
        chosen["inputs"] = focus if focus in CRITIC_CODES else draw(st.sampled_from(CRITIC_CODES), label="inputs")
    if network is snn.ActiveRLNetwork and chosen["rewarder"] == "PoolSpikes":
        network = SpikingActiveRLNetwork
    parts = {role: parts_by_role[role][name] for role, name in chosen.items() if name is not None}

    B = draw(st.integers(1, 4), label="B")
    P = draw(st.integers(1, 8), label="processing_time")
    d, n_actions = STATE_DIMS[game], action_count(game)
    keys = {"processing_time": P, "spike_log_length": draw(st.sampled_from([0, 1, 5, 2 * P + 1]))}
    spec = {"game": game, "gate": draw(st.sampled_from(["XOR", "AND", "OR"])),
            "preset": draw(st.sampled_from(["DEFAULT", "FREMAUX"])), "shuffle": draw(st.booleans()),
            "network": network, "parts": parts, "keys": keys, "B": B, "seed": draw(st.integers(0, 1000)),
            "dtype": draw(st.sampled_from(["float32", "float64"])), "game_seed": draw(st.integers(0, 1000))}

    # inputs
    inputs = chosen["inputs"]
    if inputs in ("RateMap", "Poisson"):
        m, copies = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        top = 1.0 if inputs == "RateMap" else 400.0
        rates = st.lists(st.floats(0.0, top, allow_nan=False), min_size=m, max_size=m)
        states = [(a, b) for a in (0, 1) for b in (0, 1)]
        if draw(st.booleans(), label="rate map as an array"):
            keys["state_rate_map"] = np.array([draw(rates) for _ in states]).reshape(2, 2, m)
        else:
            keys["state_rate_map"] = {s: draw(rates) for s in states}
        keys["n_inputs"] = m * copies
    elif inputs == "StaticMap":
        keys["n_inputs"] = n = draw(st.integers(1, 5))
        if game == "logic" and draw(st.booleans(), label="static map as a dict"):
            pattern = {}
            for state in [(a, b) for a in (0, 1) for b in (0, 1)]:
                if draw(st.booleans(), label="the same values every step"):
                    pattern[state] = np.array(draw(st.lists(unit, min_size=n, max_size=n)))
                else:  # a 0/1 pattern with at least processing_time rows
                    rows = draw(st.integers(P, P + 2))
                    pattern[state] = (np.random.default_rng(sum(state) + rows).random((rows, n)) < 0.5) * 1.0
            keys["state_spike_map"] = pattern
        else:
            keys["state_spike_map"] = RowCurrents(np.array(draw(st.lists(unit, min_size=n, max_size=n))), d)
    elif inputs == "TTFS":
        if game == "logic" and draw(st.booleans(), label="intensities from a map"):
            keys["n_inputs"] = n = draw(st.integers(1, 4))
            keys["state_value_map"] = {(a, b): draw(st.lists(unit, min_size=n, max_size=n))
                                       for a in (0, 1) for b in (0, 1)}
        else:
            keys["n_inputs"] = d  # the state itself is the intensity of each input (clipped to [0, 1])
    elif inputs == "RateCode":
        keys["n_features"] = d
        keys["n_inputs"] = d * draw(st.integers(1, 2))
    elif inputs == "RBFGrid":
        keys["n_dims"] = d
        per_dim = draw(st.integers(2, 3))
        keys["n_inputs"] = per_dim ** d
        low = draw(st.floats(-1.0, 0.0))
        keys["rbf_low"] = low if draw(st.booleans()) else [low] * d
        keys["rbf_high"] = low + draw(st.floats(0.5, 2.0))
    elif inputs == "RBF":
        keys["n_dims"] = d
        keys["n_inputs"] = d * draw(st.integers(2, 3))
        low = draw(st.floats(-1.0, 0.0))
        keys["rbf_low"] = low if draw(st.booleans()) else [low] * d
        keys["rbf_high"] = low + draw(st.floats(0.5, 2.0))
    n_in = keys["n_inputs"]
    if draw(st.booleans(), label="limit input firing steps"):
        keys["input_firing_steps"] = draw(st.integers(1, P))

    # neurons, outputs, readout
    n_outputs = draw(st.integers(max(1, n_actions), max(1, n_actions) + 2))
    N = draw(st.integers(n_outputs, n_outputs + 3))
    keys.update(n_neurons=N, n_outputs=n_outputs)
    readout = chosen["readout"]
    if readout in ("TopAction", "PopulationVector"):
        keys["n_actions"] = n_actions
    elif readout == "NeuronRates":
        keys["n_actions"] = draw(st.sampled_from([n_actions] + [0] * (n_outputs == 1)))
    else:  # Threshold: two of the game's actions
        low_action = draw(st.integers(0, n_actions - 2))
        keys["output_range"] = (low_action, draw(st.integers(low_action + 1, n_actions - 1)))
        keys["action_threshold"] = draw(st.sampled_from(["mean", "median"]) | st.floats(0.0, 0.5))

    # weights
    n = n_in + N
    if chosen["weights"] == "Manual":
        form = draw(st.sampled_from(["shared", "per lane", "layers", "function"]), label="matrix form")
        rng = np.random.default_rng(draw(st.integers(0, 1000)))
        sparse = lambda shape: rng.random(shape) * (rng.random(shape) < 0.7)  # noqa: E731
        if form == "shared":
            keys["matrix"] = sparse((n, N)) * 1.5
        elif form == "per lane":
            keys["matrix"] = sparse((B, n, N)) * 1.5
        elif form == "layers" and N > n_outputs:
            keys["matrix"] = [sparse((n_in, N - n_outputs)) + 0.1, sparse((N - n_outputs, n_outputs)) + 0.1]
        elif form == "layers":
            keys["matrix"] = [sparse((n_in, N)) + 0.1]
        else:
            keys["matrix"] = lambda lane_rng: lane_rng.random((n, N)) * (lane_rng.random((n, N)) < 0.6)
    elif draw(st.booleans(), label="matrix_mask"):
        keys["matrix_mask"] = np.random.default_rng(draw(st.integers(0, 1000))).random((n, N)) < 0.6

    # rewarder
    rewarder = chosen["rewarder"]
    if rewarder in ("MatchExpected", "PoolSpikes"):
        keys["expected_value"] = "the game's expected_value"  # bound to each game in build()
        if rewarder == "PoolSpikes":
            keys["n_actions"] = n_actions
    elif rewarder == "RewardFunction":
        keys["reward_fn"] = any_output_reward
    elif rewarder == "TDCritic":
        keys["critic_code"] = chosen["inputs"]
    elif rewarder == "DelayedReward":
        keys["rewarded_states"] = [1] if game == "logic" else [0.0]
        delay_low = draw(st.integers(1, 2 * P))
        keys["reward_delay"] = (delay_low, draw(st.integers(delay_low, 2 * P + 1)))

    for part in parts.values():
        draw_keys(data, part, B, keys)
    return spec


# -- building and running -------------------------------------------------------------------------------
def member_keys(part_classes: dict) -> set:
    return {name for cls in part_classes.values() for name, key in cls.key_map().items() if key.per_member}


def lane_spec(spec: dict, lane: int) -> dict:
    """The configuration of lane ``lane`` alone: per-lane values picked, seeds as the batch gives that lane."""
    per_lane = member_keys(spec["parts"])
    keys = {}
    for name, value in spec["keys"].items():
        if name in per_lane and isinstance(value, list):
            value = value[lane]
        elif name == "matrix" and isinstance(value, np.ndarray) and value.ndim == 3:
            value = value[lane:lane + 1]
        keys[name] = value
    return {**spec, "keys": keys, "B": 1, "seed": spec["seed"] + lane, "game_seed": spec["game_seed"] + lane}


def build(spec: dict) -> tuple:
    """(network, game) of ``spec``; a rewarder that judges by label gets the game's own labels."""
    game = make_game(spec, spec["B"], spec["game_seed"])
    keys = dict(spec["keys"])
    if "expected_value" in keys:
        keys["expected_value"] = game.expected_value
    network = spec["network"](parts=spec["parts"], keys=keys, batch_size=spec["B"], seed=spec["seed"],
                              dtype=spec["dtype"])
    return network, game


def arrays(network) -> dict:
    """(role, name) -> numpy copy of every state array of every part."""
    out = {}
    for role, part in network._parts():
        for name in part.state_names:
            value = getattr(part, name, None)
            if value is not None:
                out[(role, name)] = np.array(network.backend.to_numpy(value), copy=True)
    return out


def documented_shapes(network) -> dict:
    """(role, name) -> shape the parts' docstrings give their state (B the batch axis)."""
    B, n_in, N = network.batch_size, network.n_inputs, network.n_neurons
    n = n_in + N
    shapes = {("inputs", "polarities"): (B, n_in)}
    shapes.update({("neurons", name): (B, N) for name in ("potential", "refractory", "polarities", "fired",
                                                          "theta_adapt", "recovery")})
    shapes[("neurons", "delay_line")] = (network.neurons.params["spike_delay"], B, N)
    shapes.update({("synapses", "pre_trace"): (B, n), ("synapses", "post_trace"): (B, N),
                   ("synapses", "eligibility_sum"): (B, n, N), ("synapses", "trace"): (B, n, N),
                   ("synapses", "reward_trace"): (B,)})
    if "stdp_window" in network.synapses.params:
        shapes[("synapses", "history")] = (B, network.synapses.params["stdp_window"] - 1, n)
    weights = network.weights
    # one matrix for all lanes only when nothing learns, the lanes start alike and share one bound
    shared = not network.synapses.plastic and not weights.draws_per_lane() and np.ndim(weights.initial) == 2 \
        and np.ndim(weights.params["max_weight"]) == 0
    shapes[("weights", "matrix")] = (n, N) if shared else (B, n, N)
    shapes.update({("readout", "rate_sum"): (B,), ("readout", "rate_count"): (B,)})
    if "threshold_window" in network.readout.params:
        shapes[("readout", "rate_history")] = (B, network.readout.params["threshold_window"])
    if network.rewarder is not None and "reward_delay" in network.rewarder.params:
        shapes[("rewarder", "pending")] = (network.rewarder.delay_high + 1, B)
        shapes[("rewarder", "dopamine")] = (B,)
    if network.rewarder is not None:  # the game-reward rewarders: a baseline, a critic over its state code
        shapes.update({("rewarder", "baseline"): (B,), ("rewarder", "ended"): (B,)})
        features = getattr(network.rewarder, "n_features", None)
        if features is not None:
            shapes.update({("rewarder", "critic_weights"): (B, features), ("rewarder", "critic_trace"): (B, features)})
    return shapes


#: State that may legitimately hold NaN: Threshold's 'median' history marks its unused slots with NaN.
NAN_BY_DESIGN = {("readout", "rate_history")}
#: State that reset() keeps: what the network has learned.
LEARNED = {("weights", "matrix"), ("neurons", "theta_adapt"), ("rewarder", "baseline"),
           ("rewarder", "critic_weights")}


def check_state(network) -> None:
    shapes = documented_shapes(network)
    for where, value in arrays(network).items():
        assert where in shapes, f"{where}: state array without a documented shape {value.shape}"
        assert value.shape == shapes[where], f"{where} has shape {value.shape}; documented {shapes[where]}"
        if value.dtype.kind == "f" and where not in NAN_BY_DESIGN:
            assert np.isfinite(value).all(), f"{where} is not finite: {value}"
    weights = network.weights
    W = network.backend.to_numpy(weights.matrix)
    assert W.dtype == np.dtype(network.backend.dtype_name)
    W = W if W.ndim == 3 else W[None]
    bound = np.asarray(weights.params["max_weight"], dtype=W.dtype).reshape(-1)
    bound = np.broadcast_to(bound, (network.batch_size,))
    assert (W >= 0).all(), W.min()
    assert (W <= bound[:W.shape[0], None, None]).all(), (W.max(axis=(1, 2)), bound)
    present = np.broadcast_to(weights.mask_numpy, W.shape)
    assert (W[~present] == 0).all(), "a weight grew where no synapse exists"
    initial = weights.initial
    np.testing.assert_array_equal(np.broadcast_to(weights.mask_numpy, initial.shape), initial != 0)


def play(network, game, steps: int) -> list:
    """Tick network and game together ``steps`` times, checking every step; returns the actions."""
    state, _ = game.reset()
    B, actions = network.batch_size, []
    for step in range(steps):
        action = network.tick(state)
        values = np.asarray(action)
        assert values.shape[0] == B
        for lane in range(B):
            assert game.action_space.contains(np.asarray(values[lane], dtype=game.action_space.dtype)
                                              .reshape(game.action_space.shape)), (lane, values[lane])
        state_next, game_reward, terminated, truncated, _ = game.step(action)
        if network.rewarder is not None:  # as the episode loop calls it: with the game's step results
            reward = np.asarray(network.reward(state, action, state_next, game_reward=game_reward,
                                               terminated=terminated, truncated=truncated))
            assert reward.shape == (B,) and np.isfinite(reward).all(), reward
        actions.append(values.copy())
        state = state_next
        check_state(network)
        length = network.params["spike_log_length"] or network.processing_time
        logged = min((step + 1) * network.processing_time, length)
        log = network.spike_log
        assert log.dtype == bool and log.shape == (B, logged, network.n_inputs + network.n_neurons), log.shape
    return actions


FOCI = sorted({name for names in concrete_parts().values() for name in names}) \
    + [n.__name__ for n in NETWORKS] + list(GAMES)


def test_every_part_and_key_has_a_generator():
    """A part or key added to the library must be added here too, or the suite would silently skip it."""
    offered = {*sum(INPUTS.values(), ()), *NEURONS, *WEIGHTS, *SYNAPSES, *sum(READOUTS.values(), ())}
    offered |= {r for n in NETWORKS for g in GAMES for r in rewarders(n, g) if r is not None}
    parts = concrete_parts()
    assert offered == {name for names in parts.values() for name in names}
    for names in parts.values():
        for cls in names.values():
            for key in cls.key_map().values():
                if key.name in STRUCTURAL or key.name == "spike_log_length":
                    continue
                if key.type is not bool:
                    scale_of(key, cls)  # KeyError names a key without a scale


@pytest.mark.parametrize("focus", FOCI)
@settings(max_examples=EXAMPLES_PER_FOCUS, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(data=st.data())
def test_random_valid_configuration_builds_steps_and_keeps_invariants(focus, data):
    spec = configuration(data, focus)
    network, game = build(spec)
    B = spec["B"]
    check_state(network)
    actions = play(network, game, GAME_STEPS)

    # lane b equals a single network (and game) seeded like lane b: here the last lane
    lane = B - 1
    single, single_game = build(lane_spec(spec, lane))
    single_actions = play(single, single_game, GAME_STEPS)
    np.testing.assert_array_equal(np.array(single_actions)[:, 0], np.array(actions)[:, lane])
    np.testing.assert_array_equal(single.spike_log[0], network.spike_log[lane])
    batch_w, single_w = network.weights.matrix, single.weights.matrix
    np.testing.assert_array_equal(single_w[0] if single_w.ndim == 3 else single_w,
                                  batch_w[lane] if batch_w.ndim == 3 else batch_w)

    # reset() restores the dynamic state of a fresh network and keeps what was learned
    learned = {where: value for where, value in arrays(network).items() if where in LEARNED}
    network.reset()
    fresh, _ = build(spec)
    after, initial = arrays(network), arrays(fresh)
    assert after.keys() == initial.keys()
    for where in after:
        if where in LEARNED:
            np.testing.assert_array_equal(after[where], learned[where])
        else:
            np.testing.assert_array_equal(after[where], initial[where], err_msg=str(where))
    assert network.spike_log.shape == (B, 0, network.n_inputs + network.n_neurons) and network.game_step == 0
    assert not np.asarray(network.backend.to_numpy(network.output_counts)).any()

    # eval() freezes weights and adaptive thresholds
    network.eval()
    frozen = {where: value for where, value in arrays(network).items() if where in LEARNED}
    play(network, game, 2)
    for where, value in frozen.items():
        np.testing.assert_array_equal(arrays(network)[where], value, err_msg=f"{where} changed in eval()")



def test_rate_map_array_indexed_by_two_bits_accepts_any_copies():
    """An array (2, 2, m) looked up by two-bit states gives m rates: n_inputs may be any multiple of m
    (it was once sized as if one state axis indexed it, demanding a multiple of 2m)."""
    table = np.array([[[0.0], [1.0]], [[1.0], [0.0]]])  # (2, 2, 1): one rate per two-bit state
    inputs = snn.RateMap(n_inputs=1, state_rate_map=table, batch_size=2)
    inputs.update(np.array([[0, 1], [1, 1]]))
    np.testing.assert_array_equal(inputs(), [[1.0], [0.0]])
    # sizes no state shape can give are refused when the part is built ...
    with pytest.raises(ConfigError, match=r"'n_inputs' = 3 is not a multiple of the rate vector size 4 or 2"):
        snn.RateMap(n_inputs=3, state_rate_map=np.zeros((2, 2, 2)))
    # ... and a size that only some state shapes fit, when states of another shape arrive
    scalar_states = snn.RateMap(n_inputs=2, state_rate_map=np.zeros((3, 2, 2)))
    with pytest.raises(ConfigError, match=r"'n_inputs' = 2 is not a multiple of .* size 4 .* shape \(\)"):
        scalar_states.update(np.array([1]))
