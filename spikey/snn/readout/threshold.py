"""Binary action from the output firing rate against a threshold."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import Key, KeyRangeError
from spikey.snn.readout.template import Readout


class Threshold(Readout):
    """``action = output_range[rate >= action_threshold]`` per network.

    ``rate`` is the mean signed firing rate of the outputs over the game step
    (spikes per network step; inhibitory outputs count negatively). With
    ``action_threshold = "mean"`` the threshold is the running mean of the
    rates this network has produced since ``reset()`` (0 before the first).
    With ``"median"`` it is the median of the last ``threshold_window`` rates,
    so about half of the game steps get each action: the unsupervised choice
    for tasks whose two answers are equally frequent (XOR), where the mean is
    dragged down by silent patterns.

    Examples
    --------
    >>> import numpy as np
    >>> readout = Threshold(n_outputs=2, action_threshold=0.25, batch_size=2)
    >>> readout(np.array([[10, 0], [30, 40]]), np.ones((2, 2)), steps=100).tolist()
    [0, 1]
    """

    Keys = Readout.Keys + [
        Key("action_threshold", "rate (spikes/step) at which the action switches, or 'mean' / "
            "'median' of this network's recent rates", (float, str)),
        Key("threshold_window", "game steps remembered by the 'median' threshold", int, default=64,
            range=(1, None)),
        Key("output_range", "the two actions: below and at/above the threshold", (list, tuple),
            default=(0, 1)),
    ]
    state_names = ("rate_sum", "rate_count", "rate_history")

    def derive(self) -> None:
        threshold = self.params["action_threshold"]
        if isinstance(threshold, str) and threshold not in ("mean", "median"):
            raise KeyRangeError(f"Threshold: key 'action_threshold' = {threshold!r}; expected a number, "
                                f"'mean' or 'median'.", key="action_threshold", part="Threshold",
                                value=threshold, expected="a number, 'mean' or 'median'")
        if len(self.params["output_range"]) != 2:
            raise KeyRangeError(f"Threshold: key 'output_range' = {self.params['output_range']!r}; "
                                f"expected two actions (below, at/above).", key="output_range", part="Threshold",
                                value=self.params["output_range"], expected="two actions")
        self._actions = np.asarray(self.params["output_range"])

    def reset(self) -> None:
        self.rate_sum = np.zeros(self.batch_size)
        self.rate_count = np.zeros(self.batch_size)
        # (B, window) ring of recent rates for "median"; NaN marks unused slots
        self.rate_history = np.full((self.batch_size, self.params["threshold_window"]), np.nan)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.reset()

    def rates(self, counts: Any, polarities: Any, steps: int) -> np.ndarray:
        """(B,) mean signed output rate in spikes per network step."""
        if self.params["n_outputs"] == 0:
            return np.zeros(self.batch_size)
        signed = self.backend.to_numpy(counts * polarities)
        return signed.mean(axis=1) / steps

    def __call__(self, counts: Any, polarities: Any, steps: int) -> np.ndarray:
        rate = self.rates(counts, polarities, steps)
        threshold = self.params["action_threshold"]
        if threshold == "mean":
            threshold = np.where(self.rate_count > 0, self.rate_sum / np.maximum(self.rate_count, 1), 0.0)
            self.rate_sum += rate
            self.rate_count += 1
        elif threshold == "median":
            seen = self.rate_count > 0
            threshold = np.where(seen, np.nanmedian(np.where(seen[:, None], self.rate_history, 0.0), axis=1),
                                 0.0)
            slot = int(self.rate_count[0]) % self.rate_history.shape[1]
            self.rate_history[:, slot] = rate
            self.rate_count += 1
        return self._actions[(rate >= threshold).astype(int)]
