"""CartPole balanced by a reward-modulated spiking network (MSTDP), batched over seeds.

The game is ``spikey.games.CartPole`` with gymnasium's CartPole-v1 failure
bounds (|theta| > 0.2094 rad = 12 degrees or |x| > 2.4 m), all four initial
state variables drawn from U(-0.05, 0.05), and episodes truncated at 500 steps.
A random policy balances for ~22 steps there (measured below, every run).

The network (one per seed, all seeds stepping as one batch):

* Inputs: ``RBF`` place-cell coding, 10 Gaussian receptive fields per state
  variable (x, x_dot, theta, theta_dot; 40 inputs, Bernoulli spikes, up to
  0.5 per network step at a field's centre).
* Outputs: 20 excitatory LIF neurons in two pools of 10, fed by every input
  (initial weights U(0, 1), bounded to [0, 2]), no hidden layer; the pool that
  fires more during the game step's 10 network steps picks the push
  (``TopAction``: pool 0 pushes towards -x, pool 1 towards +x; ties at random).
* Reward (``spikey.snn.reward.cartpole_balance.CartPoleBalance``), once per
  game step, from the two game states only: +1 when the step brought the
  pole's predicted angle ``theta + 0.5 s * theta_dot`` closer to upright, -1
  when it moved it away or the episode failed. This is a shaped, dense
  reward, close to a teacher: the push sets the sign of the change of
  ``theta_dot`` at once, so the reward judges each push, and pushing towards
  the predicted angle's side is itself a controller that balances for the
  500 steps. What the network must find is which inputs should drive which
  pool, from +/-1 alone. How much it leans on the shaping (seeds 0-9, 50
  episodes, median of the per-seed eval means): lookahead 0.5 s: 269 steps;
  1.0 s: 211; 0.25 s: 52; 0.1 s: 38; 0 (the change of |theta| alone, which
  this step's push cannot affect): 20, no better than random. With shorter
  lookaheads the action-independent drift ``tau * theta_dot`` decides the
  reward's sign more often, so the reward says less about the push.
* Plasticity: MSTDP (Florian 2007) in ``RLNetwork``'s deferred mode: the
  STDP pairings of a game step's network steps, times the step's reward,
  ``dW = lr * r * sum_t zeta(t)``. The depression amplitude is half the
  potentiation's (``a_minus = 0.5``): with equal amplitudes the causal and
  anti-causal pairings of the densely firing outputs largely cancel and the
  rule learns less (measured, seeds 0-9: eval median 79 steps instead of 269).
* Learning-rate schedule: ``learning_rate`` falls linearly from 0.002 to 0 over
  the training episodes (set at each episode start). At a constant rate the
  network partly balances by adapting its weights within an episode: its last
  training episodes last ~330 steps (median) but the frozen network it leaves
  reaches 145 (measured, seeds 0-9).

The evaluation freezes the weights (``network.eval()``) and plays 20 episodes
per seed from the same initial states for every policy (the trained networks,
the learning-rate-0 control and the random policy). The control is the same
networks (same seeds, same initial weights) trained the same number of
episodes with learning rate 0. Lanes whose game has ended stop learning
(``run_episodes``).

Measured with ``python examples/cartpole.py`` (seeds 0-9, 50 training
episodes, 20 evaluation episodes per seed; deterministic for given seeds):
random policy 23.4 steps (mean), lr-0 control 13.4 (median over seeds),
trained 268.6 (median; mean 286.5; every seed 198-416), i.e. 11.5x random;
31.9 s wall time on a shared 2-core machine (load average ~4.5). Seeds 10-19,
20-29 and 30-39 (``--first-seed``): trained medians 316.1, 261.2 and 268.1
against random 21.9, 21.1 and 21.2.

Run ``python examples/cartpole.py --help``; ``--quick`` is a short run that
checks the script end to end (it does not learn much).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from spikey.experiment import run_episodes
from spikey.games import CartPole
from spikey.snn import LIF, MSTDP, Manual, RBF, RLNetwork, TopAction
from spikey.snn import CartPoleBalance

#: Game keys: gymnasium's CartPole-v1 failure bounds, initial states and 500-step limit.
GAME_KEYS = dict(x_max=2.4, theta_max=0.2094, x_init_range=(-0.05, 0.05), xdot_init_range=(-0.05, 0.05),
                 theta_init_range=(-0.05, 0.05), thetadot_init_range=(-0.05, 0.05), max_steps=500)
#: Evaluation games are seeded with ``EVAL_SEED_OFFSET + seed``: initial states no training episode saw.
EVAL_SEED_OFFSET = 10_000
N_FIELDS, POOL = 10, 10  # receptive fields per state variable, output neurons per action


def input_to_outputs(n_inputs: int, n_outputs: int, scale: float):
    """f(rng) -> (n_inputs + n_outputs, n_outputs): every input to every output, U(0, scale); no body synapses."""
    def generate(rng: np.random.Generator) -> np.ndarray:
        matrix = np.zeros((n_inputs + n_outputs, n_outputs))
        matrix[:n_inputs] = rng.uniform(0.0, scale, (n_inputs, n_outputs))
        return matrix
    return generate


def network_keys(learning_rate: float = 0.002) -> dict:
    """The network's keys (inputs, LIF outputs, MSTDP, readout, reward); see the module docstring."""
    n_inputs, n_outputs = 4 * N_FIELDS, 2 * POOL
    return dict(
        # RBF fields over [x, x_dot, theta, theta_dot]; centres span the failure bounds / typical speeds
        n_inputs=n_inputs, n_dims=4, rbf_low=[-2.4, -2.0, -0.21, -1.5], rbf_high=[2.4, 2.0, 0.21, 1.5],
        rbf_width=1.0, max_rate=0.5,
        n_neurons=n_outputs, n_outputs=n_outputs, n_actions=2, processing_time=10,
        firing_threshold=4.0, potential_decay=0.2,
        max_weight=2.0, matrix=input_to_outputs(n_inputs, n_outputs, 1.0),
        learning_rate=learning_rate, a_plus=1.0, a_minus=0.5, tau_plus=20.0, tau_minus=20.0,
        reward_mult=1.0, punish_mult=1.0, lookahead=0.5,
        theta_max=GAME_KEYS["theta_max"], x_max=GAME_KEYS["x_max"])


