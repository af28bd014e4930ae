"""The Game API: B games that step together, in gymnasium's terms.

``reset(seed=None, options=None) -> (observations, info)`` and
``step(actions) -> (observations, rewards, terminated, truncated, info)``,
with a leading batch axis B on every array: observations ``(B, ...)``,
actions ``(B,)`` or ``(B, ...)``, rewards ``(B,)`` float, terminated and
truncated ``(B,)`` bool. Games declare their Keys like network parts, so one
flat config carries game and network keys together.

Spaces describe ONE lane, like a gymnasium vector env's
``single_observation_space``/``single_action_space`` (which are offered as
aliases): ``game.observation_space.shape == observations.shape[1:]``.

A variant implements ``_reset(options)`` and ``_step(actions)``; the template's
``reset`` reseeds when given a seed, and its ``step`` refuses a step before
the first reset and validates the actions against ``action_space`` (shape
``(B,) + action_space.shape``, values inside the space) before ``_step`` sees
them, so every game rejects bad actions with the same, named errors.
"""
from __future__ import annotations

import copy
from typing import Any, Sequence

import numpy as np

from spikey.backend import lane_generators, lane_seeds
from spikey.module import Module


def to_numpy_action(action: Any) -> Any:
    """A numpy view of a numpy/torch/list action batch (torch tensors leave their device)."""
    if hasattr(action, "detach") and hasattr(action, "cpu"):
        action = action.detach().cpu().numpy()
    if isinstance(action, dict):
        return {k: to_numpy_action(v) for k, v in action.items()}
    if isinstance(action, tuple):
        return tuple(to_numpy_action(v) for v in action)
    return np.asarray(action)


def _lanes_text(values: np.ndarray, lanes: np.ndarray, what: str = "action", limit: int = 5) -> str:
    """'action 2 in lane 1' / 'actions [2, -1] in lanes [1, 3]' (at most ``limit`` shown)."""
    shown = lanes[:limit]
    more = f" (and {len(lanes) - limit} more)" if len(lanes) > limit else ""
    if len(lanes) == 1:
        value = values[shown[0]]
        value = value.tolist() if hasattr(value, "tolist") else value
        return f"{what} {value!r} in lane {int(shown[0])}"
    return f"{what}s {[values[i].tolist() for i in shown]} in lanes {shown.tolist()}{more}"


