"""The episode loop: B networks against B games, with per-episode metrics.

``run_episodes(network, game, n_episodes, len_episode)`` plays
``n_episodes`` episodes of at most ``len_episode`` game steps each:

    state = game.reset()
    repeat: action = network.tick(state)
            state_next, game_reward, terminated, truncated = game.step(action)
            reward = network.reward(state, action, state_next,  # learning (RL networks)
                                    game_reward=game_reward, terminated=terminated, truncated=truncated)

and returns one DataFrame row per (episode, lane) with the episode's metrics.
"""
from __future__ import annotations

import sys
import time
import warnings
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

#: A callback ``f(record, network, game, step)`` called after every game step of an
#: episode; it may add its own running values to ``record`` (a dict of (B,) arrays).
StepCallback = Callable[[dict, Any, Any, dict], None]


def _check_batch(network: Any, game: Any) -> None:
    if network.batch_size != game.batch_size:
        raise ValueError(f"run_episodes: the network has batch_size {network.batch_size} but the game "
                         f"{game.batch_size}; they must match (one game per network).")


def run_episodes(network: Any, game: Any, n_episodes: int, len_episode: int, *,
                 callbacks: Sequence[StepCallback] = (), progress: bool = False,
                 reset_network: bool = True, first_episode: int = 0,
                 on_episode: Callable[[pd.DataFrame], None] | None = None) -> pd.DataFrame:
    """Play episodes and collect metrics.

    Parameters
    ----------
    network : spikey.snn.Network
        B networks (``network.batch_size``); learns when in train mode.
    game : spikey.games.Game
        B games with the same batch size.
    n_episodes, len_episode : int
        Episodes to play and the maximum game steps per episode. A lane whose
        game terminates stops counting (its ``length`` is recorded); the batch
        continues until every lane is done or ``len_episode`` is reached.
    callbacks : sequence of ``f(record, network, game, step)``
        Called after each game step; ``step`` holds the step's ``state``,
        ``action``, ``reward``, ``game_reward``, ``done`` (B,) arrays and the
        game's ``info`` dict.
    progress : bool
        Show a tqdm progress bar over episodes.
    reset_network : bool
        Clear the network's dynamic state (not its weights) at each episode start.
    first_episode : int
        Number of the first episode (for resumed runs).
    on_episode : callable, optional
        Called with each episode's DataFrame rows as soon as the episode ends.

    Returns
    -------
    pandas.DataFrame
        One row per episode and lane: ``episode``, ``lane``, ``seed``, ``length``
        (game steps played), ``reward`` (mean network reward per step),
        ``game_reward`` (mean game reward per step; accuracy for Logic and
        classification), ``output_rate`` (mean output spikes per output neuron
        per network step), ``weight_mean``, ``weight_std``, ``wall_time`` (s),
        ``accuracy`` (fraction of steps whose ``info["correct"]`` was true, for
        games that report it), ``failed`` (bool: the numerical guard has stopped
        the lane, in this episode or before), plus anything callbacks record.

    Numerical guard: after every game step the network's ``check_finite`` looks
    for NaN or inf in its potentials, weights and traces; a lane where it finds
    any is stopped (one line on stderr naming the episode, step, parts and lane),
    its game counts as ended from that step on (the step itself is not counted)
    and it learns nothing more, in this episode and the following ones. Its rows
    say ``failed = True``; their values (``weight_mean`` may be NaN) describe a
    stopped lane and must not be read as results.
    """
    _check_batch(network, game)
    B = network.batch_size
    episodes: Iterable[int] = range(first_episode, first_episode + n_episodes)
    if progress:
        from tqdm.auto import tqdm
        episodes = tqdm(episodes, desc=type(network).__name__, unit="episode")
    frames = []
    for episode in episodes:
        started = time.perf_counter()
        if reset_network:
            network.reset()
        state, _ = game.reset()
        record: dict[str, np.ndarray] = {"reward": np.zeros(B), "game_reward": np.zeros(B),
                                         "output_spikes": np.zeros(B), "length": np.zeros(B, int)}
        correct = None
        # Lanes the numerical guard stopped (in this run) play no more: their game counts as ended.
        failed = _failed_lanes(network)
        done = failed.copy()
        for _ in range(len_episode if not done.all() else 0):
            # Lanes whose game ended stay frozen: their networks still tick, but must not learn.
            network.learning_lanes = None if not done.any() else ~done
            action = network.tick(state)
            state_next, game_reward, terminated, truncated, info = game.step(action)
            reward = np.asarray(network.reward(state, action, state_next, game_reward=game_reward,
                                               terminated=terminated, truncated=truncated), dtype=float)
            for failure in _guard(network):
                failure["episode"] = episode  # the record kept in network.failures says when, too
                print(f"spikey: episode {episode}: {failure['message']}", file=sys.stderr, flush=True)
            failed = _failed_lanes(network)
            # a lane stopped at this step does not count it: its state is already NaN or inf
            done = done | failed
            live = ~done
            record["reward"] += np.where(live, reward, 0.0)
            record["game_reward"] += np.where(live, np.asarray(game_reward, dtype=float), 0.0)
            counts = network.backend.to_numpy(network.output_counts)
            record["output_spikes"] += np.where(live, counts.sum(axis=1), 0.0)
            record["length"] += live
            if isinstance(info, dict) and info.get("correct") is not None:
                # Games that know right from wrong (classification, Logic) say so per lane.
                correct = np.zeros(B) if correct is None else correct
                correct += np.where(live, np.asarray(info["correct"], dtype=float), 0.0)
            done = done | np.asarray(terminated) | np.asarray(truncated)
            for callback in callbacks:
                callback(record, network, game, {"state": state, "action": action, "reward": reward,
                                                 "game_reward": game_reward, "done": done, "info": info})
            state = state_next
            if done.all():
                break
        network.learning_lanes = None
        if correct is not None:
            record["accuracy"] = correct / np.maximum(record["length"], 1)
        record["failed"] = failed
        frame = _episode_frame(network, episode, record, time.perf_counter() - started)
        if on_episode is not None:
            on_episode(frame)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _guard(network: Any) -> list[dict]:
    """The network's numerical guard (``Network.check_finite``): records of lanes it stopped now."""
    check = getattr(network, "check_finite", None)
    return check() if check is not None else []


