"""The benchmark network: Florian's (2007) XOR topology, 60 inputs -> N - 1 hidden -> 1 output.

The same keys as ``examples/florian_xor.py`` (rate coding, two input groups per
bit at 0.08 spikes per step, LIF neurons with threshold 16 and decay 0.05,
random firing 0.01, 25 % inhibitory hidden neurons, an excitatory output,
Florian's reward at each output spike) with ``processing_time = 500`` as in
the original Spikey notebook, the hidden layer widened to N - 1 neurons. The
weights are stored as one dense ``(60 + N, N)`` matrix per network (inputs to
hidden, hidden to output present; the rest absent), as Spikey stores them.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Sequence

import numpy as np

from spikey.games import Logic
from spikey.snn import LIF, MSTDP, MSTDPET, STDP, ActiveRLNetwork, Manual, RateMap, RewardFunction, Threshold

RULES = {"MSTDP": MSTDP, "MSTDPET": MSTDPET, "STDP": STDP}
N_INPUTS = 60
RATE = 0.08  # spike probability per step of an active input group (40 Hz at 2 ms steps)


def load_example(name: str):
    """The module of ``examples/<name>.py`` (the examples folder is not a package)."""
    path = Path(__file__).resolve().parent.parent / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"examples_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Florian's reward at each output spike and the inputs -> hidden -> output weight draw: the XOR example's own.
_florian = load_example("florian_xor")
florian_reward, two_layer = _florian.florian_reward, _florian.two_layer


def rate_map() -> dict:
    """XOR state -> rates of the four input groups (a=0, a=1, b=0, b=1)."""
    return {(a, b): [RATE * (a == 0), RATE * (a == 1), RATE * (b == 0), RATE * (b == 1)]
            for a in (0, 1) for b in (0, 1)}


def keys(n_neurons: int, rule: str = "MSTDP", processing_time: int = 500) -> dict:
    """Key values of the benchmark network with N = ``n_neurons`` body neurons."""
    values = dict(
        n_inputs=N_INPUTS, n_neurons=n_neurons, n_outputs=1, processing_time=processing_time,
        state_rate_map=rate_map(), magnitude=1.0, firing_threshold=16.0, refractory_period=0,
        neuron_pct_inhibitory=0.25, prob_rand_fire=0.01, potential_decay=0.05, punish_mult=1.0,
        learning_rate=0.0015, max_weight=5.0, action_threshold="median", reward_fn=florian_reward,
        matrix=two_layer(N_INPUTS, n_neurons - 1, 8.0, 2.0))
    if rule == "MSTDPET":
        values["tau_eligibility"] = 25.0
    return values


def build(n_neurons: int, batch_size: int = 1, rule: str = "MSTDP", backend: str = "numpy",
          device: str = "cpu", dtype: str = "float32", processing_time: int = 500,
          seeds: Sequence[int] | None = None, **overrides) -> tuple[ActiveRLNetwork, Logic]:
    """The XOR network (B lanes) and its game."""
    seeds = list(range(batch_size)) if seeds is None else [int(s) for s in seeds]
    parts = dict(inputs=RateMap, neurons=LIF, weights=Manual, synapses=RULES[rule], readout=Threshold,
                 rewarder=RewardFunction)
    network = ActiveRLNetwork(parts=parts, keys={**keys(n_neurons, rule, processing_time), **overrides},
                              batch_size=batch_size, seed=seeds, backend=backend, device=device, dtype=dtype)
    # balanced input groups (half of each group inhibitory) and an excitatory output
    be = network.backend
    polarity = np.resize(np.r_[np.ones(4), -np.ones(4)], N_INPUTS)
    network.inputs.polarities = be.asarray(np.tile(polarity, (batch_size, 1)))
    body = be.to_numpy(network.neurons.polarities).copy()
    body[:, -1] = 1.0
    network.neurons.polarities = be.asarray(body)
    network.reset()
    return network, Logic("XOR", batch_size=batch_size, seed=seeds)


def play(network, game, ticks: int, state=None):
    """``ticks`` game steps of learning; returns the next state."""
    if state is None:
        state, _ = game.reset()
    for _ in range(ticks):
        action = network.tick(state)
        state_next, *_ = game.step(action)
        network.reward(state, action, state_next)
        state = state_next
    return state