#: Initial MSTDP learning rate.
LEARNING_RATE = 0.002


def build(seeds=range(10), learning_rate: float | list = LEARNING_RATE, backend: str = "numpy",
          **overrides) -> tuple[RLNetwork, CartPole]:
    """B = len(seeds) networks (lane b seeded seeds[b]) and their B training games.

    ``learning_rate``: one value, or one per lane (learning lanes and their
    learning-rate-0 controls in one batch).
    """
    seeds = [int(s) for s in seeds]
    keys = dict(network_keys(0.0), **overrides)
    keys["learning_rate"] = list(map(float, learning_rate)) if np.ndim(learning_rate) else float(learning_rate)
    parts = dict(inputs=RBF, neurons=LIF, weights=Manual, synapses=MSTDP, readout=TopAction,
                 rewarder=CartPoleBalance)
    network = RLNetwork(parts=parts, keys=keys, batch_size=len(seeds), seed=seeds, backend=backend)
    return network, make_game(seeds)


def make_game(seeds, offset: int = 0) -> CartPole:
    """CartPole lanes with the gymnasium-like keys, lane b seeded ``offset + seeds[b]``."""
    seeds = [offset + int(s) for s in seeds]
    return CartPole("DEFAULT", batch_size=len(seeds), seed=seeds, **GAME_KEYS)


def random_policy(seeds, n_episodes: int = 20, max_steps: int = 500) -> np.ndarray:
    """(len(seeds),) mean episode length of uniformly random pushes on the evaluation games.

    Lane b plays the same initial states as the networks' evaluation of seed
    ``seeds[b]``; its pushes come from ``numpy.random.default_rng(seed)``.
    """
    game = make_game(seeds, EVAL_SEED_OFFSET)
    rngs = [np.random.default_rng(int(s)) for s in seeds]
    lengths = np.zeros((n_episodes, len(rngs)))
    for episode in range(n_episodes):
        game.reset()
        done = np.zeros(len(rngs), dtype=bool)
        for _ in range(max_steps):
            # Only live lanes draw, so a lane's pushes do not depend on how long the others last.
            action = np.array([rng.integers(0, 2) if not d else 0 for rng, d in zip(rngs, done)])
            _, _, terminated, truncated, _ = game.step(action)
            lengths[episode] += ~done
            done |= terminated | truncated
            if done.all():
                break
    return lengths.mean(axis=0)


