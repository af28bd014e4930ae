"""The fused engine: a game step's network steps as compiled, spike-driven loops (numpy + numba).

``Network.tick`` runs its ``processing_time`` network steps here when the
parts allow it (numpy backend, numba installed, an LIF neuron group without
spike delay, and a Static, STDP, MSTDP or MSTDPET rule; any inputs, weights,
readout and rewarder, as long as no subclass overrides a method this engine
computes itself); otherwise it steps through the parts one network step at a
time (the reference path, which the torch backend always takes).
``spikey.snn.engine`` makes that choice and lists what the engine replaces.

The engine computes the same equations as the parts, in the same order and
the same precision, but touches only what a step changes:

* synaptic input sums the weight rows of the presynaptic neurons that spiked
  (``s @ W`` over the non-zero entries of ``s``), not the whole matrix;
* an STDP-family change ``ζ = x_pre ⊗ post - pre ⊗ y_post`` is non-zero only
  in the rows of presynaptic and the columns of postsynaptic neurons that
  spiked, so only those entries are updated (and clipped); a lane whose
  reward is 0 changes nothing; MSTDPET's eligibility trace decays everywhere,
  so it is updated on every present synapse;
* absent synapses (a sparse pattern) are skipped through row and column index
  lists of the present ones, so a feedforward layout stored as a dense
  ``(n, N)`` matrix costs only its real synapses.

Every state array is updated in place; the per-step input spikes and random
draws of a game step are taken in one block beforehand (inputs do not depend
on the network's state, and each random stream is independent), and the
rewarder of an ``ActiveRLNetwork`` is called from Python between steps, so
any reward function works. The only difference from the reference path is
the summation order of the synaptic input (a few rows instead of a BLAS
product), which changes float rounding at the last bit; the equivalence tests
(``unit_tests/test_speed_equivalence.py``) bound it.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from spikey.snn import neuron_kernel

try:  # numba is optional: without it every network takes the reference path
    import numba
except ImportError:  # pragma: no cover - exercised where numba is absent
    numba = None

#: Rule codes of the kernel.
STATIC, STDP_RULE, MSTDP_RULE, MSTDPET_RULE = 0, 1, 2, 3
#: Weight-structure modes: every synapse present, a dense 0/1 pattern, or index lists.
ALL_PRESENT, DENSE_PATTERN, INDEX_LISTS = 0, 1, 2
#: Patterns up to this density are walked through index lists (faster than testing a 0/1
#: pattern entry by entry) when the lists (8 bytes per present synapse and distinct lane
#: pattern) take at most half the weights' memory or less than LIST_BYTES.
LIST_DENSITY = 0.75
LIST_BYTES = 1 << 24
#: Largest pre-drawn block of a game step's inputs and random draws, in elements.
BLOCK_ELEMENTS = 1 << 22


def available() -> bool:
    """Whether the fused engine can run here (numba importable); ``spikey.snn.engine`` decides per network."""
    return numba is not None


def _jit(function):
    return numba.njit(cache=True, nogil=True)(function) if numba is not None else function


# -- kernels -------------------------------------------------------------------------------------
def _clip(value, bound, zero):
    """np.clip(value, 0, bound) for one entry (NaN stays NaN, as in numpy)."""
    if value < zero:
        value = zero
    if value > bound:
        value = bound
    return value


if numba is not None:
    _clip = numba.njit(inline="always")(_clip)


@_jit
def _full_clip(W, maxw, mode, mask, lane_mask):
    """Bound every weight to [0, max_weight] and zero absent synapses (Weight.clip_)."""
    zero = W.dtype.type(0)
    for w in range(W.shape[0]):
        g = w if lane_mask else 0
        for i in range(W.shape[1]):
            for j in range(W.shape[2]):
                if mode != ALL_PRESENT and not mask[g, i, j]:
                    W[w, i, j] = zero
                else:
                    W[w, i, j] = _clip(W[w, i, j], maxw[w], zero)


@_jit
def _plasticity(n_in, fa, pol, x, y, z, esum, W, lane_w, mode, mask, lane_mask, rp, ci, cp, ri,
                sc, rule, deferred, lr, maxw, r, reward_given, full_clip):
    """One step of an STDP-family rule for all lanes, from the step's spikes ``fa`` (B, n).

    Mirrors TraceSTDP.step_traces/pairing and STDP/MSTDP/MSTDPET.update (non-deferred:
    change_weights; deferred: eligibility_sum). Returns whether a weight change event
    happened (the reference clips the whole matrix then).
    """
    B, n = fa.shape
    N = n - n_in
    # The "esum += ζ or W += c ζ" step is written out at each of its six places on purpose:
    # moving it into an inlined helper made the kernel 1.5-2x slower (B = 64, N = 61 and
    # 1,000, MSTDP and MSTDPET, measured side by side).
    pre_decay, post_decay, a_plus, a_minus, z_decay, one, zero = sc[0], sc[1], sc[2], sc[3], sc[4], sc[5], sc[6]
    event = rule == STDP_RULE or (not deferred and reward_given and rule != STATIC)
    for b in range(B):
        for i in range(n):
            pre = pol[b, i] if fa[b, i] else pol[b, i] * zero
            x[b, i] = x[b, i] * pre_decay + a_plus * pre
        for j in range(N):
            post = one if fa[b, n_in + j] else zero
            y[b, j] = y[b, j] * post_decay + a_minus * post
        wl = b if lane_w else 0
        g = b if lane_mask else 0
        if rule == STDP_RULE:
            c = lr[b]
        elif reward_given:
            sc[8] = r[b]  # a scratch slot: rounds the float64 reward to the dtype (Synapse._lane)
            c = lr[b] * sc[8]
        else:
            c = zero
        if rule == MSTDPET_RULE:
            # the eligibility trace decays on every present synapse: a dense pass over them
            change = (not deferred) and reward_given and c != zero
            for i in range(n):
                pre = pol[b, i] if fa[b, i] else pol[b, i] * zero
                xi = x[b, i]
                if mode == INDEX_LISTS:
                    for k in range(rp[g, i], rp[g, i + 1]):
                        j = ci[k]
                        post = one if fa[b, n_in + j] else zero
                        zeta = xi * post - pre * y[b, j]
                        zz = z[b, i, j] * z_decay
                        zz = zz + zeta
                        z[b, i, j] = zz
                        if deferred:
                            esum[b, i, j] += zz
                        elif change:
                            W[wl, i, j] = _clip(W[wl, i, j] + c * zz, maxw[b], zero)
                else:
                    for j in range(N):
                        if mode == DENSE_PATTERN and not mask[g, i, j]:
                            continue
                        post = one if fa[b, n_in + j] else zero
                        zeta = xi * post - pre * y[b, j]
                        zz = z[b, i, j] * z_decay
                        zz = zz + zeta
                        z[b, i, j] = zz
                        if deferred:
                            esum[b, i, j] += zz
                        elif change:
                            W[wl, i, j] = _clip(W[wl, i, j] + c * zz, maxw[b], zero)
            continue
        if rule == STATIC or not (deferred or c != zero):
            continue  # ζ is only accumulated (deferred) or applied (c ≠ 0)
        # columns of postsynaptic spikers, except rows that spiked (done with the rows below)
        for j in range(N):
            if not fa[b, n_in + j]:
                continue
            yj = y[b, j]
            if mode == INDEX_LISTS:
                for k in range(cp[g, j], cp[g, j + 1]):
                    i = ri[k]
                    if fa[b, i]:
                        continue
                    zeta = x[b, i] * one - (pol[b, i] * zero) * yj
                    if deferred:
                        esum[b, i, j] += zeta
                    else:
                        W[wl, i, j] = _clip(W[wl, i, j] + c * zeta, maxw[b], zero)
            else:
                for i in range(n):
                    if fa[b, i] or (mode == DENSE_PATTERN and not mask[g, i, j]):
                        continue
                    zeta = x[b, i] * one - (pol[b, i] * zero) * yj
                    if deferred:
                        esum[b, i, j] += zeta
                    else:
                        W[wl, i, j] = _clip(W[wl, i, j] + c * zeta, maxw[b], zero)
        # rows of presynaptic spikers, every present column
        for i in range(n):
            if not fa[b, i]:
                continue
            pre = pol[b, i]
            xi = x[b, i]
            if mode == INDEX_LISTS:
                for k in range(rp[g, i], rp[g, i + 1]):
                    j = ci[k]
                    post = one if fa[b, n_in + j] else zero
                    zeta = xi * post - pre * y[b, j]
                    if deferred:
                        esum[b, i, j] += zeta
                    else:
                        W[wl, i, j] = _clip(W[wl, i, j] + c * zeta, maxw[b], zero)
            else:
                for j in range(N):
                    if mode == DENSE_PATTERN and not mask[g, i, j]:
                        continue
                    post = one if fa[b, n_in + j] else zero
                    zeta = xi * post - pre * y[b, j]
                    if deferred:
                        esum[b, i, j] += zeta
                    else:
                        W[wl, i, j] = _clip(W[wl, i, j] + c * zeta, maxw[b], zero)
    if event and full_clip:
        _full_clip(W, maxw, mode, mask, lane_mask)
    return event


# -- the engine ------------------------------------------------------------------------------------
def _structure(mask: np.ndarray | None, weight_bytes: int) -> tuple:
    """(mode, mask (G, n, N) bool, lane_mask, rp, ci, cp, ri) for the kernel."""
    dummy_ptr, dummy_idx = np.zeros((1, 1), np.int64), np.zeros(1, np.int32)
    if mask is None:
        return ALL_PRESENT, np.ones((1, 1, 1), bool), False, dummy_ptr, dummy_idx, dummy_ptr, dummy_idx
    pattern = mask if mask.ndim == 3 else mask[None]
    pattern = np.ascontiguousarray(pattern, dtype=bool)  # the Weight's own array, not a copy
    list_bytes = 8 * int(np.count_nonzero(pattern))
    if pattern.mean() > LIST_DENSITY or (list_bytes > weight_bytes // 2 and list_bytes > LIST_BYTES):
        return DENSE_PATTERN, pattern, pattern.shape[0] > 1, dummy_ptr, dummy_idx, dummy_ptr, dummy_idx
    G, n, N = pattern.shape
    rp, cp = np.zeros((G, n + 1), np.int64), np.zeros((G, N + 1), np.int64)
    ci, ri = [], []
    offset = 0
    for g in range(G):  # construction-time loop over distinct lane patterns
        rows, cols = np.nonzero(pattern[g])                   # row-major order
        rp[g] = offset + np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
        order = np.lexsort((rows, cols))                      # column-major order
        cp[g] = offset + np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=N))])
        ci.append(cols.astype(np.int32))
        ri.append(rows[order].astype(np.int32))
        offset += len(rows)
    return (INDEX_LISTS, pattern, G > 1, rp, np.concatenate(ci) if ci else dummy_idx,
            cp, np.concatenate(ri) if ri else dummy_idx)


def _lanes(value: Any, B: int, dtype: Any) -> np.ndarray:
    """A scalar or (B, 1[, 1]) key value as a writable contiguous (B,) array of ``dtype``."""
    return np.array(np.broadcast_to(np.asarray(value, dtype=dtype).reshape(-1), (B,)))


def _compiled(dispatcher: Any, args: tuple) -> Any:
    """The compiled entry point of ``dispatcher`` for ``args``: skips numba's per-call type
    dispatch (microseconds with 40 arguments), which matters when a kernel runs one network
    step per call. Falls back to the dispatcher itself."""
    try:
        dispatcher.compile(tuple(numba.typeof(a) for a in args))
        return dispatcher.overloads[tuple(numba.typeof(a) for a in args)].entry_point
    except Exception:  # pragma: no cover - numba internals moved: the dispatcher still works
        return dispatcher


class FusedEngine:
    """Scratch space and weight structure of the fused path for one network.

    ``rule`` is the kernel's rule code for the network's synapses (STATIC, STDP_RULE,
    MSTDP_RULE or MSTDPET_RULE), as ``spikey.snn.engine.select`` found it. Holds no
    reference to the network's state: every call reads the current arrays from the parts
    (so copies, checkpoints and key changes just work).
    """

    def __init__(self, network: Any, rule: int):
        B, n_in, N = network.batch_size, network.n_inputs, network.n_neurons
        dtype = network.backend.dtype
        self.rule = rule
        self.key = self._key(network)
        self.dtype = dtype
        self.s = np.zeros((B, n_in + N), dtype)
        self.fa = np.zeros((B, n_in + N), bool)
        self.cur = np.zeros((B, N), dtype)
        weights = network.weights
        self._mask_source = weights.mask
        self.structure = _structure(None if weights.mask is None else np.asarray(weights.mask),
                                    B * (n_in + N) * N * np.dtype(dtype).itemsize)
        self._dummy3 = np.zeros((1, 1, 1), dtype)
        self._dummy4 = np.zeros((1, 1, 1, 1), dtype)

    @staticmethod
    def _key(network: Any) -> tuple:
        return (network.batch_size, network.n_inputs, network.n_neurons, network.n_outputs, network.backend.dtype)

    def matches(self, network: Any, rule: int) -> bool:
        """Whether this scratch space still fits ``network`` (sizes, dtype, rule, weight pattern)."""
        return self.rule == rule and self.key == self._key(network) and self._mask_source is network.weights.mask

    def tick(self, network: Any, per_step_reward: bool) -> None:
        """Run one game step (``processing_time`` network steps) of ``network``."""
        dtype, B = self.dtype, network.batch_size
        P = network.processing_time
        neurons, synapses, weights = network.neurons, network.synapses, network.weights
        n_in, N = network.n_inputs, network.n_neurons
        # state arrays the kernel updates in place: make sure they are ours, contiguous, typed
        compiled = neuron_kernel.kernel(type(neurons))
        for name, kind in [(name, dtype) for name in compiled.State._fields] + [("refractory", dtype),
                                                                                ("fired", bool)]:
            value = getattr(neurons, name)
            if not (isinstance(value, np.ndarray) and value.dtype == kind and value.flags.c_contiguous
                    and value.flags.writeable and value.shape == (B, N)):
                setattr(neurons, name, np.array(np.broadcast_to(value, (B, N)), dtype=kind))
        state = compiled.State(*[getattr(neurons, name) for name in compiled.State._fields])
        params = compiled.Params(*[_lanes(neuron_kernel.parameter_value(neurons, name), B, dtype)
                                   for name in compiled.Params._fields])
        smag = np.array(np.broadcast_to(neurons.polarities * neurons.magnitude, (B, N)), dtype=dtype)
        has_rand = neurons.any_random
        R = int(neurons.params["refractory_period"])
        if neurons.delay_line is not None:
            if not (neurons.delay_line.dtype == dtype and neurons.delay_line.flags.c_contiguous
                    and neurons.delay_line.flags.writeable):
                neurons.delay_line = np.ascontiguousarray(neurons.delay_line, dtype=dtype)
            delay_line, delay_slot = neurons.delay_line, np.array([neurons._delay_slot], np.int64)
        else:
            delay_line, delay_slot = self._dummy3, np.array([-1], np.int64)
        random_fire = has_rand and type(neurons).random_fire
        # lanes that no longer learn keep their adaptation (weights: their learning rate is 0 below)
        learn = np.ones(B, bool) if network.learning_lanes is None else \
            np.ascontiguousarray(network.learning_lanes, dtype=bool)
        noise_draws = len(type(neurons).noise_draws) if has_rand and type(neurons).noise_eq is not None else 0
        rule = self.rule
        plastic = bool(network.training and synapses.plastic and rule != STATIC)
        deferred = bool(getattr(synapses, "deferred", False)) and rule in (MSTDP_RULE, MSTDPET_RULE)
        sc = np.zeros(9, dtype)
        if rule != STATIC:
            sc[:5] = (synapses.pre_decay, synapses.post_decay, synapses.params["a_plus"],
                      synapses.params["a_minus"], getattr(synapses, "trace_decay", 0.0))
            lr = _lanes(synapses.learning_rate, B, dtype)
            if network.learning_lanes is not None:
                # a lane that does not learn has rate 0: the kernel then writes none of its weights
                lr[~network.learning_lanes] = 0
        else:
            lr = np.zeros(B, dtype)
        sc[5], sc[6], sc[7] = 1.0, 0.0, R + 1.0
        W = weights.matrix
        W3 = W if W.ndim == 3 else W[None]
        lane_w = W3.shape[0] > 1
        maxw = _lanes(weights.max_weight, B, dtype)
        bound = np.asarray(weights.params["max_weight"])
        full_clip = plastic and not (getattr(weights, "clipped_to", None) is not None
                                     and np.array_equal(weights.clipped_to, bound))
        mode, mask, lane_mask, rp, ci, cp, ri = self.structure
        pol = np.array(np.broadcast_to(network.polarities, (B, n_in + N)), dtype=dtype)
        if plastic or rule != STATIC:
            x, y = synapses.pre_trace, synapses.post_trace
        else:
            x, y = np.zeros((B, n_in + N), dtype), np.zeros((B, N), dtype)
        z = synapses.trace if rule == MSTDPET_RULE else self._dummy3
        esum = synapses.eligibility_sum if deferred else self._dummy3
        if not isinstance(network.output_counts, np.ndarray) or network.output_counts.dtype != dtype:
            network.output_counts = np.zeros((B, network.n_outputs), dtype)
        counts, log = network.output_counts, network._log
        pos = network._log_position
        no_reward = np.zeros(B, np.float64)
        chunk = max(1, min(P, BLOCK_ELEMENTS // max(1, B * (n_in + 1 + N * (random_fire + noise_draws)))))
        done = 0
        clipped_any = False
        while done < P:
            steps = min(chunk, P - done)
            inb = np.ascontiguousarray(network.inputs.block(steps), dtype=dtype)
            rnd = (np.ascontiguousarray(neurons.stream("random_fire", (N,)).uniforms(steps), dtype=dtype)
                   if random_fire else self._dummy3)
            noise = (np.ascontiguousarray(neurons.stream("noise", (noise_draws, N)).uniforms(steps), dtype=dtype)
                     if noise_draws else self._dummy4)
            args = (inb, rnd, noise, has_rand, bool(neurons.training), learn, state, params, neurons.refractory,
                    neurons.fired, smag, R, delay_line, delay_slot, self.s, self.fa, self.cur, log)
            tail = (counts, W3, lane_w, mode, mask, lane_mask, rp, ci, cp, ri, pol, x, y, z, esum, sc, rule,
                    deferred, lr, maxw, plastic)
            if not per_step_reward:
                pos, clipped = compiled.run(0, steps, False, no_reward, False, *args, pos, *tail,
                                    full_clip and not clipped_any, False)
                clipped_any |= clipped
            else:
                run = _compiled(compiled.run, (0, 1, False, no_reward, False, *args, pos, *tail, False, True))
                reward, pending, given = no_reward, False, False
                outputs = slice(n_in + N - network.n_outputs, None)
                step_reward = network.step_reward
                for k in range(steps):
                    pos, clipped = run(k, 1, pending, reward, given, *args, pos, *tail,
                                       full_clip and not clipped_any, True)
                    clipped_any |= clipped
                    value = step_reward(log[pos - 1, :, outputs])
                    given = value is not None
                    if given:  # the kernel rounds the (B,) float64 reward to the dtype, as _lane does
                        reward = value if type(value) is np.ndarray and value.dtype == np.float64 \
                            and value.shape == (B,) else _lanes(value, B, np.float64)
                    pending = True
                if plastic:  # the last step's plasticity, now that its reward is known
                    _pos, clipped = run(0, 0, True, reward, given, *args, pos, *tail,
                                        full_clip and not clipped_any, False)
                    clipped_any |= clipped
            done += steps
        network._log_position = pos
        network._logged += P
        if neurons.delay_line is not None:
            neurons._delay_slot = int(delay_slot[0])
        if clipped_any:
            weights.clipped_to = bound.copy()
