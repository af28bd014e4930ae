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
        self.shared = True
        if self.draws_per_lane():
            # Filled lane by lane straight into the live matrix (see reset): the batch never
            # exists as a float64 stack, so building B large networks costs ~one weight array.
            self._initial = None
        else:
            # The initial matrix is kept only until the synapses bind (construction); later it is
            # regenerated on demand, so a batch holds one copy of its weights.
            self._initial = self._checked_initial()
            self._set_pattern(self._initial != 0)
        self.reset()

    def _set_pattern(self, present: np.ndarray, lanes_differ: bool = False) -> None:
        """Record the fixed sparsity pattern from ``present`` ((n, N) or (B, n, N) bool).

        When every lane has the same pattern one (n, N) array serves all lanes:
        ``mask_numpy`` is then a read-only (B, n, N) view of it, costing no memory per lane.
        """
        if present.ndim == 3 and present.strides[0] != 0 and not lanes_differ and (present == present[:1]).all():
            present = np.broadcast_to(present[0].copy(), present.shape)  # a copy frees the (B, n, N) array
        self.mask_numpy = present
        pattern = present[0] if present.ndim == 3 and present.strides[0] == 0 else present
        self.dense = bool(pattern.all())
        # numpy: the pattern itself (no copy of a (B, n, N) one); torch: moved to the device
        if self.dense:
            self.mask = None
        elif self.backend.is_torch:
            self.mask = self.backend.asarray(np.array(pattern, dtype=bool), dtype=bool)
        else:
            self.mask = np.ascontiguousarray(pattern, dtype=bool)

    def draw_lane(self, rng: np.random.Generator, lane: int) -> np.ndarray:
        """Initial matrix ``(n, N)`` of lane ``lane`` from that lane's own generator.

        Variants whose networks each draw their own matrix override this instead of
        ``generate``; the template then fills the batch one lane at a time.
        """
        raise NotImplementedError(f"{type(self).__name__} must define generate() or draw_lane().")

    def draws_per_lane(self) -> bool:
        """Whether this part's initial matrix is drawn lane by lane (``draw_lane``)."""
        return type(self).draw_lane is not Weight.draw_lane

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
        """Initial matrix ``(n, N)`` shared by all lanes or ``(B, n, N)``; by default the lane draws stacked."""
        if not self.draws_per_lane():
            raise NotImplementedError(f"{type(self).__name__} must define generate() or draw_lane().")
        return np.stack([self._checked_lane(self.draw_lane(rng, b), b)
                         for b, rng in enumerate(self.generators("matrix"))])

    def _checked_lane(self, lane_matrix: Any, lane: int) -> np.ndarray:
        lane_matrix = np.asarray(lane_matrix, dtype=np.float64)
        if lane_matrix.shape != self.shape:
            raise ValueError(f"{type(self).__name__}: lane {lane}'s weight matrix has shape {lane_matrix.shape}; "
                             f"expected {self.shape} = (n_inputs + n_neurons, n_neurons).")
        if np.any(lane_matrix < 0) or not np.all(np.isfinite(lane_matrix)):
            raise ValueError(f"{type(self).__name__}: initial weights must be finite and >= 0 (the "
                             f"presynaptic polarity gives the sign); lane {lane} has min = "
                             f"{np.nanmin(lane_matrix)}.")
        return lane_matrix

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
        if self.draws_per_lane():
            if shared is not None:
                self.shared = shared
                if getattr(self, "_untouched", False):
                    self._untouched = False
                    return  # binding to the synapses right after construction: already filled
            self._fill_lane_by_lane()
            return
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
            # order="C": a copy of a broadcast (n, N) matrix would otherwise keep the lane axis innermost,
            # and the compiled engine (spikey.snn.fused) takes only C-contiguous weights
            matrix = np.array(matrix, dtype=self.backend.dtype, order="C")
            np.clip(matrix, 0, bound, out=matrix)
            self.matrix = matrix
        self.clipped_to = np.array(bound)  # the bound the whole matrix respects (see clip_)

    def _fill_lane_by_lane(self) -> None:
        """Draw each lane's initial matrix into the live ``(B, n, N)`` matrix, bounded, in its dtype."""
        B, (n, N) = self.batch_size, self.shape
        bound = np.broadcast_to(np.reshape(np.asarray(self.params["max_weight"], dtype=float), (-1,)), (B,))
        matrix = np.empty((B, n, N), dtype=np.dtype(self.backend.dtype_name))
        pattern, lane_patterns = None, None
        for b, rng in enumerate(self.generators("matrix")):
            lane = self._checked_lane(self.draw_lane(rng, b), b)
            present = lane != 0
            if pattern is None:
                pattern = present
            elif lane_patterns is None and not np.array_equal(present, pattern):
                lane_patterns = np.empty((B, n, N), dtype=bool)  # lanes differ: one pattern each
                lane_patterns[:b] = pattern
            if lane_patterns is not None:
                lane_patterns[b] = present
            np.clip(lane, 0, bound[b], out=lane)
            matrix[b] = lane
        if lane_patterns is not None:
            self._set_pattern(lane_patterns, lanes_differ=True)
        else:
            self._set_pattern(np.broadcast_to(pattern, (B, n, N)))
        self.matrix = matrix if not self.backend.is_torch else self.backend.asarray(matrix)
        self.clipped_to = np.array(self.params["max_weight"])
        # The synapses bind (``reset(shared=...)``) right after construction: no second draw.
        self._untouched = True

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
