"""Any gymnasium environment as a batched Spikey game."""
from __future__ import annotations

import copy
from typing import Any, Callable, Sequence

import numpy as np

from spikey.games.template import Game
from spikey.module import ConfigError, Key, MissingKeyError


class NonFiniteObservationError(ValueError):
    """An environment returned an observation (or reward) holding NaN or infinity.

    Examples
    --------
    >>> issubclass(NonFiniteObservationError, ValueError)
    True
    """


def _tree_map(function: Callable, *trees: Any) -> Any:
    """Apply ``function`` to matching array leaves of dict/tuple observation trees."""
    first = trees[0]
    if isinstance(first, dict):
        return {k: _tree_map(function, *(t[k] for t in trees)) for k in first}
    if isinstance(first, tuple):
        return tuple(_tree_map(function, *parts) for parts in zip(*trees))
    return function(*trees)


def _tree_leaves(tree: Any) -> list:
    if isinstance(tree, dict):
        return [leaf for value in tree.values() for leaf in _tree_leaves(value)]
    if isinstance(tree, tuple):
        return [leaf for value in tree for leaf in _tree_leaves(value)]
    return [tree]


def _select(mask: np.ndarray, new: Any, old: Any) -> Any:
    """Per lane: ``new`` where the (B,) mask is True, else ``old`` (arrays with a lane axis)."""
    def pick(a: Any, b: Any) -> Any:
        a, b = np.asarray(a), np.asarray(b)
        return np.where(mask.reshape((-1,) + (1,) * (a.ndim - 1)), a, b)
    return _tree_map(pick, new, old)


def _non_finite_lanes(tree: Any, batch_size: int) -> np.ndarray:
    """(B,) bool: lanes with a NaN or infinite value in any floating leaf."""
    bad = np.zeros(batch_size, dtype=bool)
    for leaf in _tree_leaves(tree):
        leaf = np.asarray(leaf)
        if leaf.dtype.kind in "fc" and leaf.ndim >= 1 and leaf.shape[0] == batch_size:
            bad |= ~np.isfinite(leaf.reshape(batch_size, -1)).all(axis=1)
    return bad


def _lane(tree: Any, b: int) -> Any:
    return _tree_map(lambda leaf: np.asarray(leaf)[b].tolist(), tree)


