"""Learn a gymnasium environment from its own reward: train, evaluate with learning off, compare with controls.

``python examples/gym_rl.py CONFIG`` takes an experiment config whose game is
``GymGame`` (``examples/gym.yaml``, ``examples/cartpole_rl.yaml``) and, with
every seed a lane of one batch:

1. trains the networks for ``--episodes`` episodes (the rewarder sees only the
   environment's reward and terminated/truncated flags);
2. evaluates them with learning off (``network.eval()``: weights and the critic
   frozen) over ``--eval-episodes`` episodes per seed, on environment seeds no
   training episode used (``EVAL_SEED_OFFSET + seed``);
3. evaluates the same episodes under two controls: the untrained networks
   (learning rate 0: their initial weights, frozen) and a uniformly random
   policy (lane b's actions from ``numpy.random.default_rng(seed_b)``).

The metric is the episode's return (the sum of the environment's rewards). The last printed line is ``result: {json}`` with the
per-seed evaluation returns, their median and the controls'.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from spikey.experiment import run_episodes
from spikey.experiment.config import Experiment

#: Evaluation games are seeded with ``EVAL_SEED_OFFSET + seed``: initial states no training episode saw.
EVAL_SEED_OFFSET = 10_000


def load(config: str | Path, seeds, **keys) -> Experiment:
    """The experiment of ``config`` for ``seeds`` with ``keys`` overriding its keys."""
    experiment = Experiment.from_file(config).replace(seeds=[int(s) for s in seeds])
    return experiment.with_keys(keys) if keys else experiment


def play(network, game, n_episodes: int, len_episode: int, first_episode: int = 0) -> pd.DataFrame:
    """``run_episodes`` rows plus ``return``, the episode's summed environment reward.

    ``game_reward`` is the mean over the lane's live steps, so the return is it times ``length``.
    """
    frame = run_episodes(network, game, n_episodes, len_episode, first_episode=first_episode)
    frame["return"] = frame["game_reward"] * frame["length"]
    return frame


def train(network, game, n_episodes: int, len_episode: int, log=print, anneal: bool = False) -> pd.DataFrame:
    """Train ``n_episodes`` episodes (learning on); one row per (episode, lane).

    With ``anneal`` the actor's ``learning_rate`` falls linearly from its configured value to 0
    over the episodes (set at each episode start).
    """
    start = network.synapses.params["learning_rate"]
    frames = []
    for episode in range(n_episodes):
        if anneal:
            network.set_key("learning_rate", start * (1.0 - episode / n_episodes))
        frame = play(network, game, 1, len_episode, first_episode=episode)
        frames.append(frame)
        if log and (episode % 10 == 9 or episode == n_episodes - 1):
            recent = pd.concat(frames[-10:])
            log(f"{episode + 1:>7} {recent['return'].mean():>12.1f} {recent['return'].min():>8.1f} "
                f"{recent['return'].max():>8.1f} {recent['output_rate'].mean():>7.3f}")
    return pd.concat(frames, ignore_index=True)


def evaluation_game(experiment: Experiment):
    """The experiment's game on the evaluation seeds (``EVAL_SEED_OFFSET + seed``)."""
    return experiment.replace(seeds=[EVAL_SEED_OFFSET + s for s in experiment.seeds]).build()[1]


def evaluate(network, experiment: Experiment, n_episodes: int, len_episode: int) -> np.ndarray:
    """``(B,)`` mean return over ``n_episodes`` evaluation episodes with learning off."""
    network.eval()
    try:
        frame = play(network, evaluation_game(experiment), n_episodes, len_episode)
    finally:
        network.train()
    return frame.groupby("lane")["return"].mean().to_numpy()


