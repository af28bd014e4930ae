"""Florian (2007) XOR with reward-modulated STDP, rate or temporal coding, batched over seeds.

A 2-layer spiking network (inputs -> 60 hidden -> 1 output) sees one of the
four XOR patterns per game step for ``processing_time`` network steps. Output
spikes are rewarded on true patterns (01, 10) and punished on false ones (00,
11) at the step they occur (ActiveRLNetwork), so the output learns to fire
more on true patterns. Accuracy is measured with learning frozen: the action
is "high" when the output rate is at or above the median of the network's own
recent rates (no labels used: half the XOR patterns are true), compared with XOR.

What makes it learn (each measured on 10 seeds; see the tests):

* MSTDPET, Florian's rule with an eligibility trace: its eligibility sums the
  causal (pre-before-post) and anti-causal pairings over ``tau_eligibility``,
  so chance coincidences cancel and only the synapses that caused rewarded
  spikes grow. Plain MSTDP with reward at the output spikes behaves like a
  Hebbian rule here and learns OR rather than XOR.
* Two input groups per bit (one fires for 0, one for 1), so every pattern
  drives the same number of inputs. With Florian's one group per bit, 00 is
  silent and any adaptive threshold calls it "false" for free: an untrained
  network then scores ~0.6 instead of chance.
* Balanced inputs: in each input group exactly half the neurons are
  inhibitory, so each hidden neuron gets a random excitation/inhibition mix
  from each bit ("a but not a-and-b" detectors exist in every network);
  25 % of the hidden neurons are inhibitory, so the output can learn to be
  silenced by the units that respond to 11. The output neuron is excitatory.
* The learning rate falls linearly to 0 over training (LinearSchedule): at a
  constant rate the output drifts into saturation, where every pattern makes
  it fire at its maximum rate.
* A floor on the output's activity (``SynapticScaling(direction="up")``,
  homeostatic scaling of the output's input weights, ``SCALING``). Reward
  comes only with output spikes, so an output that fires little learns
  little, and the falling learning rate ends its learning before it has
  started. Measured on seeds 0-19 and 100-109 without it: the 25 seeds that
  learned (accuracy 0.87-1.0) grew the output's mean input weight from ~1.0
  to 2.0-3.7 and fire 0.25-0.5 spikes per step on true patterns; the 5 that
  did not (seeds 2, 10, 11, 12, 15; accuracy 0.41-0.64) kept it at 0.9-1.6
  and fire 0.02-0.2 (seed 12 fired 0.017 spikes per step from its first
  episode). The floor scales the output's input weights up, all by one
  factor (what MSTDPET learned is kept), while its running rate is below
  0.1 spikes per step, and never down. The control lanes get it too: it
  cannot make a pattern preferred, so they stay at chance.

Temporal coding (``--coding temporal``) carries each bit in spike *timing*
only: 30 inputs per bit (60 in all, alternating +/- polarity), and every
input fires exactly the same number of spikes (16 per game step, the rate
case's 0.08 per step) whatever the bit's value. Per seed, a fixed set of 16
"volley" steps is drawn once; for the value v of a bit, half v of that bit's
inputs (pairs of inputs: 16 or 14, both polarities) fires all its spikes
together in the volleys, and the other half fires its 16 spikes at fixed
random steps (drawn once per seed and value). The spike counts, hence the
rates, of every input are the same for 0 and 1; only which inputs fire in
synchrony tells the values apart. Both bits share the volley steps, so a
pattern's synchronous inputs (e.g. a's half 0 with b's half 1) reach the
hidden layer together and hidden neurons can learn conjunctions of them, as
the rate code's active groups do. All other keys are the rate-coded recipe's.
Measured with the defaults (seeds 0-9 and their controls in one batch): 9/10
seeds learned, median accuracy 0.94 [0.89, 0.99], control 0.48; seeds 10-19:
9/10, median 0.94; seeds 100-109: 10/10, median 0.97. Rate coding, the same
sets: 10/10 each, medians 0.95, 0.97, 0.95 (control, seeds 0-9: 0.535).
``--temporal-code random`` instead gives each value independent random spike
times with equal per-input counts (no synchrony), Florian's own setting: that
code does not learn with this recipe (seeds 0-9, with the homeostatic floor:
median 0.575, none above 0.75, measured), because every input then drives
every pattern alike and the differences are chance coincidences.

Reference: R. V. Florian, Neural Computation 19 (2007), section 4 (XOR).

Run ``python examples/florian_xor.py --help``; ``--quick`` is the short
version the README runs (8 seeds + 8 controls, 800 training game steps at a
higher learning rate; measured: 8/8 learned, median 0.93 against the
control's 0.48, 55 s of user CPU time on a shared 2-core machine).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from spikey.experiment import run_episodes
from spikey.games import Logic, xor_gate
from spikey.snn import (LIF, MSTDP, MSTDPET, ActiveRLNetwork, LinearSchedule, Manual, RateMap,
                        RewardFunction, StaticMap, SynapticScaling, Threshold)

RULES = {"MSTDP": MSTDP, "MSTDPET": MSTDPET}


def florian_reward(state, fired, state_next, params):
    """+reward_mult for an output spike on a true pattern, -punish_mult on a false one, 0 otherwise."""
    return np.where(xor_gate(state) == 1, np.asarray(params["reward_mult"]),
                    -np.asarray(params["punish_mult"])) * fired


def two_layer(n_inputs: int, n_hidden: int, input_scale: float, hidden_scale: float):
    """f(rng) -> (n_inputs + n_hidden + 1, n_hidden + 1): inputs -> hidden -> one output."""
    def generate(rng: np.random.Generator) -> np.ndarray:
        matrix = np.zeros((n_inputs + n_hidden + 1, n_hidden + 1))
        matrix[:n_inputs, :n_hidden] = rng.uniform(0, input_scale, (n_inputs, n_hidden))
        matrix[n_inputs:n_inputs + n_hidden, n_hidden] = rng.uniform(0, hidden_scale, n_hidden)
        return matrix
    return generate


def balanced_polarities(n_inputs: int, n_groups: int = 2) -> np.ndarray:
    """(n_inputs,) +1/-1 with half of each interleaved input group inhibitory (rounded down).

    RateMap gives input k the rate of group ``k % n_groups``; the pattern
    + (n_groups times), - (n_groups times), repeated, makes every group half
    excitatory, half inhibitory.
    """
    block = np.r_[np.ones(n_groups), -np.ones(n_groups)]
    return np.resize(block, n_inputs)


def rate_coded_keys() -> dict:
    """Keys of the rate-coded experiment: 60 inputs in four interleaved groups, two per bit.

    Each bit drives one of its two groups at 0.08 spikes per step (40 Hz at
    2 ms steps in Florian's terms): "a=0" / "a=1" / "b=0" / "b=1". Every pattern
    thus drives 30 inputs, so no pattern is told apart by silence.
    """
    rate = 0.08
    state_rate_map = {(a, b): [rate * (a == 0), rate * (a == 1), rate * (b == 0), rate * (b == 1)]
                      for a in (0, 1) for b in (0, 1)}
    return dict(
        n_inputs=60, n_neurons=61, n_outputs=1, processing_time=200, state_rate_map=state_rate_map,
        magnitude=1.0, firing_threshold=16.0, refractory_period=0, neuron_pct_inhibitory=0.25,
        prob_rand_fire=0.01, potential_decay=0.05, punish_mult=1.0, learning_rate=0.0015,
        tau_eligibility=25.0, max_weight=5.0, action_threshold="median", reward_fn=florian_reward,
        matrix=two_layer(60, 60, 8.0, 2.0))


def equal_count_trains(rng: np.random.Generator, steps: int, n_inputs: int, rate: float) -> np.ndarray:
    """(2, steps, n_inputs) 0/1: two fixed spike trains per input with the same spike count.

    Input i fires k_i ~ Binomial(steps, rate) spikes in both trains, at
    independent uniformly random steps, so the two trains differ only in timing.
    """
    counts = rng.binomial(steps, rate, n_inputs)
    ranks = rng.random((2, steps, n_inputs)).argsort(axis=1).argsort(axis=1)  # a random order per train
    return (ranks < counts).astype(float)


def synchrony_trains(rng: np.random.Generator, volleys: np.ndarray, steps: int, n_inputs: int) -> np.ndarray:
    """(2, steps, n_inputs) 0/1: for value v, half v of the inputs fires in the volleys, half 1-v scattered.

    Every input fires ``len(volleys)`` spikes in both trains. Half 0 is the
    inputs whose pair index ``i // 2`` is even (so it holds both polarities of
    the alternating +/- inputs), half 1 the rest.
    """
    k = len(volleys)
    half = (np.arange(n_inputs) // 2) % 2
    trains = np.zeros((2, steps, n_inputs))
    for value in (0, 1):
        ranks = rng.random((steps, n_inputs)).argsort(axis=0).argsort(axis=0)
        trains[value] = ranks < k                              # k scattered spikes per input
        trains[value][:, half == value] = 0.0
        trains[value][np.ix_(volleys, np.flatnonzero(half == value))] = 1.0
    return trains


def temporal_spike_map(seeds, steps: int, n_per_bit: int, rate: float, code: str = "synchrony"):
    """f(states (B, 2)) -> (B, steps, 2 * n_per_bit): each lane's fixed spike trains for (a, b).

    Lane b draws, from its own seed, two trains (for 0 and 1) for the
    ``n_per_bit`` inputs of bit a and two for the inputs of bit b.
    """
    trains = []
    for seed in seeds:
        rng = np.random.default_rng([int(seed), 2007])
        if code == "synchrony":
            volleys = np.sort(rng.choice(steps, int(round(rate * steps)), replace=False))
            trains.append(np.stack([synchrony_trains(rng, volleys, steps, n_per_bit) for _ in range(2)]))
        else:
            trains.append(np.stack([equal_count_trains(rng, steps, n_per_bit, rate) for _ in range(2)]))
    trains = np.stack(trains)                                  # (B, bit, value, T, n_per_bit)
    lanes = np.arange(len(trains))

    def spike_map(states: np.ndarray) -> np.ndarray:
        states = np.asarray(states, dtype=int)
        return np.concatenate([trains[lanes, 0, states[:, 0]], trains[lanes, 1, states[:, 1]]], axis=-1)
    spike_map.trains = trains
    return spike_map


def temporal_keys(seeds=(0,), n_per_bit: int = 30, rate: float = 0.08, code: str = "synchrony") -> dict:
    """Keys of the temporally coded experiment: 2 x ``n_per_bit`` inputs, each bit a pair of spike trains.

    Bit a drives inputs 0..n_per_bit-1 and bit b the next ``n_per_bit``; each
    bit value is a fixed spike train pattern (drawn once per seed) in which
    every input fires as many spikes for "0" as for "1" (``code``:
    "synchrony" or "random", see the module docstring). ``build`` makes the
    inputs alternately excitatory and inhibitory. Other keys: the rate recipe's.
    """
    if code not in ("synchrony", "random"):
        raise ValueError(f"temporal_keys: code = {code!r}; expected 'synchrony' or 'random'.")
    keys = rate_coded_keys()
    keys.pop("state_rate_map")
    n_inputs = 2 * n_per_bit
    spike_map = temporal_spike_map(seeds, keys["processing_time"], n_per_bit, rate, code)
    return dict(keys, n_inputs=n_inputs, state_spike_map=spike_map, matrix=two_layer(n_inputs, 60, 8.0, 2.0))


#: Homeostatic scaling of the output's input weights (SynapticScaling), upwards only: a floor on the
#: output's rate (spikes per network step), running-rate time constant (game steps), largest relative
#: change per game step.
SCALING = dict(target_rate=0.1, tau=20.0, eta=0.02, direction="up")


def build(coding: str = "rate", seeds=(0,), learning_rate: float | None = None, rule: str = "MSTDPET",
          backend: str = "numpy", anneal_steps: int = 0, temporal_code: str = "synchrony",
          scaling: dict | None = SCALING, **overrides) -> tuple[ActiveRLNetwork, Logic]:
    """The network and XOR game for ``coding`` in {"rate", "temporal"}, one lane per seed.

    ``learning_rate``: one value, or one per lane (e.g. ``[lr] * k + [0] * k``
    with ``seeds`` listed twice: k learning lanes and their controls in one batch).

    ``temporal_code`` ("synchrony" or "random") picks the temporal spike trains.
    ``anneal_steps`` > 0 lowers the learning rate linearly to 0 over that many
    game steps (then holds it at 0); ``overrides`` replace any key.
    """
    seeds = [int(s) for s in seeds]
    keys = rate_coded_keys() if coding == "rate" else temporal_keys(seeds, code=temporal_code)
    inputs = RateMap if coding == "rate" else StaticMap
    if learning_rate is not None:
        keys["learning_rate"] = list(map(float, learning_rate)) if np.ndim(learning_rate) else float(learning_rate)
    if rule != "MSTDPET":
        keys.pop("tau_eligibility")
    keys.update(overrides)
    parts = dict(inputs=inputs, neurons=LIF, weights=Manual, synapses=RULES[rule], readout=Threshold,
                 rewarder=RewardFunction)
    parts["modifiers"] = []
    if anneal_steps:
        parts["modifiers"].append(LinearSchedule("learning_rate", start=keys["learning_rate"], stop=0.0,
                                                 n_steps=anneal_steps))
    if scaling:
        parts["modifiers"].append(SynapticScaling(**scaling))
    network = ActiveRLNetwork(parts=parts, keys=keys, batch_size=len(seeds), seed=seeds, backend=backend)
    # Balanced input groups and an excitatory output (see the module docstring);
    # reset() folds the polarities into the network's signed spike vector.
    be = network.backend
    n_groups = len(next(iter(keys["state_rate_map"].values()))) if coding == "rate" else 1
    network.inputs.polarities = be.asarray(np.tile(balanced_polarities(keys["n_inputs"], n_groups),
                                                   (len(seeds), 1)))
    hidden_and_output = be.to_numpy(network.neurons.polarities).copy()
    hidden_and_output[:, -1] = 1.0
    network.neurons.polarities = be.asarray(hidden_and_output)
    network.reset()
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


PATTERNS = ((0, 0), (0, 1), (1, 0), (1, 1))


def evaluate(network, game, n_steps: int, warmup: int = 32):
    """Accuracy and mean output rates with plasticity off; returns a DataFrame, one row per seed.

    The first ``warmup`` game steps only fill the readout's threshold history
    (the median of the network's own recent rates) and are not scored.
    """
    network.eval()
    run_episodes(network, game, 1, warmup)
    frame = run_episodes(network, game, 1, n_steps, callbacks=[record_rates], reset_network=False)
    network.train()
    frame["rate_true"] /= np.maximum(frame.pop("n_true"), 1)
    frame["rate_false"] /= np.maximum(frame.pop("n_false"), 1)
    # Logic's game reward is 1 for a correct action: its mean is the accuracy
    return frame.drop(columns=["accuracy"], errors="ignore").rename(columns={"game_reward": "accuracy"})


def pattern_rates(network, repeats: int = 10) -> np.ndarray:
    """(B, 4) mean output spikes per network step for the patterns 00, 01, 10, 11, learning off."""
    network.eval()
    rates = np.zeros((network.batch_size, len(PATTERNS)))
    for i, pattern in enumerate(PATTERNS):
        state = np.tile(np.asarray(pattern), (network.batch_size, 1))
        for _ in range(repeats):
            network.tick(state)
            rates[:, i] += network.backend.to_numpy(network.output_counts).mean(axis=1)
    network.train()
    return rates / (repeats * network.processing_time)


def train(network, game, n_episodes: int, len_episode: int, log=print, control=None):
    """Train for ``n_episodes`` x ``len_episode`` game steps; returns the per-episode DataFrame.

    ``control``: (B,) bool, the learning-rate-0 lanes; the log then shows the
    learning lanes' and the control lanes' training accuracy side by side.
    """
    import pandas as pd
    control = np.zeros(network.batch_size, bool) if control is None else np.asarray(control, bool)
    frames = []
    for episode in range(n_episodes):
        curve = run_episodes(network, game, 1, len_episode, callbacks=[record_rates], first_episode=episode)
        curve["rate_true"] /= np.maximum(curve.pop("n_true"), 1)
        curve["rate_false"] /= np.maximum(curve.pop("n_false"), 1)
        curve["control"] = control
        frames.append(curve)
        if log:
            learning = curve[~control]
            shown = (f"{episode:>7} {learning['accuracy'].median():>9.2f} "
                     + (f"{curve[control]['accuracy'].median():>8.2f} " if control.any() else "")
                     + f"{learning['rate_true'].mean():>10.3f} {learning['rate_false'].mean():>11.3f} "
                     f"{curve['wall_time'].iloc[0]:>7.1f}")
            log(shown)
    return pd.concat(frames, ignore_index=True)


def plot(curve, rates, path: str) -> None:
    """Learning curve (output rate on true vs false patterns) and final per-pattern rates, as PNG."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    figure = Figure(figsize=(9, 3.5))
    left, right = figure.subplots(1, 2)
    by_episode = curve.groupby("episode")[["rate_true", "rate_false"]].mean()
    left.plot(by_episode.index, by_episode["rate_true"], label="true patterns (01, 10)")
    left.plot(by_episode.index, by_episode["rate_false"], label="false patterns (00, 11)")
    left.set(xlabel="episode", ylabel="output spikes / step", title="training")
    left.legend()
    positions = np.arange(len(PATTERNS))
    for lane_rates in rates:
        right.plot(positions, lane_rates, "o-", alpha=0.4, color="gray")
    right.plot(positions, np.median(rates, axis=0), "o-", color="black", label="median over seeds")
    right.set_xticks(positions, ["".join(map(str, p)) for p in PATTERNS])
    right.set(xlabel="pattern", ylabel="output spikes / step", title="after training (learning off)")
    right.legend()
    figure.tight_layout()
    from spikey.viz import save
    save(figure, path)


def experiment(coding: str = "rate", seeds=range(10), episodes: int = 15, len_episode: int = 100,
               eval_steps: int = 100, learning_rate: float | None = None, control: bool = True,
               rule: str = "MSTDPET", temporal_code: str = "synchrony", log=print, **overrides) -> dict:
    """Train the seeds (and, with ``control``, a learning-rate-0 copy of each, in the same batch) and evaluate.

    Returns a dict: ``result`` and ``control`` (DataFrames, one row per seed:
    ``seed``, ``accuracy`` with learning off, ``rate_ab`` output spikes per step
    on pattern ab), ``curve`` (per episode and lane, ``control`` column),
    ``report`` (``spikey.analysis.seeds.seed_report`` of the accuracy),
    ``wall_time`` (s) and ``network``.
    """
    from spikey.analysis.seeds import seed_report
    seeds = [int(s) for s in seeds]
    k = len(seeds)
    lr = rate_coded_keys()["learning_rate"] if learning_rate is None else float(learning_rate)
    lanes = seeds + (seeds if control else [])
    is_control = np.r_[np.zeros(k, bool), np.ones(len(lanes) - k, bool)]
    started = time.perf_counter()
    network, game = build(coding, lanes, np.where(is_control, 0.0, lr), rule,
                          anneal_steps=episodes * len_episode, temporal_code=temporal_code, **overrides)
    curve = train(network, game, episodes, len_episode, log=log, control=is_control)
    result = evaluate(network, game, eval_steps)
    rates_by_pattern = pattern_rates(network)
    for i, pattern in enumerate(PATTERNS):
        result[f"rate_{pattern[0]}{pattern[1]}"] = rates_by_pattern[:, i]
    learned, controls = result[~is_control].reset_index(drop=True), result[is_control].reset_index(drop=True)
    report = seed_report("accuracy", learned["accuracy"], controls["accuracy"] if control else None, seeds,
                         bound=None if control else 0.75,
                         bound_reason="" if control else "no control lanes: a fixed bound")
    return dict(result=learned, control=controls, curve=curve, report=report, network=network,
                rates=rates_by_pattern, is_control=is_control, wall_time=time.perf_counter() - started)


#: ``--quick``: the README's main job (seeds, training episodes x game steps, evaluation steps, learning
#: rate): about half the full run's game steps, with a learning rate that gives the same summed rate.
QUICK = dict(seeds=8, episodes=8, len_episode=100, eval_steps=60, learning_rate=0.0025)
#: The reduced run of unit_tests/test_science.py (per seed: training episodes x game steps, evaluation).
SCIENCE = dict(episodes=15, len_episode=100, eval_steps=100)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--coding", choices=("rate", "temporal"), default="rate")
    parser.add_argument("--temporal-code", choices=("synchrony", "random"), default="synchrony",
                        help="temporal spike trains: synchronous half per value, or random timing")
    parser.add_argument("--rule", choices=sorted(RULES), default="MSTDPET")
    parser.add_argument("--seeds", type=int, default=10, help="networks trained together (one per seed)")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds are first-seed .. first-seed + seeds - 1")
    parser.add_argument("--episodes", type=int, default=15, help="training episodes")
    parser.add_argument("--len-episode", type=int, default=100, help="game steps per episode")
    parser.add_argument("--eval-steps", type=int, default=100, help="game steps of the final evaluation")
    parser.add_argument("--learning-rate", type=float, default=None, help="initial learning rate (0: no learning)")
    parser.add_argument("--no-control", action="store_true",
                        help="skip the learning-rate-0 control lanes (same seeds, trained in the same batch)")
    parser.add_argument("--out", default="figures/florian_xor.png", help="figure path (PNG)")
    parser.add_argument("--quick", action="store_true", help="the README's main job: " + ", ".join(
        f"{k.replace('_', ' ')} {v}" for k, v in QUICK.items()))
    args = parser.parse_args(argv)
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    from spikey.analysis.seeds import format_report, result_line
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    lr = rate_coded_keys()["learning_rate"] if args.learning_rate is None else args.learning_rate
    with_control = not args.no_control and lr > 0
    code = f" ({args.temporal_code} code)" if args.coding == "temporal" else ""
    print(f"Florian XOR, {args.coding} coding{code}, {args.rule}: {len(seeds)} seeds"
          f"{f' + {len(seeds)} learning-rate-0 controls' if with_control else ''} batched, "
          f"{args.episodes} x {args.len_episode} game steps")
    print("training: median accuracy over seeds (readout while learning) and the output's mean rates")
    print(f"{'episode':>7} {'accuracy':>9} " + (f"{'control':>8} " if with_control else "")
          + f"{'rate true':>10} {'rate false':>11} {'time s':>7}")
    out = experiment(args.coding, seeds, args.episodes, args.len_episode, args.eval_steps, lr, with_control,
                     args.rule, args.temporal_code)
    print("evaluation (learning off), learning lanes; rate_ab = output spikes/step on pattern ab:")
    columns = ["seed", "accuracy"] + [f"rate_{a}{b}" for a, b in PATTERNS]
    print(out["result"][columns].round(3).to_string(index=False))
    print(format_report(out["report"], digits=2))
    print(f"wall time {out['wall_time']:.1f} s (CPU {time.process_time():.1f} s)")
    plot(out["curve"][~out["curve"]["control"]], out["rates"][~out["is_control"]], args.out)
    print(f"figure: {args.out}")
    print(result_line(out["report"], experiment="florian_xor", coding=args.coding,
                      temporal_code=args.temporal_code if args.coding == "temporal" else None))
    return out


if __name__ == "__main__":
    main()
