"""Izhikevich (2007) style conditioning: distal reward through STDP eligibility and dopamine.

Ten stimuli (states) each drive their own group of 10 Poisson inputs for a
5 ms burst at the start of a 1.5 s trial; an output population of 20
Izhikevich regular-spiking neurons (1 ms steps) receives all inputs. The
rewarded stimuli (0, 3, 6, 9) are followed by a dopamine pulse ``D`` ms after
stimulus onset, D drawn at random per trial from 100..1000 ms, long after the
stimulus and its response (within ~25 ms) have ended. Plasticity is MSTDPET,
the dopamine-modulated STDP of Florian (2007) / Izhikevich (2007)::

    c <- c e^{-1/τ_c} + ζ            eligibility per synapse, ζ the STDP pairing term
    d <- d e^{-1/τ_d} + pulses       dopamine (the DelayedReward rewarder)
    W <- W + learning_rate · d · c   every 1 ms network step

An output spike right after the input burst makes ζ > 0 on the synapses
from the burst's inputs; that eligibility is still alive when the dopamine
arrives, so the rewarded stimuli's synapses onto the neurons they made fire
grow, and the response to those stimuli with them. The other stimuli are
credited only by chance, when a later trial's reward reaches their decayed
eligibility. Izhikevich's argument needs rewards sparse relative to τ_c (he
rewarded 1 of 100 stimuli, τ_c = 1 s); with 4 of 10 stimuli rewarded the
chance credit stays small when trials are long against τ_c: here τ_c = 500 ms
and the 1.5 s trial outlasts the longest delay by 2.5 τ_d. Chance credit is
then about 7 % of a rewarded stimulus's own credit.

The output's response to each stimulus (output spikes per neuron in the first
``response_window`` ms of the trial, as a rate in Hz) is measured with
learning off before and after training, on a probe network with short
trials. The seeds and their learning-rate-0 controls are lanes of one batch
(per-member ``learning_rate``), so one run trains all of them.

Spikey's rewarders return one reward per network step (ActiveRLNetwork); a
reward delivered a random number of network steps after a game state's onset
needs a clock and a queue, which ``spikey.snn.DelayedReward`` adds.

Measured (numpy, 2 cores): FULL, 4 seeds + 4 controls, 150 trials: rewarded /
unrewarded response 1.06 -> 6.4 (per seed 5.5-7.2) in ~30 s; controls
0.8 (sampling noise, weights unchanged). FAST (``--quick``, clock scaled
3.3x), seeds 0-7: per seed 4.0-12.1. MSTDP (no trace) learns nothing selective.

Reference: E. M. Izhikevich, "Solving the distal reward problem through
linkage of STDP and dopamine signaling", Cerebral Cortex 17 (2007) 2443-2452.

Run ``python examples/izhikevich_conditioning.py [--quick] [--rule MSTDP] [--out FILE.png]``.
"""
from __future__ import annotations

import argparse
import time
from typing import Any, Sequence

import numpy as np
import pandas as pd

from spikey.experiment import run_episodes
from spikey.games import Game
from spikey.module import Key
from spikey.snn import ActiveRLNetwork, DelayedReward, Izhikevich, Manual, MSTDP, MSTDPET, NeuronRates, Poisson
from spikey.viz import save


# -- the parts this experiment adds ----------------------------------------------------------------
class ConditioningNetwork(ActiveRLNetwork):
    """ActiveRLNetwork that also counts each output neuron's spikes early in every game step.

    ``response`` ``(B,)``: output spikes in the first ``response_window`` network
    steps of the last game step (the stimulus response, before any reward).
    """

    Keys = ActiveRLNetwork.Keys + [
        Key("response_window", "network steps after onset counted as the response", int, default=30,
            range=(1, None)),
    ]

    def reset(self) -> None:
        super().reset()
        self.response = np.zeros(self.batch_size)
        self._step_in_trial = 0

    def tick(self, state: Any) -> Any:
        self.response = np.zeros(self.batch_size)
        self._step_in_trial = 0
        return super().tick(state)

    def step_reward(self, post_outputs: Any) -> Any:
        if self._step_in_trial < self.params["response_window"]:
            self.response += self.backend.to_numpy(post_outputs).sum(axis=1)
        self._step_in_trial += 1
        return super().step_reward(post_outputs)