def train(network: RLNetwork, game: CartPole, n_episodes: int, max_steps: int = 500,
          learning_rate: float | None = None, log=print) -> pd.DataFrame:
    """Train ``n_episodes`` episodes; the learning rate falls linearly from ``learning_rate`` to 0.

    Returns ``run_episodes``' per-(episode, lane) rows (``length`` = steps balanced).
    """
    start = np.asarray(network.synapses.params["learning_rate"] if learning_rate is None else learning_rate,
                       dtype=float)
    frames = []
    for episode in range(n_episodes):
        rate = start * (1.0 - episode / n_episodes)
        network.set_key("learning_rate", rate.tolist() if rate.ndim else float(rate))
        frame = run_episodes(network, game, 1, max_steps, first_episode=episode)
        frames.append(frame)
        if log and (episode % 10 == 0 or episode == n_episodes - 1):
            log(f"{episode:>7} {frame['length'].mean():>11.1f} {frame['length'].min():>6.0f} "
                f"{frame['length'].max():>6.0f} {frame['output_rate'].mean():>7.3f}")
    return pd.concat(frames, ignore_index=True)


def evaluate(network: RLNetwork, seeds, n_episodes: int = 20, max_steps: int = 500) -> np.ndarray:
    """(B,) mean episode length over ``n_episodes`` with the weights frozen, on the evaluation games."""
    network.eval()
    frame = run_episodes(network, make_game(seeds, EVAL_SEED_OFFSET), n_episodes, max_steps)
    network.train()
    return frame.groupby("lane")["length"].mean().to_numpy()


def plot(curve: pd.DataFrame, control_curve: pd.DataFrame, result: dict, path: str) -> None:
    """Episode length over training (median and quartiles over seeds) and the evaluation bars, as PNG.

    The bars are medians over seeds; the dots are the seeds' own means.
    """
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    figure = Figure(figsize=(10, 3.8))
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    for frame, label, color in ((curve, "MSTDP", "C0"), (control_curve, "learning rate 0", "C7")):
        by_episode = frame.pivot(index="episode", columns="lane", values="length")
        left.fill_between(by_episode.index, by_episode.quantile(0.25, axis=1), by_episode.quantile(0.75, axis=1),
                          color=color, alpha=0.25, linewidth=0)
        left.plot(by_episode.index, by_episode.median(axis=1), color=color,
                  label=f"{label} (median and quartiles over seeds)")
    left.axhline(result["random_mean"], color="C3", linestyle="--", label="random policy")
    left.set(xlabel="training episode", ylabel="episode length (steps)", title="training")
    left.legend(fontsize=8)
    names = ["random", "lr-0 control", "trained"]
    per_seed = [result["random"], result["control"], result["trained"]]
    right.bar(range(3), [np.median(v) for v in per_seed], color=["C3", "C7", "C0"], alpha=0.6)
    for i, values in enumerate(per_seed):
        right.plot(np.full(len(values), i) + np.linspace(-0.2, 0.2, len(values)), values, "k.", markersize=4)
    right.set_xticks(range(3), names)
    right.set(ylabel="mean episode length (steps)", title="evaluation: 20 episodes per seed, frozen")
    figure.tight_layout()
    from spikey.viz import save
    save(figure, path)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="networks trained together, one per seed")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds are first-seed .. first-seed + seeds - 1")
    parser.add_argument("--episodes", type=int, default=50, help="training episodes")
    parser.add_argument("--eval-episodes", type=int, default=20, help="evaluation episodes per seed")
    parser.add_argument("--max-steps", type=int, default=500, help="steps at which an episode is truncated")
    parser.add_argument("--learning-rate", type=float, default=LEARNING_RATE, help="initial MSTDP learning rate")
    parser.add_argument("--out", default="figures/cartpole.png", help="figure path (PNG)")
    parser.add_argument("--quick", action="store_true", help="3 seeds, 4 episodes, 3 evaluation episodes")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.episodes, args.eval_episodes = 3, 4, 3
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    print(f"CartPole (|theta| <= 12 deg, |x| <= 2.4 m, <= {args.max_steps} steps), {args.seeds} seeds + "
          f"{args.seeds} learning-rate-0 controls batched, {args.episodes} training episodes")
    print(f"{'episode':>7} {'mean length':>11} {'min':>6} {'max':>6} {'rate':>7}   (learning lanes)")
    result = experiment(seeds, args.learning_rate, args.episodes, args.eval_episodes, args.max_steps)
    from spikey.analysis.seeds import format_report, result_line
    table, random_lengths, control, trained = (result[k] for k in ("table", "random", "control", "trained"))
    print(f"evaluation: mean episode length over {args.eval_episodes} episodes per seed, weights frozen")
    print(table.round(1).to_string(index=False))
    print(format_report(result["report"], digits=1))
    print(f"random policy: mean {random_lengths.mean():.1f}; lr-0 control: median {np.median(control):.1f}; "
          f"trained: median {np.median(trained):.1f}, mean {trained.mean():.1f} "
          f"({np.median(trained) / random_lengths.mean():.1f}x random); wall time {result['wall_time']:.1f} s "
          f"(CPU {time.process_time():.1f} s)")
    plot(result["curve"], result["control_curve"], result, args.out)
    print(f"figure: {args.out}")
    print(result_line(result["report"], experiment="cartpole", random_mean=result["random_mean"]))
    return result