def _failed_lanes(network: Any) -> np.ndarray:
    """(B,) bool copy of the lanes the numerical guard has stopped."""
    failed = getattr(network, "failed_lanes", None)
    return np.zeros(network.batch_size, dtype=bool) if failed is None else np.array(failed, dtype=bool)


def _episode_frame(network: Any, episode: int, record: dict, wall_time: float) -> pd.DataFrame:
    B = network.batch_size
    length = np.maximum(record["length"], 1)
    weights = network.backend.to_numpy(network.weights.matrix).reshape(
        (B if network.weights.matrix.ndim == 3 else 1), -1)
    present = network.weights.mask_numpy.reshape(weights.shape[0] if network.weights.mask_numpy.ndim == 3
                                                 else 1, -1)
    masked = np.where(present, weights, np.nan)
    with warnings.catch_warnings():  # a lane the guard stopped may hold only NaN (its rows say failed)
        warnings.simplefilter("ignore", RuntimeWarning)
        weight_mean, weight_std = np.nanmean(masked, axis=1), np.nanstd(masked, axis=1)
    columns = {
        "episode": episode, "lane": np.arange(B), "seed": network.seeds, "length": record["length"],
        "reward": record["reward"] / length, "game_reward": record["game_reward"] / length,
        "output_rate": record["output_spikes"] / length / max(network.n_outputs, 1)
        / network.processing_time,
        "weight_mean": np.broadcast_to(weight_mean, (B,)),
        "weight_std": np.broadcast_to(weight_std, (B,)),
        "wall_time": wall_time,
    }
    for name, values in record.items():
        if name not in ("reward", "game_reward", "output_spikes", "length"):
            columns[name] = values
    return pd.DataFrame(columns)