class Game(Module):
    """Template for batched games.

    Parameters
    ----------
    preset : str, optional
        Name of an entry of ``PRESETS``, applied under the explicit config.
    batch_size : int, default 1
        B, the number of games stepping together.
    seed : int or sequence of B ints, default 0
        Lane seeds; lane b of a batch seeded with s behaves like a single game seeded with s + b.
    strict : bool, default True
        Reject config entries this game does not declare.
    **config
        Key values.

    Attributes
    ----------
    observation_space, action_space : gymnasium.spaces.Space or None
        One lane's spaces (set by the variant in ``derive``); ``single_observation_space``
        and ``single_action_space`` are aliases. None means "not described": actions
        are then passed on unchecked.
    seeds : (B,) int64
        The lane seeds.
    rngs : list of B numpy Generators
        One per lane, seeded from ``seeds`` (the game's only randomness).

    Examples
    --------
    A variant declares its spaces in ``derive`` and implements ``_reset``/``_step``:

    >>> import numpy as np
    >>> from gymnasium import spaces
    >>> class Echo(Game):
    ...     # one random number per lane; reward 1 for action 1
    ...     def derive(self):
    ...         self.observation_space = spaces.Box(0.0, 1.0, (1,), np.float64)
    ...         self.action_space = spaces.Discrete(2)
    ...     def _draw(self):
    ...         return np.array([[rng.random()] for rng in self.rngs])
    ...     def _reset(self, options):
    ...         return self._draw(), {}
    ...     def _step(self, action):
    ...         done = np.zeros(self.batch_size, bool)
    ...         return self._draw(), (action == 1).astype(float), done, done.copy(), {}
    >>> game = Echo(batch_size=2, seed=0)
    >>> observations, info = game.reset()
    >>> observations.shape, game.single_observation_space.shape
    ((2, 1), (1,))
    >>> game.step(np.array([1, 0]))[1].tolist()
    [1.0, 0.0]
    >>> game.step(np.array([1, 2]))
    Traceback (most recent call last):
    ...
    ValueError: Echo.step: action 2 in lane 1 is outside the action space Discrete(2); expected integers 0 <= a < 2.
    """

    namespace = "game"
    #: Named key presets (e.g. Logic's "XOR"), applied under the explicit config.
    PRESETS: dict = {}
    #: Attributes (besides seeds and RNG states) that ``state_dict`` saves.
    state_names: tuple = ()
    observation_space: Any = None
    action_space: Any = None

    def __init__(self, preset: str | None = None, *, batch_size: int = 1,
                 seed: int | Sequence[int] | None = 0, strict: bool = True, **config: Any):
        if preset is not None:
            if preset not in self.PRESETS:
                raise ValueError(f"{type(self).__name__}: unknown preset {preset!r}; expected one of "
                                 f"{sorted(self.PRESETS)}.")
            config = {**self.PRESETS[preset], **config}
        self.preset = preset
        super().__init__(batch_size=batch_size, strict=strict, **config)
        self._started = False
        self.seed(seed)
        self.derive()

    @property
    def game_name(self) -> str:
        """How errors name this game (the class name; GymGame adds its env)."""
        return type(self).__name__

    # -- spaces ------------------------------------------------------------------------------------
    @property
    def single_observation_space(self) -> Any:
        """Alias of ``observation_space`` (one lane's), gymnasium vector-env spelling."""
        return self.observation_space

    @property
    def single_action_space(self) -> Any:
        """Alias of ``action_space`` (one lane's), gymnasium vector-env spelling."""
        return self.action_space

    # -- seeding -----------------------------------------------------------------------------------
    def seed(self, seed: int | Sequence[int] | None) -> None:
        """Reseed every lane: an int s gives lane b the seed s + b (``seed=0`` seeds too).

        A sequence gives one seed per lane; None draws fresh entropy.
        """
        self.seeds = lane_seeds(seed, self.batch_size)
        self.rngs = lane_generators(self.seeds, "game")

    # -- the API -------------------------------------------------------------------------------------
    def reset(self, seed: int | Sequence[int] | None = None, options: dict | None = None) -> tuple:
        """Start new episodes in every lane (or in ``options["reset_mask"]``'s lanes, where supported).

        Parameters
        ----------
        seed : int or sequence of B ints, optional
            Reseed first (as ``seed(seed)``); None continues the lanes' random streams.
        options : dict, optional
            Game-specific options.

        Returns
        -------
        observations : (B, ...) array
        info : dict
        """
        if seed is not None:
            self.seed(seed)
        observations, info = self._reset(dict(options or {}))
        self._started = True
        return observations, info

    def step(self, action: Any) -> tuple:
        """Advance every lane by one step.

        Parameters
        ----------
        action : (B,) or (B, ...) array (numpy, torch or a list)
            One action per lane, inside ``action_space``.

        Returns
        -------
        observations : (B, ...) array
        rewards : (B,) float64
        terminated, truncated : (B,) bool
        info : dict
        """
        if not self._started:
            raise RuntimeError(f"{self.game_name}.step called before reset().")
        return self._step(self.check_action(action))

    def _no_options(self, options: dict) -> None:
        """For games without reset options: refuse any, naming them."""
        if options:
            raise ValueError(f"{self.game_name}.reset: unknown options {sorted(options)}; this game takes none.")

    def _reset(self, options: dict) -> tuple:
        raise NotImplementedError(f"{type(self).__name__} implements no _reset(options).")

    def _step(self, action: Any) -> tuple:
        raise NotImplementedError(f"{type(self).__name__} implements no _step(action).")

    def close(self) -> None:
        """Release resources (nothing by default)."""

    # -- action validation -------------------------------------------------------------------------
    def check_action(self, action: Any) -> Any:
        """Validate a batch of actions against ``action_space``; return it as numpy.

        Shape must be ``(B,) + action_space.shape``; a space holding one value
        (e.g. ``Box(shape=(1,))``) also accepts ``(B,)``. Discrete actions may be
        ints, bools or integral floats and come back as int64; Box actions come
        back in the space's dtype. Spaces other than Discrete, Box, MultiBinary
        and MultiDiscrete are checked lane by lane with ``space.contains``.

        Raises
        ------
        ValueError
            naming the game, the shape given and the shape expected, or the
            offending values and their lanes.
        """
        from gymnasium import spaces

        name, space, B = self.game_name, self.action_space, self.batch_size
        action = to_numpy_action(action)
        if space is None:
            return action
        if not isinstance(space, (spaces.Discrete, spaces.Box, spaces.MultiBinary, spaces.MultiDiscrete)):
            return self._check_by_contains(action)
        shape = tuple(space.shape)
        expected = (B,) + shape
        if action.shape != expected:
            if shape and int(np.prod(shape)) == 1 and action.shape == (B,):
                action = action.reshape(expected)
            else:
                raise ValueError(f"{name}.step: action has shape {action.shape}; expected one action per "
                                 f"game, shape {expected}.")
        if action.dtype.kind not in "biuf":
            raise ValueError(f"{name}.step: actions have dtype {action.dtype}; expected numbers for the "
                             f"action space {space}.")
        flat = action.reshape(B, -1)
        if isinstance(space, spaces.Box):
            values = flat.astype(np.float64)
            low = np.broadcast_to(space.low, shape).reshape(-1)
            high = np.broadcast_to(space.high, shape).reshape(-1)
            bad = (~np.isfinite(values) | (values < low) | (values > high)).any(axis=1)
            if bad.any():
                raise ValueError(f"{name}.step: {_lanes_text(action, np.flatnonzero(bad))} "
                                 f"{'is' if bad.sum() == 1 else 'are'} outside the action space {space}; "
                                 f"expected finite values with {space.low.tolist()} <= a <= "
                                 f"{space.high.tolist()}.")
            return action.astype(space.dtype, copy=False)
        values = flat.astype(np.float64)
        integral = np.isfinite(values) & (values == np.round(values))
        if isinstance(space, spaces.Discrete):
            start, n = int(space.start), int(space.n)
            low, high, text = start, start + n, f"integers {start} <= a < {start + n}"
        elif isinstance(space, spaces.MultiBinary):
            low, high, text = 0, 2, "0/1 values"
        else:
            start = np.broadcast_to(space.start, shape).reshape(-1)
            low, high = start, start + np.broadcast_to(space.nvec, shape).reshape(-1)
            text = f"integers start <= a < start + nvec with start {space.start.tolist()}, nvec {space.nvec.tolist()}"
        inside = integral & (values >= low) & (values < high)
        bad = ~inside.all(axis=1)
        if bad.any():
            raise ValueError(f"{name}.step: {_lanes_text(action, np.flatnonzero(bad))} "
                             f"{'is' if bad.sum() == 1 else 'are'} outside the action space {space}; "
                             f"expected {text}.")
        return action.astype(np.int64)

    def _check_by_contains(self, action: Any) -> Any:
        """Validation for composite spaces: lane by lane (only arrays with a lane axis)."""
        if not isinstance(action, np.ndarray) or action.ndim == 0:
            return action  # dict/tuple actions: the game itself must check them
        name = self.game_name
        if action.shape[0] != self.batch_size:
            raise ValueError(f"{name}.step: action has shape {action.shape}; expected one action per game, "
                             f"shape ({self.batch_size}, ...).")
        bad = np.array([not self.action_space.contains(a) for a in action])
        if bad.any():
            raise ValueError(f"{name}.step: {_lanes_text(action, np.flatnonzero(bad))} "
                             f"{'is' if bad.sum() == 1 else 'are'} outside the action space "
                             f"{self.action_space}.")
        return action

    # -- checkpoints -------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Seeds, RNG states and ``state_names`` attributes: what resuming a run needs."""
        state = {"seeds": self.seeds.copy(), "rngs": [rng.bit_generator.state for rng in self.rngs],
                 "started": self._started}
        for name in self.state_names:
            state[name] = copy.deepcopy(getattr(self, name))
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved (same batch size)."""
        if len(state["rngs"]) != self.batch_size:
            raise ValueError(f"{type(self).__name__}.load_state_dict: the state has {len(state['rngs'])} "
                             f"lanes; this game has {self.batch_size}.")
        self.seed(state["seeds"])
        for rng, rng_state in zip(self.rngs, state["rngs"]):
            rng.bit_generator.state = rng_state
        self._started = state["started"]
        for name in self.state_names:
            setattr(self, name, copy.deepcopy(state[name]))
