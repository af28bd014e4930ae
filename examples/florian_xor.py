"""Florian (2007) XOR with reward-modulated STDP, rate or temporal coding, batched over seeds.

A 2-layer spiking network (inputs -> 60 hidden -> 1 output) sees one of the
four XOR patterns per game step for ``processing_time`` network steps. Output
spikes are rewarded on true patterns (01, 10) and punished on false ones (00,
11) at the step they occur (ActiveRLNetwork), so the output learns to fire
more on true patterns. Accuracy is measured with learning frozen: the action
is "high" when the output rate is at or above the network's own running mean
rate (no labels used), compared with XOR.

Reference: R. V. Florian, Neural Computation 19 (2007), section 4 (XOR).

Run ``python examples/florian_xor.py --help``; ``--quick`` is the short
version the README runs.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from spikey.experiment import run_episodes
from spikey.games import Logic, xor_gate
from spikey.snn import (LIF, MSTDP, MSTDPET, ActiveRLNetwork, Manual, RateMap, RewardFunction,
                        StaticMap, Threshold)

RULES = {"MSTDP": MSTDP, "MSTDPET": MSTDPET}


def florian_reward(state, fired, state_next, params):
    """+reward_mult for an output spike on a true pattern, -punish_mult on a false one, 0 otherwise."""
    return np.where(xor_gate(state) == 1, params["reward_mult"], -params["punish_mult"]) * fired


def two_layer(n_inputs: int, n_hidden: int, input_scale: float, hidden_scale: float):
    """f(rng) -> (n_inputs + n_hidden + 1, n_hidden + 1): inputs -> hidden -> one output."""
    def generate(rng: np.random.Generator) -> np.ndarray:
        matrix = np.zeros((n_inputs + n_hidden + 1, n_hidden + 1))
        matrix[:n_inputs, :n_hidden] = rng.uniform(0, input_scale, (n_inputs, n_hidden))
        matrix[n_inputs:n_inputs + n_hidden, n_hidden] = rng.uniform(0, hidden_scale, n_hidden)
        return matrix
    return generate


def rate_coded_keys() -> dict:
    """Keys of the rate-coded experiment: 60 inputs (two interleaved groups) at 0 or 40 Hz-equivalent."""
    rate = 0.08  # spikes per network step for a "1" bit
    return dict(
        n_inputs=60, n_neurons=61, n_outputs=1, processing_time=500,
        state_rate_map={(0, 0): [0, 0], (0, 1): [0, rate], (1, 0): [rate, 0], (1, 1): [rate, rate]},
        input_pct_inhibitory=0.5, magnitude=1.0, firing_threshold=16.0, refractory_period=0,
        prob_rand_fire=0.15, potential_decay=0.05, punish_mult=1.0, learning_rate=0.003,
        max_weight=5.0, action_threshold="mean", reward_fn=florian_reward,
        matrix=two_layer(60, 60, 0.2, 0.2))


def temporal_keys(seed: int = 0) -> dict:
    """Keys of the temporally coded experiment: 2 inputs, each bit a fixed 500-step spike train."""
    rng = np.random.default_rng(seed)
    low, high = (rng.random((500, 1)) <= 0.005).astype(float), (rng.random((500, 1)) <= 0.005).astype(float)
    trains = {0: low, 1: high}
    spike_map = {(a, b): np.hstack([trains[a], trains[b]]) for a in (0, 1) for b in (0, 1)}
    return dict(rate_coded_keys(), n_inputs=2, n_neurons=21, state_spike_map=spike_map,
                learning_rate=0.02, matrix=two_layer(2, 20, 0.4, 0.4))


def build(coding: str = "rate", seeds=(0,), learning_rate: float | None = None, rule: str = "MSTDP",
          backend: str = "numpy", **overrides) -> tuple[ActiveRLNetwork, Logic]:
    """The network and XOR game for ``coding`` in {"rate", "temporal"}, one lane per seed."""
    keys = rate_coded_keys() if coding == "rate" else temporal_keys()
    inputs = RateMap if coding == "rate" else StaticMap
    if coding != "rate":
        keys.pop("state_rate_map")
    if learning_rate is not None:
        keys["learning_rate"] = learning_rate
    keys.update(overrides)
    parts = dict(inputs=inputs, neurons=LIF, weights=Manual, synapses=RULES[rule], readout=Threshold,
                 rewarder=RewardFunction)
    seeds = [int(s) for s in seeds]
    network = ActiveRLNetwork(parts=parts, keys=keys, batch_size=len(seeds), seed=seeds, backend=backend)
    return network, Logic("XOR", batch_size=len(seeds), seed=seeds)


def record_rates(record, network, game, step):
    """Callback: output spikes per network step, summed separately for true and false patterns."""
    rate = network.backend.to_numpy(network.output_counts).mean(axis=1) / network.processing_time
    target = xor_gate(step["state"]) == 1
    for name, mask in (("true", target), ("false", ~target)):
        record.setdefault(f"rate_{name}", np.zeros(network.batch_size))
        record.setdefault(f"n_{name}", np.zeros(network.batch_size))
        record[f"rate_{name}"] += np.where(mask, rate, 0.0)
        record[f"n_{name}"] += mask


def evaluate(network, game, n_steps: int):
    """Accuracy and mean output rates with plasticity off; returns a DataFrame, one row per seed."""
    network.eval()
    frame = run_episodes(network, game, 1, n_steps, callbacks=[record_rates])
    network.train()
    frame["rate_true"] /= np.maximum(frame.pop("n_true"), 1)
    frame["rate_false"] /= np.maximum(frame.pop("n_false"), 1)
    return frame.rename(columns={"game_reward": "accuracy"})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--coding", choices=("rate", "temporal"), default="rate")
    parser.add_argument("--rule", choices=sorted(RULES), default="MSTDP")
    parser.add_argument("--seeds", type=int, default=10, help="networks trained together (one per seed)")
    parser.add_argument("--episodes", type=int, default=16, help="training episodes")
    parser.add_argument("--len-episode", type=int, default=50, help="game steps per episode")
    parser.add_argument("--eval-steps", type=int, default=100, help="game steps of the final evaluation")
    parser.add_argument("--learning-rate", type=float, default=None, help="0 gives the no-learning control")
    parser.add_argument("--quick", action="store_true", help="4 seeds, 6 episodes of 20 steps")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.episodes, args.len_episode, args.eval_steps = 4, 6, 20, 40
    network, game = build(args.coding, range(args.seeds), args.learning_rate, args.rule)
    print(f"Florian XOR, {args.coding} coding, {args.rule}, {args.seeds} seeds batched, "
          f"{args.episodes} x {args.len_episode} game steps of {network.processing_time} network steps")
    started = time.perf_counter()
    print(f"{'episode':>7} {'accuracy':>9} {'rate true':>10} {'rate false':>11} {'reward':>8} {'time s':>7}")
    for episode in range(args.episodes):
        curve = run_episodes(network, game, 1, args.len_episode, callbacks=[record_rates],
                             first_episode=episode)
        true = (curve["rate_true"] / np.maximum(curve["n_true"], 1)).mean()
        false = (curve["rate_false"] / np.maximum(curve["n_false"], 1)).mean()
        print(f"{episode:>7} {curve['game_reward'].mean():>9.2f} {true:>10.3f} {false:>11.3f} "
              f"{curve['reward'].mean():>8.2f} {curve['wall_time'].iloc[0]:>7.1f}")
    result = evaluate(network, game, args.eval_steps)
    print("evaluation (learning off), per seed:")
    print(result[["seed", "accuracy", "rate_true", "rate_false"]].round(3).to_string(index=False))
    print(f"median accuracy {result['accuracy'].median():.2f}; "
          f"wall time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