def random_policy(experiment: Experiment, n_episodes: int, len_episode: int) -> np.ndarray:
    """``(B,)`` mean return of uniformly random discrete actions on the evaluation games."""
    game = evaluation_game(experiment)
    if not hasattr(game.action_space, "n"):
        raise ValueError(f"random_policy: the action space {game.action_space} is not discrete.")
    rngs = [np.random.default_rng(int(s)) for s in experiment.seeds]
    returns = np.zeros((n_episodes, len(rngs)))
    for episode in range(n_episodes):
        game.reset()
        done = np.zeros(len(rngs), dtype=bool)
        for _ in range(len_episode):
            # Only live lanes draw, so a lane's actions do not depend on how long the others last.
            action = np.array([rng.integers(game.action_space.n) if not d else 0 for rng, d in zip(rngs, done)])
            _, reward, terminated, truncated, _ = game.step(action)
            returns[episode] += np.where(done, 0.0, reward)
            done |= terminated | truncated
            if done.all():
                break
    return returns.mean(axis=0)


def main(argv=None, config: str | None = None, description: str | None = None) -> dict:
    parser = argparse.ArgumentParser(description=description or __doc__.split("\n")[0])
    if config is None:
        parser.add_argument("config", help="experiment config whose game is GymGame")
    parser.add_argument("--seeds", type=int, default=10, help="networks trained together, one per seed")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds are first-seed .. first-seed + seeds - 1")
    parser.add_argument("--episodes", type=int, help="training episodes (default: the config's n_episodes)")
    parser.add_argument("--eval-episodes", type=int, default=100, help="evaluation episodes per seed")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key (VALUE in JSON); repeatable")
    parser.add_argument("--anneal", action="store_true",
                        help="learning rate falls linearly to 0 over the training episodes")
    parser.add_argument("--quick", action="store_true", help="3 seeds, 3 episodes, 3 evaluation episodes")
    args = parser.parse_args(argv)
    config = config or args.config
    if args.quick:
        args.seeds, args.episodes, args.eval_episodes = 3, 3, 3
    keys = {}
    for item in args.set:
        name, _, value = item.partition("=")
        try:
            keys[name] = json.loads(value)
        except json.JSONDecodeError:
            keys[name] = value
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    experiment = load(config, seeds, **keys)
    n_episodes = args.episodes if args.episodes is not None else experiment.n_episodes
    len_episode = experiment.len_episode
    started = time.perf_counter()
    network, game = experiment.build()
    print(f"{game.game_name}: {len(seeds)} seeds batched, {n_episodes} training episodes, "
          f"{network.processing_time} network steps per game step, rewarder {type(network.rewarder).__name__}")
    random_returns = random_policy(experiment, args.eval_episodes, len_episode)
    control = evaluate(network, experiment, args.eval_episodes, len_episode)  # lr 0: the initial weights
    print(f"{'episode':>7} {'mean return':>12} {'min':>8} {'max':>8} {'rate':>7}   (last 10 episodes)")
    curve = train(network, game, n_episodes, len_episode, anneal=args.anneal)
    trained = evaluate(network, experiment, args.eval_episodes, len_episode)
    elapsed = time.perf_counter() - started
    table = pd.DataFrame({"seed": seeds, "random": random_returns, "lr-0 control": control, "trained": trained})
    print(f"evaluation: mean return over {args.eval_episodes} episodes per seed, learning off")
    print(table.round(1).to_string(index=False))
    result = {"env": game.game_name, "config": str(config), "seeds": seeds, "training_episodes": n_episodes, "anneal": args.anneal,
              "eval_episodes": args.eval_episodes, "trained": trained.round(2).tolist(),
              "trained_median": float(np.median(trained)), "control": control.round(2).tolist(),
              "control_median": float(np.median(control)), "random": random_returns.round(2).tolist(),
              "random_median": float(np.median(random_returns)), "keys": keys,
              "wall_time_s": round(elapsed, 1)}
    print(f"trained median {result['trained_median']:.1f}; lr-0 control median {result['control_median']:.1f}; "
          f"random policy median {result['random_median']:.1f}; wall time {elapsed:.0f} s")
    print("result: " + json.dumps(result))
    result["curve"] = curve
    return result


if __name__ == "__main__":
    main()