class RandomStimulus(Game):
    """B streams of stimuli: each game step shows one of ``n_states`` states, ``(B,)`` ints.

    The order is random but balanced: every block of ``n_states`` steps shows
    each state once (a fresh permutation per block and lane). There is no game
    reward; the network's rewarder decides.

    Examples
    --------
    >>> game = RandomStimulus(n_states=3, batch_size=2, seed=0)
    >>> first, _ = game.reset()
    >>> seen = [first] + [game.step(np.zeros(2))[0] for _ in range(2)]
    >>> sorted(np.stack(seen)[:, 0].tolist())
    [0, 1, 2]
    """

    Keys = [Key("n_states", "number of distinct stimuli", int, range=(1, None))]

    def _next(self) -> np.ndarray:
        n = self.params["n_states"]
        for lane, rng in enumerate(self.rngs):
            if not self.queues[lane]:
                self.queues[lane] = list(rng.permutation(n))
        return np.array([queue.pop() for queue in self.queues], dtype=np.int64)

    def reset(self, seed=None, options=None) -> tuple:
        if seed is not None:
            self.seed(seed)
        self.queues = [[] for _ in range(self.batch_size)]
        self.states = self._next()
        return self.states.copy(), {}

    def step(self, action: Any) -> tuple:
        self.states = self._next()
        done = np.zeros(self.batch_size, dtype=bool)
        return self.states.copy(), np.zeros(self.batch_size), done, done.copy(), {}


# -- the experiment ----------------------------------------------------------------------------------
REWARDED = (0, 3, 6, 9)


def conditioning_keys(n_states: int = 10, group_size: int = 10, n_outputs: int = 20, trial_ms: int = 1500,
                      stimulus_ms: int = 5, stimulus_hz: float = 400.0, w_init: float = 1.8,
                      max_weight: float = 8.0, tau_c: float = 500.0, dopamine_tau: float = 200.0,
                      rewarded=REWARDED, delay_ms: tuple = (100, 1000)) -> dict:
    """Keys of the conditioning network (1 ms network steps).

    Inputs: ``n_states`` groups of ``group_size`` Poisson inputs (input i
    belongs to state ``i % n_states``); the shown state's group fires at
    ``stimulus_hz`` for the first ``stimulus_ms`` of each ``trial_ms`` trial,
    all others are silent. Outputs: ``n_outputs`` Izhikevich RS neurons, all
    of them outputs, each receiving every input with weight U(0, w_init); no
    recurrent synapses. STDP window τ± = 20 ms, A+ = A- = 1; eligibility
    ``tau_c``; dopamine decay ``dopamine_tau`` (Izhikevich: 200 ms).

    The trial is longer than the longest delay plus a few ``dopamine_tau``, and
    ``tau_c`` is a third of the trial: a reward then reaches the next trials'
    eligibility only weakly (by chance), while its own trial's pairing is
    still eligible.
    """
    n_inputs = n_states * group_size

    def matrix(rng: np.random.Generator) -> np.ndarray:
        w = np.zeros((n_inputs + n_outputs, n_outputs))
        w[:n_inputs] = rng.uniform(0.0, w_init, (n_inputs, n_outputs))
        return w

    return dict(
        n_inputs=n_inputs, n_neurons=n_outputs, n_outputs=n_outputs, n_actions=1,
        processing_time=trial_ms, response_window=stimulus_ms + 20,
        state_rate_map=np.eye(n_states) * stimulus_hz, dt_ms=1.0, input_firing_steps=stimulus_ms,
        izhikevich_dt=1.0, matrix=matrix, max_weight=max_weight,
        tau_plus=20.0, tau_minus=20.0, a_plus=1.0, a_minus=1.0, tau_eligibility=tau_c,
        rewarded_states=list(rewarded), reward_delay=tuple(delay_ms), dopamine_tau=dopamine_tau,
        reward_mult=1.0)


