"""Cart-pole balancing, B carts at once, with the old Spikey's physics."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from spikey.games.template import Game
from spikey.module import Key, KeyRangeError

_RANGE_TYPES = (list, tuple, np.ndarray)


def _range_key(name: str, what: str, default: tuple) -> Key:
    return Key(name, f"[low, high] of the initial {what}, drawn uniformly per lane", _RANGE_TYPES,
               default=default)


class CartPole(Game):
    """B cart-poles stepping together: push the cart left or right to keep the pole up.

    State and observation per lane (gymnasium's order), float64, shape (B, 4):
    ``[x, x_dot, theta, theta_dot]`` = cart position (m), cart velocity (m/s),
    pole angle from upright (rad; theta = 0 is upright, positive leans towards +x)
    and pole angular velocity (rad/s).

    Actions, shape (B,):

    * ``continuous=False`` (default): ``action_space = Discrete(2)``; 0 pushes
      with force ``-Force_Mag`` (towards -x), 1 with ``+Force_Mag`` (N).
    * ``continuous=True``: ``action_space = Box(-1, 1, (1,))``; the force is
      ``action * Force_Mag`` (N). Shapes (B,) and (B, 1) are both accepted.

    Dynamics (Florian 2007, "Correct equations for the dynamics of the
    cart-pole system", without friction; l = ``pole_half_length``,
    m_c = ``Mass_Cart``, m_p = ``Mass_Pole``, tau = ``Tau``)::

        temp      = (F + m_p l theta_dot^2 sin(theta)) / (m_c + m_p)
        theta_acc = (g sin(theta) - cos(theta) temp) / (l (4/3 - m_p cos^2(theta) / (m_c + m_p)))
        x_acc     = temp - m_p l theta_acc cos(theta) / (m_c + m_p)
        x += tau x_dot;  x_dot += tau x_acc;  theta += tau theta_dot;  theta_dot += tau theta_acc

    (explicit Euler: positions advance with the old velocities).

    Rewards and episode ends, per lane:

    * reward 1 for every step taken from a live state (gymnasium's convention,
      the terminating step included), 0 for a lane that is already done;
    * ``terminated`` once ``|x| > x_max`` or ``|theta| > theta_max`` after a step;
    * ``truncated`` once the lane has taken ``max_steps`` steps (None, the
      default, never truncates: the experiment's episode length bounds episodes;
      ``max_steps=500`` reproduces gymnasium's CartPole-v1 time limit).
    * ``info["steps"]`` (B,) int: steps each lane has taken in its episode.

    A lane that is done is frozen until ``reset()``: later steps ignore its
    action, return its final observation, reward 0 and the same
    terminated/truncated flags, so per-episode sums stop at the lane's end
    (this is what ``spikey.experiment.run_episodes`` expects). No lane is reset
    automatically; ``reset(options={"reset_mask": mask})`` starts new episodes
    in the lanes where the (B,) bool mask is True and leaves the others as they are.

    Initial state: each of x, x_dot, theta, theta_dot is drawn uniformly from
    its ``*_init_range`` with the lane's own generator. (The old Spikey also
    flipped each value's sign at random; for the symmetric preset ranges that
    gives the same distribution.)

    Physical keys may differ between lanes (one value per lane). Presets:
    ``"DEFAULT"`` (x_max 4.5 m, theta_max pi/2, velocities from U(-0.1, 0.1),
    positions 0) and ``"FREMAUX"`` (the same with x_max 2.5 m).

    Examples
    --------
    >>> import numpy as np
    >>> game = CartPole("FREMAUX", batch_size=2, seed=0)
    >>> obs, info = game.reset()
    >>> obs.shape, game.observation_space.shape, game.action_space
    ((2, 4), (4,), Discrete(2))
    >>> obs, reward, terminated, truncated, info = game.step(np.array([0, 1]))
    >>> reward.tolist(), terminated.tolist()
    ([1.0, 1.0], [False, False])
    >>> bool(obs[0, 1] < obs[1, 1])   # lane 0 was pushed towards -x, lane 1 towards +x
    True
    """

    PRESETS = {
        "DEFAULT": {"x_max": 4.5, "theta_max": math.pi / 2, "x_init_range": (0.0, 0.0),
                    "theta_init_range": (0.0, 0.0), "xdot_init_range": (-0.1, 0.1),
                    "thetadot_init_range": (-0.1, 0.1), "Tau": 0.02},
        "FREMAUX": {"x_max": 2.5, "theta_max": math.pi / 2, "x_init_range": (0.0, 0.0),
                    "theta_init_range": (0.0, 0.0), "xdot_init_range": (-0.1, 0.1),
                    "thetadot_init_range": (-0.1, 0.1), "Tau": 0.02},
    }
    Keys = [
        Key("x_max", "|x| beyond which an episode terminates (m; inf: never)", float, default=4.5, range=(0, None),
            per_member=True, allow_inf=True),
        Key("theta_max", "|theta| beyond which an episode terminates (rad from upright; inf: never)", float,
            default=math.pi / 2, range=(0, None), per_member=True, allow_inf=True),
        _range_key("x_init_range", "cart position (m)", (0.0, 0.0)),
        _range_key("xdot_init_range", "cart velocity (m/s)", (-0.1, 0.1)),
        _range_key("theta_init_range", "pole angle (rad)", (0.0, 0.0)),
        _range_key("thetadot_init_range", "pole angular velocity (rad/s)", (-0.1, 0.1)),
        Key("g", "gravitational acceleration (m/s^2)", float, default=9.8, range=(0, None), per_member=True),
        Key("Mass_Cart", "cart mass (kg)", float, default=1.0, range=(0, None), per_member=True),
        Key("Mass_Pole", "pole mass (kg)", float, default=0.1, range=(0, None), per_member=True),
        Key("pole_half_length", "half the pole's length, l (m)", float, default=0.5, range=(0, None),
            per_member=True),
        Key("Force_Mag", "magnitude of the push (N)", float, default=10.0, range=(0, None), per_member=True),
        Key("Tau", "time step of one game step (s)", float, default=0.02, range=(0, None), per_member=True),
        Key("continuous", "False: action 0/1 pushes -/+Force_Mag; True: action in [-1, 1] times Force_Mag",
            bool, default=False),
        Key("max_steps", "steps after which a lane is truncated (None: never)", int, default=None,
            range=(1, None), nullable=True),
    ]
    state_names = ("state", "terminated", "truncated", "steps")

    def __init__(self, preset: str | None = "DEFAULT", **kwargs: Any):
        self.state = self.terminated = self.truncated = self.steps = None
        super().__init__(preset, **kwargs)

    def derive(self) -> None:
        from gymnasium import spaces

        p, name = self.params, type(self).__name__
        for key in ("pole_half_length", "Tau"):
            if np.any(np.asarray(p[key]) <= 0):
                raise KeyRangeError(f"{name}: key '{key}' = {p[key]!r} must be > 0.", key=key, part=name,
                                    value=p[key], expected=f"{key} > 0")
        if np.any(np.asarray(p["Mass_Cart"]) + np.asarray(p["Mass_Pole"]) <= 0):
            raise KeyRangeError(f"{name}: Mass_Cart + Mass_Pole must be > 0; got {p['Mass_Cart']!r} + "
                                f"{p['Mass_Pole']!r}.", key="Mass_Cart", part=name, value=p["Mass_Cart"],
                                expected="Mass_Cart + Mass_Pole > 0")
        ranges = []
        for key in ("x_init_range", "xdot_init_range", "theta_init_range", "thetadot_init_range"):
            bounds = np.asarray(p[key], dtype=float) if np.ndim(p[key]) == 1 else None
            if bounds is None or bounds.shape != (2,) or not np.isfinite(bounds).all() or bounds[0] > bounds[1]:
                raise KeyRangeError(f"{name}: key '{key}' = {p[key]!r}; expected [low, high] with finite "
                                    f"low <= high.", key=key, part=name, value=p[key],
                                    expected="[low, high] with low <= high")
            ranges.append(bounds)
        self._init_low, self._init_high = np.array(ranges).T
        high = np.array([2 * np.max(p["x_max"]), np.inf, 2 * np.max(p["theta_max"]), np.inf])
        self.observation_space = spaces.Box(-high, high, (4,), np.float64)
        self.action_space = (spaces.Box(-1.0, 1.0, (1,), np.float64) if p["continuous"]
                             else spaces.Discrete(2))

    # -- episodes --------------------------------------------------------------------------------------
    def _draw_state(self, lanes: np.ndarray) -> np.ndarray:
        """Initial states of ``lanes``: (len(lanes), 4), each lane from its own generator."""
        return np.array([self.rngs[b].uniform(self._init_low, self._init_high) for b in lanes],
                        dtype=np.float64).reshape(len(lanes), 4)

    def _reset(self, options: dict) -> tuple:
        """Options: ``reset_mask`` (B,) bool, the lanes to reset (default all)."""
        B = self.batch_size
        mask = options.pop("reset_mask", None)
        if options:
            raise ValueError(f"CartPole.reset: unknown options {sorted(options)}; expected 'reset_mask'.")
        if mask is None or self.state is None:
            mask = np.ones(B, dtype=bool)
        mask = np.asarray(mask)
        if mask.shape != (B,) or mask.dtype != bool:
            raise ValueError(f"CartPole.reset: reset_mask has shape {mask.shape} and dtype {mask.dtype}; "
                             f"expected bools of shape ({B},).")
        if self.state is None:
            self.state = np.zeros((B, 4))
            self.terminated, self.truncated = np.zeros(B, bool), np.zeros(B, bool)
            self.steps = np.zeros(B, np.int64)
        lanes = np.flatnonzero(mask)
        self.state[lanes] = self._draw_state(lanes)
        self.terminated[lanes] = self.truncated[lanes] = False
        self.steps[lanes] = 0
        return self.state.copy(), {}

    def _step(self, action: np.ndarray) -> tuple:
        p = self.params
        live = ~(self.terminated | self.truncated)
        if p["continuous"]:
            force = action.reshape(-1).astype(np.float64) * p["Force_Mag"]
        else:
            force = np.where(action == 1, 1.0, -1.0) * p["Force_Mag"]
        x, x_dot, theta, theta_dot = self.state.T
        m_c, m_p, l, g, tau = p["Mass_Cart"], p["Mass_Pole"], p["pole_half_length"], p["g"], p["Tau"]
        total = m_c + m_p
        sin, cos = np.sin(theta), np.cos(theta)
        temp = (force + m_p * l * theta_dot ** 2 * sin) / total
        theta_acc = (g * sin - cos * temp) / (l * (4.0 / 3.0 - m_p * cos ** 2 / total))
        x_acc = temp - m_p * l * theta_acc * cos / total
        moved = np.stack([x + tau * x_dot, x_dot + tau * x_acc,
                          theta + tau * theta_dot, theta_dot + tau * theta_acc], axis=1)
        self.state = np.where(live[:, None], moved, self.state)
        self.steps += live
        x, theta = self.state[:, 0], self.state[:, 2]
        self.terminated |= live & ((np.abs(x) > p["x_max"]) | (np.abs(theta) > p["theta_max"]))
        if p["max_steps"] is not None:
            self.truncated |= live & (self.steps >= p["max_steps"])
        return (self.state.copy(), live.astype(np.float64), self.terminated.copy(), self.truncated.copy(),
                {"steps": self.steps.copy()})
