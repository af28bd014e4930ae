"""The weight template: the synaptic matrix, its fixed sparsity pattern and its bounds.

Rows are presynaptic (the ``n_inputs`` inputs first, then the N body neurons),
columns are postsynaptic body neurons: shape ``(n_inputs + N, N)``, or
``(B, n_inputs + N, N)`` when each network of the batch has its own matrix.
Weights are non-negative; a presynaptic neuron's polarity gives the sign.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.module import Key
from spikey.snn.part import Part


class Weight(Part):
    """Template for weight matrices.

    Subclasses implement ``generate(generators) -> ndarray`` returning the
    initial matrix, ``(n, N)`` shared by all lanes or ``(B, n, N)``. Entries that
    are zero there are absent synapses: the **sparsity pattern is fixed** and
    plasticity never grows them (``mask``). Present synapses are kept in
    ``[0, max_weight]``.
    """

    namespace = "weight"
    Keys = [
        Key("n_inputs", "number of input neurons (rows 0..n_inputs-1)", int, range=(0, None)),
        Key("n_neurons", "N, body neurons (the columns)", int, range=(1, None)),
        Key("max_weight", "upper bound of every weight", float, range=(0, None), per_member=True),
    ]
    state_names = ("matrix",)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        initial = self._checked_initial()
        # Absent synapses: zero at construction. When every lane has the same pattern (one
        # matrix, or per-lane draws on a fixed layout) one (n, N) pattern serves all lanes:
        # ``mask_numpy`` is then a read-only (B, n, N) view of it, costing no memory per lane.
        present = initial != 0
        if present.ndim == 3 and (present == present[:1]).all():
            present = np.broadcast_to(present[0].copy(), present.shape)  # a copy frees the (B, n, N) array
        self.mask_numpy = present
        self.dense = bool(present.all())
        pattern = present[0] if present.ndim == 3 and present.strides[0] == 0 else present
        self.mask = None if self.dense else self.backend.asarray(np.array(pattern, dtype=bool), dtype=bool)
        self.shared = True
        # The initial matrix is kept only until the synapses bind (construction); later it is
        # regenerated from the lane seeds on demand, so a batch holds one copy of its weights.
        self._initial = initial
        self.reset()

    @property
    def initial(self) -> np.ndarray:
        """The initial matrix, ``(n, N)`` or ``(B, n, N)`` float64, as ``generate()`` draws it.

        Regenerated from the lane seeds when needed (generators are seeded per lane, so the
        draw is the same every time) rather than stored next to the live weights.
        """
        return self._initial if self._initial is not None else self._checked_initial()

    def _checked_initial(self) -> np.ndarray:
        initial = np.asarray(self.generate(), dtype=np.float64)
        self._check_shape(initial)
        if np.any(initial < 0) or np.any(~np.isfinite(initial)):
            raise ValueError(f"{type(self).__name__}: initial weights must be finite and >= 0 "
                             f"(the presynaptic polarity gives the sign); min = {np.nanmin(initial)}.")
        return initial

    @property
    def shape(self) -> tuple[int, int]:
        n = self.params["n_inputs"] + self.params["n_neurons"]
        return (n, self.params["n_neurons"])

    def _check_shape(self, matrix: np.ndarray) -> None:
        expected = self.shape
        if matrix.shape[-2:] == expected and matrix.ndim in (2, 3) and \
                (matrix.ndim == 2 or matrix.shape[0] == self.batch_size):
            return
        hint = ""
        if matrix.shape[-2:] == expected[::-1]:
            hint = " It looks transposed: rows are presynaptic (inputs then body), columns postsynaptic."
        elif matrix.shape[-2:] == (self.params["n_neurons"], self.params["n_neurons"]):
            hint = " It lacks the n_inputs input rows."
        raise ValueError(f"{type(self).__name__}: weight matrix has shape {matrix.shape}; expected "
                         f"{expected} or ({self.batch_size}, {expected[0]}, {expected[1]}) "
                         f"= (n_inputs + n_neurons, n_neurons).{hint}")

    def generate(self) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must define generate().")

    def derive(self) -> None:
        self.max_weight = self.column("max_weight")
        if np.ndim(self.max_weight):  # (B, 1) -> (B, 1, 1) to bound (B, n, N)
            self.max_weight = self.max_weight[:, :, None]

    def reset(self, shared: bool | None = None) -> None:
        """Restore the initial matrix.

        ``shared=True`` keeps one ``(n, N)`` matrix for all lanes (only valid
        when nothing learns and the initial matrix is the same for all);
        otherwise each lane gets its own ``(B, n, N)`` copy.
        """
        initial = self.initial
        if shared is not None:
            self.shared = shared
            self._initial = None  # bound to its synapses: regenerate on later resets
        bound = self.params["max_weight"]
        per_member_bound = np.ndim(bound) > 0
        if self.shared and initial.ndim == 2 and not per_member_bound:
            matrix = initial
        else:
            matrix = np.broadcast_to(initial, (self.batch_size,) + self.shape)
        if self.backend.is_torch or per_member_bound:
            matrix = np.clip(matrix, 0, np.reshape(bound, (-1, 1, 1)) if per_member_bound else bound)
            self.matrix = self.backend.asarray(np.ascontiguousarray(matrix))
        else:  # round into the final dtype first, then clip in place: no float64 copy of the batch
            matrix = np.array(matrix, dtype=self.backend.dtype)
            np.clip(matrix, 0, bound, out=matrix)
            self.matrix = matrix
        self.clipped_to = np.array(bound)  # the bound the whole matrix respects (see clip_)

    def propagate(self, spikes: Any) -> Any:
        """Synaptic input ``(B, N)`` from presynaptic signed spikes ``(B, n)``: ``spikes @ W``."""
        if self.matrix.ndim == 2:
            return spikes @ self.matrix
        return (spikes[:, None, :] @ self.matrix)[:, 0, :]

    def clip_(self) -> None:
        """Bound present weights to [0, max_weight] and keep absent ones at 0 (in place)."""
        xp = self.xp
        if self.backend.is_torch:
            if np.ndim(self.max_weight):
                self.matrix.clamp_(min=0.0)
                self.matrix = xp.minimum(self.matrix, self.max_weight)
            else:
                self.matrix.clamp_(0.0, self.max_weight)
        else:
            np.clip(self.matrix, 0.0, self.max_weight, out=self.matrix)
        if self.mask is not None:
            self.matrix *= self.mask
        # Spike-driven updates bound only the entries they change; they clip everything once
        # when the bound has changed since this (see spikey.snn.fused).
        self.clipped_to = np.array(self.params["max_weight"])

    @property
    def body(self) -> Any:
        """The body->body block ``(..., N, N)`` (a view)."""
        return self.matrix[..., self.params["n_inputs"]:, :]