class GymGame(Game):
    """B copies of a gymnasium environment stepping together.

    ``env`` (the first argument, or the key ``env``) is one of:

    * a registered id such as ``"CartPole-v1"`` (made with ``gymnasium.make(env, **env_kwargs)``),
    * a callable returning a ``gymnasium.Env`` (an Env class or a factory; called with ``**env_kwargs``),
    * a ``gymnasium.Env`` instance (only for ``batch_size=1``),
    * a ``gymnasium.vector.VectorEnv`` with ``num_envs == batch_size``, used as given.

    The B lanes run in a ``gymnasium.vector.SyncVectorEnv`` (also for B = 1).
    Observations come back as the vector env batches them: a (B, ...) numpy
    array for array spaces (dicts/tuples of such arrays for composite spaces).
    ``observation_space``/``action_space`` are the env's single-lane spaces.
    Every observation and reward is checked: a NaN or infinity raises
    ``NonFiniteObservationError`` naming the env, the lanes and the values.

    Seeding: the first ``reset()`` after construction or ``seed(s)`` resets lane
    b with seed s + b (so lane b matches ``gymnasium.make(id).reset(seed=s + b)``);
    later resets seed each lane with a number drawn from that lane's generator.
    Each episode therefore depends only on its lane's seed and episode count,
    never on the other lanes or on how long a done lane was kept stepping.

    Episode ends: a lane whose env reports ``terminated`` or ``truncated`` (or
    which reaches ``max_steps`` steps, if set, on top of the env's own time
    limit) is frozen until ``reset()``: later steps return its final
    observation, reward 0 and the same flags, as ``spikey.games.CartPole``
    does and ``spikey.experiment.run_episodes`` expects. Underneath, the vector
    env keeps running (gymnasium 1.x autoresets a finished sub-env on the
    next step, ``AutoresetMode.NEXT_STEP``); those hidden steps are discarded,
    and ``info`` entries of done lanes are masked out (``info["_name"]`` is
    False there). User vector envs in ``SAME_STEP`` mode (final observation
    taken from ``info["final_obs"]``) and ``DISABLED`` mode (done sub-envs are
    restarted out of sight) work the same way. ``reset(options={"reset_mask":
    mask})`` restarts only the lanes where the (B,) bool mask is True.

    Resuming from a checkpoint restores the lanes' generators: exact at episode
    boundaries (an env's internal state is not saved).

    Examples
    --------
    >>> import numpy as np
    >>> game = GymGame("CartPole-v1", batch_size=3, seed=7)
    >>> obs, info = game.reset()
    >>> obs.shape, game.observation_space.shape, game.action_space
    ((3, 4), (4,), Discrete(2))
    >>> import gymnasium
    >>> single, _ = gymnasium.make("CartPole-v1").reset(seed=8)
    >>> bool((obs[1] == single).all())
    True
    >>> obs, reward, terminated, truncated, info = game.step(np.array([0, 1, 1]))
    >>> reward.tolist(), terminated.tolist()
    ([1.0, 1.0, 1.0], [False, False, False])
    >>> game.close()
    """

    Keys = [
        Key("env", "gymnasium env id, env class/factory, Env instance (B = 1) or VectorEnv of B envs", object,
            default=None, nullable=True),
        Key("env_kwargs", "keyword arguments for gymnasium.make(env, ...) or env(...)", dict, default=None,
            nullable=True),
        Key("max_steps", "steps after which a lane is truncated, on top of the env's own limit (None: no "
            "extra limit)", int, default=None, range=(1, None), nullable=True),
    ]
    state_names = ("_fresh",)

    def __init__(self, env: Any = None, *, batch_size: int = 1, seed: int | Sequence[int] | None = 0,
                 strict: bool = True, **config: Any):
        if env is not None:
            if "env" in config or "game.env" in config:
                raise ConfigError("GymGame: env given both as the first argument and as a key.", key="env",
                                  part="GymGame", value=env, expected="one env")
            config["env"] = env
        self._vec, self._source, self._obs = None, None, None
        super().__init__(None, batch_size=batch_size, seed=seed, strict=strict, **config)

    # -- construction ----------------------------------------------------------------------------------
    def seed(self, seed: int | Sequence[int] | None) -> None:
        """Reseed every lane; the next reset seeds lane b's env with seed + b."""
        super().seed(seed)
        self._fresh = np.ones(self.batch_size, dtype=bool)

    def derive(self) -> None:
        source = (self.params["env"], self.params["env_kwargs"] or {})
        if self._source is None or not (source[0] is self._source[0] or (
                isinstance(source[0], str) and source[0] == self._source[0])) or source[1] != self._source[1]:
            if self._vec is not None:
                self._vec.close()
            self._vec = self._make_vector(*source)
            self._obs, self._started = None, False
            self._source = source
        self.observation_space = self._vec.single_observation_space
        self.action_space = self._vec.single_action_space

    def _make_vector(self, env: Any, kwargs: dict) -> Any:
        import gymnasium
        from gymnasium.vector import AutoresetMode, SyncVectorEnv, VectorEnv

        B, part = self.batch_size, type(self).__name__
        if env is None:
            raise MissingKeyError(f"{part}: key 'env' is missing; expected a gymnasium env id (e.g. "
                                  f"'CartPole-v1'), an env class or factory, an Env or a VectorEnv.",
                                  key="env", part=part, value=None, expected="a gymnasium env")
        self.env_name = env if isinstance(env, str) else getattr(env, "__name__", type(env).__name__)
        if isinstance(env, VectorEnv):
            if kwargs:
                raise ConfigError(f"{part}: env_kwargs {kwargs} cannot apply to a ready VectorEnv.",
                                  key="env_kwargs", part=part, value=kwargs, expected="None")
            if env.num_envs != B:
                raise ConfigError(f"{part}: the VectorEnv has {env.num_envs} envs but batch_size is {B}; "
                                  f"expected {B} envs.", key="env", part=part, value=env,
                                  expected=f"a VectorEnv with num_envs = {B}")
            vector = env
        elif isinstance(env, gymnasium.Env):
            if B != 1 or kwargs:
                raise ConfigError(f"{part}: an Env instance serves one lane without env_kwargs; got "
                                  f"batch_size {B}, env_kwargs {kwargs}. Give its id or class for B lanes.",
                                  key="env", part=part, value=env, expected="an env id, class or factory")
            vector = SyncVectorEnv([lambda: env])
        elif isinstance(env, str) or callable(env):
            def make() -> Any:
                made = gymnasium.make(env, **kwargs) if isinstance(env, str) else env(**kwargs)
                if not isinstance(made, gymnasium.Env):
                    raise TypeError(f"it made a {type(made).__name__}, not a gymnasium.Env")
                return made
            try:
                vector = SyncVectorEnv([make] * B)
            except Exception as error:
                raise ConfigError(f"{part}: cannot make env {self.env_name!r} with env_kwargs {kwargs}: "
                                  f"{type(error).__name__}: {error}", key="env", part=part, value=env,
                                  expected="a gymnasium env id, class or factory") from error
        else:
            raise ConfigError(f"{part}: env = {env!r}; expected a gymnasium env id, an env class or "
                              f"factory, an Env or a VectorEnv.", key="env", part=part, value=env,
                              expected="a gymnasium env")
        spec = getattr(getattr(vector, "envs", [None])[0], "spec", None)
        if not isinstance(env, str) and getattr(spec, "id", None):
            self.env_name = spec.id
        mode = vector.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        self._mode = mode if isinstance(mode, AutoresetMode) else AutoresetMode(mode)
        self._inner_done = np.zeros(B, dtype=bool)
        return vector

    @property
    def game_name(self) -> str:
        return f"GymGame({self.env_name!r})"

    @property
    def vector_env(self) -> Any:
        """The underlying gymnasium VectorEnv (its sub-envs run the lanes)."""
        return self._vec

    # -- episodes --------------------------------------------------------------------------------------
    def _check_finite(self, observations: Any, rewards: np.ndarray | None, lanes: np.ndarray,
                      when: str) -> None:
        bad = _non_finite_lanes(observations, self.batch_size) & lanes
        what = "observation"
        if not bad.any() and rewards is not None:
            bad, what = ~np.isfinite(rewards) & lanes, "reward"
        if bad.any():
            where = np.flatnonzero(bad)
            shown = {int(b): (_lane(observations, b) if what == "observation" else float(rewards[b]))
                     for b in where[:3]}
            raise NonFiniteObservationError(
                f"{self.game_name}: {when} gave a non-finite {what} in lane"
                f"{'s' if len(where) > 1 else ''} {where.tolist()}: {shown}"
                f"{' ...' if len(where) > 3 else ''}.")

    def _reset(self, options: dict) -> tuple:
        """Options: ``reset_mask`` (B,) bool, the lanes to reset (default all); others go to the env."""
        B = self.batch_size
        mask = options.pop("reset_mask", None)
        if mask is None or self._obs is None:
            mask = np.ones(B, dtype=bool)
        mask = np.asarray(mask)
        if mask.shape != (B,) or mask.dtype != bool or not mask.any():
            raise ValueError(f"GymGame.reset: reset_mask has shape {mask.shape}, dtype {mask.dtype}; "
                             f"expected bools of shape ({B},) with at least one True.")
        seeds: list = [None] * B
        for b in np.flatnonzero(mask):
            seeds[b] = int(self.seeds[b]) if self._fresh[b] else int(self.rngs[b].integers(2 ** 31))
        self._fresh[mask] = False
        if mask.all():
            observations, info = self._vec.reset(seed=seeds, options=options or None)
        else:
            observations, info = self._vec.reset(seed=seeds, options={**options, "reset_mask": mask.copy()})
        self._check_finite(observations, None, mask, "reset")
        self._obs = observations if mask.all() else _select(mask, observations, self._obs)
        if mask.all():
            self.terminated, self.truncated = np.zeros(B, bool), np.zeros(B, bool)
            self.steps = np.zeros(B, np.int64)
        self.terminated[mask] = self.truncated[mask] = False
        self.steps[mask] = 0
        self._inner_done[mask] = False
        return copy.deepcopy(self._obs), info

    def _step(self, action: Any) -> tuple:
        from gymnasium.vector import AutoresetMode

        live = ~(self.terminated | self.truncated)
        if self._mode == AutoresetMode.DISABLED and self._inner_done.any():
            # Lanes frozen by us must still be steppable: restart their envs out of sight.
            self._vec.reset(options={"reset_mask": self._inner_done.copy()})
            self._inner_done[:] = False
        observations, rewards, terminated, truncated, info = self._vec.step(action)
        terminated, truncated = np.asarray(terminated, bool), np.asarray(truncated, bool)
        rewards = np.asarray(rewards, dtype=np.float64)
        ended = terminated | truncated
        if self._mode == AutoresetMode.SAME_STEP and (ended & live).any():
            # The returned observation already starts the next episode; the final one is in info.
            final = copy.deepcopy(observations)
            for b in np.flatnonzero(ended & live):
                final = _tree_map(lambda leaf, last: _set_lane(leaf, b, last), final, info["final_obs"][b])
            observations = final
        self._inner_done = ended.copy()
        self._check_finite(observations, rewards, live, "step")
        self._obs = _select(live, observations, self._obs)
        self.steps += live
        self.terminated |= live & terminated
        truncated_now = live & truncated
        if self.params["max_steps"] is not None:
            truncated_now |= live & (self.steps >= self.params["max_steps"])
        self.truncated |= truncated_now
        info = dict(info)
        for name in list(info):
            mask = info.get(f"_{name}")
            if isinstance(mask, np.ndarray) and mask.dtype == bool and mask.shape == live.shape:
                info[f"_{name}"] = mask & live
        return (copy.deepcopy(self._obs), np.where(live, rewards, 0.0), self.terminated.copy(),
                self.truncated.copy(), info)

    def close(self) -> None:
        """Close the vector env (and so every lane's env)."""
        if self._vec is not None:
            self._vec.close()


def _set_lane(leaf: Any, b: int, value: Any) -> np.ndarray:
    leaf = np.array(leaf)
    leaf[b] = value
    return leaf