#: The full experiment: delays up to 1 s (about 30 s on 2 cores with 4 seeds + 4 controls).
FULL = dict(learning_rate=1e-2, trials=150, delay_ms=(100, 1000), presentations=20)
#: The same experiment with its clock scaled down 3.3x (trial 450 ms, delays 30-300 ms,
#: τ_c = 150 ms, τ_d = 60 ms, learning rate x3.3 for the shorter credit window): the
#: stimulus, response and STDP window are unchanged. For tests and --quick.
FAST = dict(learning_rate=3.3e-2, trials=150, delay_ms=(30, 300), presentations=10, trial_ms=450,
            tau_c=150.0, dopamine_tau=60.0)


#: The reduced run of unit_tests/test_science.py: FAST as it is (150 trials, 10 probe presentations).
SCIENCE: dict = {}

RULES = {"MSTDPET": MSTDPET, "MSTDP": MSTDP}


def build(lane_seeds: Sequence[int], learning_rates: Sequence[float], n_states: int = 10,
          rule: str = "MSTDPET", **key_overrides):
    """The batched network and stimulus game: lane b has seed ``lane_seeds[b]``, rate ``learning_rates[b]``.

    ``rule="MSTDP"`` swaps in Florian's rule without an eligibility trace (the
    dopamine then meets only the pairings of its own step): a comparison.
    """
    if rule not in RULES:
        raise ValueError(f"build: rule = {rule!r}; expected one of {sorted(RULES)}.")
    keys = conditioning_keys(n_states=n_states, **key_overrides)
    keys["learning_rate"] = np.asarray(learning_rates, dtype=float)
    if rule == "MSTDP":
        keys.pop("tau_eligibility")
    parts = dict(inputs=Poisson, neurons=Izhikevich, weights=Manual, synapses=RULES[rule],
                 readout=NeuronRates, rewarder=DelayedReward)
    B = len(lane_seeds)
    network = ConditioningNetwork(parts=parts, keys=keys, batch_size=B, seed=list(lane_seeds))
    return network, RandomStimulus(n_states=n_states, batch_size=B, seed=list(lane_seeds))


def group_weights(network, n_states: int) -> np.ndarray:
    """(B, n_states) mean weight from each state's input group onto the outputs."""
    w = network.backend.to_numpy(network.weights.matrix)
    w = np.broadcast_to(w, (network.batch_size,) + w.shape[-2:])[:, :network.n_inputs, :]
    groups = np.arange(network.n_inputs) % n_states
    return np.stack([w[:, groups == s, :].mean(axis=(1, 2)) for s in range(n_states)], axis=1)


class ResponseRecorder:
    """run_episodes callback: sums each lane's response per state (spikes per output neuron)."""

    def __init__(self, batch_size: int, n_states: int):
        self.sums = np.zeros((batch_size, n_states))
        self.counts = np.zeros((batch_size, n_states))

    def __call__(self, record, network, game, step) -> None:
        lanes = np.arange(network.batch_size)
        self.sums[lanes, step["state"]] += network.response / network.n_outputs
        self.counts[lanes, step["state"]] += 1

    def rates_hz(self, window_ms: float) -> np.ndarray:
        """(B, n_states) mean response rate in Hz over the response window."""
        return self.sums / np.maximum(self.counts, 1) / window_ms * 1000.0


def probe_network(network, probe_ms: int = 200, **build_args):
    """A copy of ``network``'s configuration with short trials, for measuring responses.

    Measuring needs only the response window and time for the neurons to
    settle, not the long trials that keep rewards apart; the probe shares the
    seeds and keys and takes the weights at each ``measure`` call.
    """
    probe, game = build(network.seeds, np.zeros(network.batch_size), trial_ms=probe_ms, **build_args)
    return probe.eval(), game


