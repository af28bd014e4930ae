"""The modifier template: schedules that change a key while a network runs.

A modifier is called at the start of every game step (``network.tick``) with
the network and the number of game steps since the network was built (or since
``network.reset_weights()``), so a schedule spans the whole experiment; it sets
its key on every part that declares it (``Network.set_key``), validated like
any other value.
"""
from __future__ import annotations

from typing import Any


class Modifier:
    """Template: ``value(step) -> new value`` of key ``key`` at game step ``step``.

    Parameters
    ----------
    key : str
        A key of the network's parts, plain or namespaced (``"synapse.learning_rate"``).
    """

    def __init__(self, key: str):
        if not isinstance(key, str) or not key:
            raise ValueError(f"{type(self).__name__}: key = {key!r}; expected the name of a part's key.")
        self.key = key

    def value(self, step: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define value(step).")

    def reset(self) -> None:
        """Schedules are functions of the step: nothing to clear by default."""

    def update(self, network: Any, step: int) -> None:
        """Apply the scheduled value for game step ``step`` to ``network``."""
        network.set_key(self.key, self.value(step))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"