def experiment(seeds, learning_rate: float = LEARNING_RATE, episodes: int = 50, eval_episodes: int = 20,
               max_steps: int = 500, log=print) -> dict:
    """Train the seeds and their learning-rate-0 controls as one batch; evaluate both and a random policy.

    Returns a dict: ``random``, ``control``, ``trained`` ((S,) mean evaluation
    episode lengths per seed), their medians/means, ``table``, ``curve`` and
    ``control_curve`` (training rows of the learning and control lanes),
    ``report`` (``spikey.analysis.seeds.seed_report`` of the trained lengths
    against the control's), ``wall_time`` (s).
    """
    from spikey.analysis.seeds import seed_report
    seeds = [int(s) for s in seeds]
    k = len(seeds)
    started = time.perf_counter()
    random_lengths = random_policy(seeds, eval_episodes, max_steps)
    network, game = build(seeds + seeds, [learning_rate] * k + [0.0] * k)
    frame = train(network, game, episodes, max_steps, log=None)
    curve, control_curve = frame[frame["lane"] < k], frame[frame["lane"] >= k].assign(lane=lambda f: f["lane"] - k)
    if log:
        for episode, rows in curve.groupby("episode"):
            if episode % 10 == 0 or episode == episodes - 1:
                log(f"{episode:>7} {rows['length'].mean():>11.1f} {rows['length'].min():>6.0f} "
                    f"{rows['length'].max():>6.0f} {rows['output_rate'].mean():>7.3f}")
    lengths = evaluate(network, seeds + seeds, eval_episodes, max_steps)
    trained, control = lengths[:k], lengths[k:]
    table = pd.DataFrame({"seed": seeds, "random": random_lengths, "control": control, "trained": trained})
    report = seed_report("evaluation length", trained, control, seeds)
    return {"random": random_lengths, "random_mean": float(random_lengths.mean()),
            "control": control, "control_median": float(np.median(control)),
            "trained": trained, "trained_median": float(np.median(trained)),
            "trained_mean": float(trained.mean()), "table": table, "curve": curve.reset_index(drop=True),
            "control_curve": control_curve.reset_index(drop=True), "report": report,
            "wall_time": time.perf_counter() - started}


#: The reduced run of unit_tests/test_science.py.
SCIENCE = dict(episodes=20, eval_episodes=5, max_steps=200)


if __name__ == "__main__":
    main()