def measure(network, probe, game, n_states: int, presentations: int) -> np.ndarray:
    """(B, n_states) response rates (Hz) of ``network``'s weights, measured on ``probe`` (learning off)."""
    probe.weights.matrix = probe.backend.copy(network.weights.matrix)
    recorder = ResponseRecorder(probe.batch_size, n_states)
    run_episodes(probe, game, 1, presentations * n_states, callbacks=[recorder])
    return recorder.rates_hz(probe.params["response_window"])


def run(seeds: Sequence[int] = (0, 1, 2, 3), learning_rate: float = 1e-2, delay_ms: tuple = (100, 1000),
        trials: int = 150, control: bool = True, presentations: int = 20, n_states: int = 10,
        rewarded=REWARDED, rule: str = "MSTDPET", progress: bool = False, **key_overrides) -> dict:
    """Train the seeds (and, with ``control``, a learning-rate-0 copy of each) and measure responses.

    ``key_overrides`` go to ``conditioning_keys`` (e.g. ``trial_ms``, ``tau_c``,
    ``n_outputs``); ``run(**FAST)`` is the short version; ``rule="MSTDP"`` trains
    without eligibility traces. Responses are
    measured with learning off, ``presentations`` times per state, before and
    after ``trials`` training trials (rounded down to whole blocks of
    ``n_states``). Returns a dict:

    * ``table``: DataFrame, one row per lane and state: ``seed``, ``learning_rate``,
      ``state``, ``rewarded``, ``rate_before``/``rate_after`` (Hz over the response
      window, learning off), ``weight_before``/``weight_after`` (mean group weight);
    * ``summary``: DataFrame, one row per lane: ``ratio_before``/``ratio_after``
      (mean rate on rewarded / on unrewarded states) and the mean rates;
    * ``curve``: DataFrame, one row per lane and training block (``n_states``
      trials) with ``rewarded_rate``/``unrewarded_rate`` (Hz, during training);
    * ``rule``, ``wall_time`` (s) and ``network_steps`` (per lane).
    """
    seeds = [int(s) for s in seeds]
    lane_seeds = seeds + (seeds if control else [])
    rates = [learning_rate] * len(seeds) + ([0.0] * len(seeds) if control else [])
    started = time.perf_counter()
    build_args = dict(n_states=n_states, rewarded=rewarded, delay_ms=delay_ms, **key_overrides)
    network, game = build(lane_seeds, rates, rule=rule, **build_args)
    build_args.pop("trial_ms", None)
    probe, probe_game = probe_network(network, **build_args)
    window = network.params["response_window"]
    weight_before = group_weights(network, n_states)
    rate_before = measure(network, probe, probe_game, n_states, presentations)
    curve = []
    episodes = max(1, trials // n_states)
    for episode in range(episodes):
        recorder = ResponseRecorder(network.batch_size, n_states)
        frame = run_episodes(network, game, 1, n_states, callbacks=[recorder], reset_network=False,
                             first_episode=episode)
        r = recorder.rates_hz(window)
        mask = np.isin(np.arange(n_states), rewarded)
        curve.append(pd.DataFrame({"episode": episode, "lane": np.arange(network.batch_size),
                                   "seed": lane_seeds, "learning_rate": rates,
                                   "rewarded_rate": r[:, mask].mean(axis=1),
                                   "unrewarded_rate": r[:, ~mask].mean(axis=1),
                                   "wall_time": frame["wall_time"].iloc[0]}))
        if progress and (episode % 5 == 4 or episode == episodes - 1):
            learning = np.asarray(rates) > 0
            print(f"trials {(episode + 1) * n_states:4d}: learning lanes respond "
                  f"{r[learning][:, mask].mean():5.2f} Hz "
                  f"to rewarded, {r[learning][:, ~mask].mean():5.2f} Hz to unrewarded stimuli "
                  f"({frame['wall_time'].iloc[0]:.2f} s per block)")
    rate_after = measure(network, probe, probe_game, n_states, presentations)
    weight_after = group_weights(network, n_states)
    B = network.batch_size
    table = pd.DataFrame({
        "lane": np.repeat(np.arange(B), n_states), "seed": np.repeat(lane_seeds, n_states),
        "learning_rate": np.repeat(rates, n_states), "state": np.tile(np.arange(n_states), B),
        "rewarded": np.tile(np.isin(np.arange(n_states), rewarded), B),
        "rate_before": rate_before.ravel(), "rate_after": rate_after.ravel(),
        "weight_before": weight_before.ravel(), "weight_after": weight_after.ravel()})
    return dict(table=table, summary=summarize(table), curve=pd.concat(curve, ignore_index=True), rule=rule,
                wall_time=time.perf_counter() - started,
                network_steps=episodes * n_states * network.processing_time
                + 2 * presentations * n_states * probe.processing_time)


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Per lane: mean rates on rewarded and unrewarded states before/after and their ratios."""
    rows = []
    for lane, lane_rows in table.groupby("lane"):
        on, off = lane_rows[lane_rows["rewarded"]], lane_rows[~lane_rows["rewarded"]]
        first = lane_rows.iloc[0]
        row = dict(lane=lane, seed=first["seed"], learning_rate=first["learning_rate"])
        for phase in ("before", "after"):
            row[f"rewarded_{phase}"] = on[f"rate_{phase}"].mean()
            row[f"unrewarded_{phase}"] = off[f"rate_{phase}"].mean()
            row[f"ratio_{phase}"] = row[f"rewarded_{phase}"] / max(row[f"unrewarded_{phase}"], 1e-9)
        rows.append(row)
    return pd.DataFrame(rows)


def plot(result: dict, out: str) -> None:
    """Save the figure: responses per state before/after (learning, control), weights, learning curve."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table, curve = result["table"], result["curve"]
    fig, axes = plt.subplots(1, 4, figsize=(18, 4))
    top = 1.1 * table.groupby(["learning_rate", "state"])[["rate_before", "rate_after"]].mean().max().max()
    for ax, learning, title in ((axes[0], True, f"{result.get('rule', 'MSTDPET')} + delayed dopamine"),
                                (axes[1], False, "control (learning rate 0)")):
        part = table[(table["learning_rate"] > 0) == learning]
        if part.empty:
            ax.set_visible(False)
            continue
        per_state = part.groupby("state")[["rate_before", "rate_after"]].mean()
        states = per_state.index.to_numpy()
        rewarded = part.groupby("state")["rewarded"].first().to_numpy()
        ax.bar(states - 0.2, per_state["rate_before"], 0.4, color="0.75", label="before")
        ax.bar(states + 0.2, per_state["rate_after"], 0.4, color=np.where(rewarded, "C3", "C0"),
               label="after (red: rewarded, blue: not)")
        ax.set_xticks(states)
        ax.set_ylim(0, top)
        ax.set_xlabel("stimulus (state)")
        ax.set_ylabel("output response (Hz, mean over seeds)")
        ax.set_title(title)
        ax.legend(fontsize=8, loc="upper left")
    ax = axes[2]
    change = table.assign(change=table["weight_after"] - table["weight_before"],
                          learning=table["learning_rate"] > 0)
    for offset, learning, color, label in ((-0.2, True, "C3", "learning"), (0.2, False, "0.5", "control")):
        part = change[change["learning"] == learning]
        if part.empty:
            continue
        stats = part.groupby("state")["change"].agg(["mean", "std"])
        ax.bar(stats.index + offset, stats["mean"], 0.4, yerr=stats["std"].fillna(0), color=color,
               label=label)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(sorted(table["state"].unique()))
    ax.set_xlabel("stimulus (state)")
    ax.set_ylabel("change of mean weight, group -> outputs")
    ax.set_title("weight change (mean, sd over seeds)")
    ax.legend(fontsize=8)
    ax = axes[3]
    trials = (curve["episode"] + 1) * (table["state"].max() + 1)
    for learning, style in ((True, "-"), (False, ":")):
        part = curve[(curve["learning_rate"] > 0) == learning].assign(trials=trials)
        if part.empty:
            continue
        mean = part.groupby("trials")[["rewarded_rate", "unrewarded_rate"]].mean()
        name = "learning" if learning else "control"
        ax.plot(mean.index, mean["rewarded_rate"], style, color="C3", label=f"rewarded, {name}")
        ax.plot(mean.index, mean["unrewarded_rate"], style, color="C0", label=f"unrewarded, {name}")
    ax.set_xlabel("training trials")
    ax.set_ylabel("response during training (Hz)")
    ax.set_title("learning curve")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, out, dpi=110)
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=4,
                        help="networks trained together (plus as many controls)")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds are first-seed .. first-seed + seeds - 1")
    parser.add_argument("--trials", type=int, default=None, help="training trials")
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--rule", choices=sorted(RULES), default="MSTDPET",
                        help="MSTDP: no eligibility trace, for comparison")
    parser.add_argument("--out", default="figures/izhikevich_conditioning.png", help="figure file (PNG)")
    parser.add_argument("--quick", action="store_true",
                        help="2 seeds, the clock scaled down 3.3x (delays 30-300 ms, 450 ms trials)")
    args = parser.parse_args(argv)
    config = dict(FAST if args.quick else FULL)
    if args.quick:
        args.seeds = min(args.seeds, 2)
    if args.trials is not None:
        config["trials"] = args.trials
    if args.learning_rate is not None:
        config["learning_rate"] = args.learning_rate
    clock = ("trial_ms", "tau_c", "dopamine_tau")
    keys = conditioning_keys(**{k: v for k, v in config.items() if k in clock})
    low, high = config["delay_ms"]
    print(f"Izhikevich (2007) conditioning with {args.rule}: {args.seeds} seeds + {args.seeds} controls "
          f"(learning rate 0) "
          f"batched; {config['trials']} trials of {keys['processing_time']} ms; dopamine {low}-{high} ms "
          f"after states {REWARDED}; τ_c = {keys['tau_eligibility']:g} ms, "
          f"τ_d = {keys['dopamine_tau']:g} ms")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    result = run(seeds, rule=args.rule, progress=True, **config)
    table = result["table"]
    for name, part in (("learning", table[table["learning_rate"] > 0]),
                       ("control", table[table["learning_rate"] == 0])):
        columns = ["rate_before", "rate_after", "weight_before", "weight_after"]
        per_state = part.groupby("state")[columns].mean()
        print(f"{name} (mean over seeds), per state; rates in Hz over the response window:")
        print(per_state.round(2).T.to_string())
    summary = result["summary"]
    print(summary[["seed", "learning_rate", "rewarded_before", "unrewarded_before", "rewarded_after",
                   "unrewarded_after", "ratio_before", "ratio_after"]].round(3).to_string(index=False))
    for name, part in (("learning", summary[summary["learning_rate"] > 0]),
                       ("control", summary[summary["learning_rate"] == 0])):
        print(f"{name}: rewarded/unrewarded response ratio {part['ratio_before'].mean():.2f} -> "
              f"{part['ratio_after'].mean():.2f} (mean over seeds; "
              f"min after {part['ratio_after'].min():.2f})")
    from spikey.analysis.seeds import format_report, result_line, seed_report
    learning, control = summary[summary["lane"] < len(seeds)], summary[summary["lane"] >= len(seeds)]
    report = seed_report("ratio_after", learning["ratio_after"], control["ratio_after"], seeds)
    print("rewarded/unrewarded response ratio after training (learning off):")
    print(format_report(report, digits=2))
    plot(result, args.out)
    print(f"figure: {args.out}; {result['network_steps']} network steps x {len(summary)} lanes "
          f"in {result['wall_time']:.1f} s (CPU {time.process_time():.1f} s)")
    print(result_line(report, experiment="izhikevich_conditioning", rule=args.rule, quick=args.quick))
    return dict(result, out=args.out, report=report)


if __name__ == "__main__":
    main()
