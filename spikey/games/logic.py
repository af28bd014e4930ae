"""Logic gates as games: two random bits per step, the action should be the gate's output."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from spikey.games.template import Game
from spikey.module import Key


def and_gate(states: np.ndarray) -> np.ndarray:
    """(B, 2) bits -> (B,) int: a AND b."""
    return (np.asarray(states)[:, 0] & np.asarray(states)[:, 1]).astype(int)


def or_gate(states: np.ndarray) -> np.ndarray:
    """(B, 2) bits -> (B,) int: a OR b."""
    return (np.asarray(states)[:, 0] | np.asarray(states)[:, 1]).astype(int)


def xor_gate(states: np.ndarray) -> np.ndarray:
    """(B, 2) bits -> (B,) int: a XOR b."""
    return np.asarray(states).sum(axis=1) % 2


def truth_table(table: dict) -> Callable[[np.ndarray], np.ndarray]:
    """A gate from a user truth table ``{(a, b): output}``."""
    lookup = {tuple(int(v) for v in k): int(out) for k, out in table.items()}

    def gate(states: np.ndarray) -> np.ndarray:
        return np.array([lookup[tuple(int(v) for v in s)] for s in np.asarray(states)])
    return gate


class Logic(Game):
    """B logic-gate games: each step shows two random bits (B, 2); action (B,) in {0, 1}.

    The reward returned by ``step`` is 1 where the action equals the gate's
    output for the shown bits, else 0 (``info["correct"]`` holds the same as
    bools, ``info["expected"]`` the gate's outputs). Episodes never terminate
    (use the experiment's episode length). Presets: ``"AND"``, ``"OR"``,
    ``"XOR"``; a user table goes in ``expected_value=truth_table({...})``.

    Spaces (one lane): ``observation_space = MultiBinary(2)`` (observations are
    int64 0/1), ``action_space = Discrete(2)`` (bools are accepted too).

    Examples
    --------
    >>> game = Logic("XOR", batch_size=3, seed=0)
    >>> states, info = game.reset()
    >>> states.shape, game.observation_space, game.action_space
    ((3, 2), MultiBinary(2), Discrete(2))
    >>> _, reward, terminated, truncated, info = game.step(xor_gate(states))
    >>> reward.tolist(), info["correct"].tolist(), bool(terminated.any())
    ([1.0, 1.0, 1.0], [True, True, True], False)
    """

    PRESETS = {"AND": {"expected_value": and_gate}, "OR": {"expected_value": or_gate},
               "XOR": {"expected_value": xor_gate}}
    Keys = [Key("expected_value", "f(states (B, 2)) -> correct actions (B,)", callable)]
    n_states = 4
    state_names = ("states",)

    def __init__(self, preset: str | None = "XOR", **kwargs: Any):
        self.states = None
        super().__init__(preset, **kwargs)

    def derive(self) -> None:
        from gymnasium import spaces
        self.observation_space = spaces.MultiBinary(2)
        self.action_space = spaces.Discrete(2)

    @property
    def expected_value(self) -> Callable:
        return self.params["expected_value"]

    def _draw(self) -> np.ndarray:
        return np.stack([rng.random(2) < 0.5 for rng in self.rngs]).astype(np.int64)

    def _reset(self, options: dict) -> tuple:
        self._no_options(options)
        self.states = self._draw()
        return self.states.copy(), {}

    def _step(self, action: np.ndarray) -> tuple:
        expected = np.asarray(self.expected_value(self.states)).astype(np.int64)
        correct = action == expected
        self.states = self._draw()
        done = np.zeros(self.batch_size, dtype=bool)
        return self.states.copy(), correct.astype(float), done, done.copy(), \
            {"correct": correct, "expected": expected}
