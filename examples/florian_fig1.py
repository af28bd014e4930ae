"""Florian (2007) Fig. 1: MSTDP and MSTDPET on a single synapse, with Spikey's own rules.

Two measurements, both made with the ``MSTDP`` and ``MSTDPET`` synapse parts
bound to a one-input, one-neuron weight matrix (row 0: the input -> neuron
synapse; the neuron's self-synapse is absent):

1. **Weight change vs spike timing.** One pre spike and one post spike,
   ``Δt = t_post - t_pre`` steps apart, under a constant reward ``r`` held from
   the start until ``tail`` steps after the pair. Each Δt is one lane of the
   batch axis, so the whole curve is one batched run. With Florian's scaling
   (MSTDP ``learning_rate = γ``, MSTDPET ``learning_rate = γ/τ_z``) the
   implemented discrete equations give exactly::

       ΔW_MSTDP(Δt)   = γ r (a+ e^{-Δt/τ+})   for Δt > 0
                      = -γ r (a- e^{Δt/τ-})   for Δt < 0,   γ r (a+ - a-) at Δt = 0
       ΔW_MSTDPET(Δt) = ΔW_MSTDP(Δt) · (1 - q^{T - s}) / (τ_z (1 - q)),   q = e^{-1/τ_z}

   where ``s = max(t_pre, t_post)`` is the step of the pairing and T the
   number of steps: the eligibility trace holds the pairing's ζ and releases
   it under the reward over the following steps, so the *timing curve* keeps
   the STDP window's shape and is only rescaled (by 1/(τ_z(1-q)) = 1.020 for
   τ_z = 25 once the reward outlasts the trace). What the trace smooths is the
   weight's course in *time*: see 2.

2. **The Fig. 1 traces.** Pre spikes {5, 80, 115, 135}, post spikes
   {10, 70, 110, 140}, w0 = 0.2, γ = 0.2, τ± = 20, τ_z = 25, reward +1 up to
   t = 100 and -1 after. Spikey's MSTDPET is compared step by step with a
   plain-Python computation of Florian's equations (the reference notebook's
   loop); MSTDP is shown beside it. MSTDPET's weight moves a little every
   step (no step function, unlike the old Spikey's RLSTDP in REFERENCE 4.2);
   MSTDP's jumps at the spike times only.

Reference: R. V. Florian, "Reinforcement learning through modulation of
spike-timing-dependent synaptic plasticity", Neural Computation 19 (2007),
Fig. 1 and eq. 5-8.

Run ``python examples/florian_fig1.py [--quick] [--out FILE.png]``.
"""
from __future__ import annotations

import argparse
import math
import time
from typing import Sequence

import numpy as np

from spikey.backend import Backend
from spikey.snn import MSTDP, MSTDPET, Manual
from spikey.viz import save

RULES = {"MSTDP": MSTDP, "MSTDPET": MSTDPET}
FIG1_PRE = (5, 80, 115, 135)
FIG1_POST = (10, 70, 110, 140)


def bind_rule(rule: str, batch_size: int, gamma: float = 0.2, tau_z: float = 25.0, tau: float = 20.0,
              a_plus: float = 1.0, a_minus: float = 1.0, w0: float = 0.5, max_weight: float = 1e6):
    """A ``rule`` ("MSTDP" or "MSTDPET") bound to B one-input, one-neuron networks (float64).

    The learning rate follows Florian's scaling: ``γ`` for MSTDP, ``γ/τ_z`` for
    MSTDPET (his ``dw/dt = γ r z`` with ``τ_z dz/dt = -z + ζ``). ``max_weight``
    is large by default so no clipping hides the change.
    """
    if rule not in RULES:
        raise ValueError(f"bind_rule: rule = {rule!r}; expected one of {sorted(RULES)}.")
    backend = Backend("numpy", dtype="float64")
    weights = Manual(n_inputs=1, n_neurons=1, max_weight=max_weight, matrix=np.array([[w0], [0.0]]),
                     batch_size=batch_size, backend=backend)
    keys = dict(n_inputs=1, n_neurons=1, tau_plus=tau, tau_minus=tau, a_plus=a_plus, a_minus=a_minus,
                batch_size=batch_size, backend=backend)
    if rule == "MSTDP":
        synapse = MSTDP(learning_rate=gamma, **keys)
    else:
        synapse = MSTDPET(learning_rate=gamma / tau_z, tau_eligibility=tau_z, **keys)
    synapse.bind(weights)
    return synapse


def drive(synapse, pre: np.ndarray, post: np.ndarray, reward: np.ndarray) -> dict:
    """Step ``synapse`` through spike trains ``pre``, ``post`` (T, B) 0/1 under ``reward`` (T, B).

    Returns (T, B) arrays recorded after each step: ``w`` (the input -> neuron
    weight), ``pre_trace`` (P+), ``post_trace`` (|P-|) and, for MSTDPET, ``z``.
    """
    steps, B = pre.shape
    record = {name: np.zeros((steps, B)) for name in ("w", "pre_trace", "post_trace", "z")}
    for t in range(steps):
        # Both neurons are presynaptic somewhere: the input to the neuron, the neuron to itself
        # (an absent synapse); both are excitatory, so the signed events are the 0/1 spikes.
        synapse.update(np.stack([pre[t], post[t]], axis=1), post[t][:, None], reward=reward[t])
        record["w"][t] = synapse.weights.matrix[:, 0, 0]
        record["pre_trace"][t] = synapse.pre_trace[:, 0]
        record["post_trace"][t] = synapse.post_trace[:, 0]
        if hasattr(synapse, "trace"):
            record["z"][t] = synapse.trace[:, 0, 0]
    return record


def pair_timing(dts: Sequence[int], lead: int = 5, tail: int = 250) -> tuple[np.ndarray, np.ndarray, int]:
    """Spike steps of the pairs: ``t_pre`` (B,), ``t_post`` (B,) and the run length T.

    All pre spikes fall on one step, chosen so that the earliest spike of any
    lane is at step ``lead``; the run (and its reward) lasts until ``tail``
    steps after the latest spike.
    """
    dts = np.asarray(dts, dtype=int)
    t_pre = np.full(dts.shape, lead + max(0, -int(dts.min())))
    t_post = t_pre + dts
    steps = int(max(t_pre.max(), t_post.max())) + 1 + tail
    return t_pre, t_post, steps


def weight_change_curve(rule: str, dts: Sequence[int], reward: float = 1.0, gamma: float = 0.2,
                        tau_z: float = 25.0, tau: float = 20.0, a_plus: float = 1.0, a_minus: float = 1.0,
                        tail: int = 250) -> np.ndarray:
    """Total weight change ``(len(dts),)`` after one pre/post pair, ``Δt = t_post - t_pre`` steps.

    One lane per Δt; the reward ``reward`` is held at every step of the run
    (from before the pair until ``tail`` steps after it). Units: weight.
    """
    t_pre, t_post, steps = pair_timing(dts, tail=tail)
    B = len(t_pre)
    time_axis = np.arange(steps)[:, None]
    pre = (time_axis == t_pre[None, :]).astype(float)
    post = (time_axis == t_post[None, :]).astype(float)
    w0 = 0.5
    synapse = bind_rule(rule, B, gamma, tau_z, tau, a_plus, a_minus, w0=w0)
    record = drive(synapse, pre, post, np.full((steps, B), float(reward)))
    if record["w"].min() <= 0.0:
        raise ValueError(f"weight_change_curve: the weight reached 0 (from {w0}); the change is clipped. "
                         f"Lower gamma = {gamma} or |reward| = {abs(reward)}.")
    return record["w"][-1] - w0


def stdp_window(dts: Sequence[int], reward: float = 1.0, gamma: float = 0.2, tau: float = 20.0,
                a_plus: float = 1.0, a_minus: float = 1.0) -> np.ndarray:
    """Florian's MSTDP total change, analytically: ``γ r A(Δt)`` with the exponential STDP window."""
    dts = np.asarray(dts, dtype=float)
    window = np.where(dts > 0, a_plus * np.exp(-dts / tau), -a_minus * np.exp(dts / tau))
    return gamma * reward * np.where(dts == 0, a_plus - a_minus, window)


def eligibility_gain(dts: Sequence[int], tau_z: float = 25.0, tail: int = 250) -> np.ndarray:
    """ΔW_MSTDPET / ΔW_MSTDP for each Δt: ``(1 - q^{T - s}) / (τ_z (1 - q))``, q = e^{-1/τ_z}.

    The pairing's ζ, made at step ``s = max(t_pre, t_post)``, stays in the
    trace and is credited at each of the ``T - s`` rewarded steps that follow.
    """
    t_pre, t_post, steps = pair_timing(dts, tail=tail)
    q = math.exp(-1.0 / tau_z)
    remaining = steps - np.maximum(t_pre, t_post)
    return (1.0 - q ** remaining) / (tau_z * (1.0 - q))


def fig1_reward(steps: int, switch: int = 100) -> np.ndarray:
    """Fig. 1's reward (steps,): +1 at t <= ``switch``, -1 after."""
    return np.where(np.arange(steps) <= switch, 1.0, -1.0)


def reference_trace(pre_times=FIG1_PRE, post_times=FIG1_POST, steps: int = 200, w0: float = 0.2,
                    gamma: float = 0.2, tau_z: float = 25.0, tau: float = 20.0, switch: int = 100) -> dict:
    """Florian's MSTDPET equations in plain Python, one synapse (independent of Spikey).

    Per step t: ``P+ = P+ e^{-1/τ} + A+ f_pre``, ``P- = P- e^{-1/τ} + A- f_post``
    (A+ = 1, A- = -1), ``ζ = P+ f_post + P- f_pre``, ``z = z e^{-1/τ_z} + ζ``,
    ``w += (γ/τ_z) r z``. Returns lists per step: P_plus, P_minus, zeta, z, w.
    """
    a_plus, a_minus = 1.0, -1.0
    p_plus = p_minus = z = 0.0
    w = w0
    out = {name: [] for name in ("P_plus", "P_minus", "zeta", "z", "w")}
    for t in range(steps):
        f_pre = 1.0 if t in pre_times else 0.0
        f_post = 1.0 if t in post_times else 0.0
        p_plus = p_plus * math.exp(-1.0 / tau) + a_plus * f_pre
        p_minus = p_minus * math.exp(-1.0 / tau) + a_minus * f_post
        zeta = p_plus * f_post + p_minus * f_pre
        z = z * math.exp(-1.0 / tau_z) + zeta
        r = 1.0 if t <= switch else -1.0
        w = w + gamma / tau_z * r * z
        for name, value in zip(out, (p_plus, p_minus, zeta, z, w)):
            out[name].append(value)
    return out


def trace_experiment(pre_times=FIG1_PRE, post_times=FIG1_POST, steps: int = 200, w0: float = 0.2,
                     gamma: float = 0.2, tau_z: float = 25.0, tau: float = 20.0, switch: int = 100) -> dict:
    """Fig. 1 with Spikey's MSTDPET and MSTDP and the plain-Python reference.

    Returns (steps,) arrays: ``t``, ``pre``, ``post``, ``reward``, Spikey's
    ``P_plus``, ``P_minus`` (= -post trace), ``zeta`` (from z), ``z``, ``w_mstdpet``, ``w_mstdp``;
    the reference's ``ref_P_plus``, ``ref_P_minus``, ``ref_zeta``, ``ref_z``,
    ``ref_w``; and the scalar ``max_abs_diff`` between Spikey's MSTDPET weight
    and the reference's.
    """
    t = np.arange(steps)
    pre = np.isin(t, pre_times).astype(float)[:, None]
    post = np.isin(t, post_times).astype(float)[:, None]
    reward = fig1_reward(steps, switch)[:, None]
    keys = dict(gamma=gamma, tau_z=tau_z, tau=tau, w0=w0, max_weight=1.0)
    et = drive(bind_rule("MSTDPET", 1, **keys), pre, post, reward)
    plain = drive(bind_rule("MSTDP", 1, **keys), pre, post, reward)
    ref = {name: np.asarray(v) for name, v in
           reference_trace(pre_times, post_times, steps, w0, gamma, tau_z, tau, switch).items()}
    z = et["z"][:, 0]
    zeta = z - math.exp(-1.0 / tau_z) * np.r_[0.0, z[:-1]]  # what the trace took in at each step
    result = dict(t=t, pre=pre[:, 0], post=post[:, 0], reward=reward[:, 0], P_plus=et["pre_trace"][:, 0],
                  P_minus=-et["post_trace"][:, 0], zeta=zeta, z=z, w_mstdpet=et["w"][:, 0],
                  w_mstdp=plain["w"][:, 0], **{f"ref_{name}": v for name, v in ref.items()})
    result["max_abs_diff"] = float(np.max(np.abs(result["w_mstdpet"] - ref["w"])))
    return result


def plot(dts: np.ndarray, curves: dict, trace: dict, out: str, tau_z: float) -> None:
    """Save the figure: timing curves (left) and the Fig. 1 traces (right)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(12, 8))
    grid = fig.add_gridspec(6, 2, width_ratios=[1, 1.3], hspace=0.35, wspace=0.25)
    ax = fig.add_subplot(grid[:3, 0])
    ax.axhline(0, color="0.7", lw=0.8)
    ax.axvline(0, color="0.7", lw=0.8)
    ax.plot(dts, curves["MSTDP"], "o-", ms=3, label="MSTDP (learning rate γ)")
    ax.plot(dts, curves["MSTDPET"], "s-", ms=3, mfc="none", label=f"MSTDPET (γ/τ_z, τ_z={tau_z:g})")
    ax.set_xlabel("Δt = t_post - t_pre (steps)")
    ax.set_ylabel("total Δw, reward +1")
    ax.set_title("Weight change after one spike pair")
    ax.legend(fontsize=8)
    ax = fig.add_subplot(grid[3:, 0])
    ratio = np.divide(curves["MSTDPET"], curves["MSTDP"], out=np.full(len(dts), np.nan),
                      where=curves["MSTDP"] != 0)
    ax.plot(dts, ratio, "k.", label="measured ΔW_ET / ΔW_MSTDP")
    ax.plot(dts, eligibility_gain(dts, tau_z), "r-", lw=0.8, label="(1 - q^{T-s}) / (τ_z (1-q))")
    ax.set_xlabel("Δt (steps)")
    ax.set_ylabel("ΔW_MSTDPET / ΔW_MSTDP")
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.legend(fontsize=8)
    panels = [("spikes", None), ("P+, P-", None), ("ζ", "zeta"), ("z", "z"), ("r", "reward"),
              ("w", None)]
    t = trace["t"]
    first = None
    for row, (label, key) in enumerate(panels):
        ax = fig.add_subplot(grid[row, 1], sharex=first)
        first = first or ax
        if label == "spikes":
            ax.vlines(t[trace["pre"] > 0], 0.5, 1.0, color="C0", label="pre")
            ax.vlines(t[trace["post"] > 0], 0.0, 0.5, color="C3", label="post")
            ax.set_yticks([])
            ax.legend(fontsize=7, loc="upper right", ncol=2)
            ax.set_title("Fig. 1: one synapse, reward +1 then -1 after t = 100")
        elif label == "P+, P-":
            ax.plot(t, trace["P_plus"], color="C0")
            ax.plot(t, trace["P_minus"], color="C3")
        elif label == "w":
            ax.plot(t, trace["w_mstdpet"], color="k", label="MSTDPET (Spikey)")
            ax.plot(t, trace["ref_w"], "--", color="orange", label="plain-Python reference")
            ax.plot(t, trace["w_mstdp"], color="C2", lw=0.8, label="MSTDP (Spikey)")
            ax.legend(fontsize=7, loc="upper left")
            ax.set_xlabel("t (steps)")
        else:
            ax.plot(t, trace[key], color="k")
        ax.set_ylabel(label)
        if label != "w":
            ax.tick_params(labelbottom=False)  # shared x axis: hide labels, keep ticks
    save(fig, out, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-dt", type=int, default=50, help="Δt from -max_dt to max_dt steps")
    parser.add_argument("--tau-z", type=float, default=25.0, help="eligibility time constant (steps)")
    parser.add_argument("--out", default="figures/florian_fig1.png", help="figure file (PNG)")
    parser.add_argument("--quick", action="store_true", help="Δt in -20..20 only")
    args = parser.parse_args(argv)
    if args.quick:
        args.max_dt = 20
    started = time.perf_counter()
    dts = np.arange(-args.max_dt, args.max_dt + 1)
    curves = {rule: weight_change_curve(rule, dts, tau_z=args.tau_z) for rule in RULES}
    trace = trace_experiment(tau_z=args.tau_z)
    print(f"Florian (2007) Fig. 1 with Spikey's rules; {len(dts)} lanes (one per Δt), γ = 0.2, τ± = 20, "
          f"τ_z = {args.tau_z:g}")
    print(f"{'Δt':>5} {'MSTDP':>10} {'MSTDPET':>10} {'ratio':>7}")
    for dt in sorted({-20, -10, -5, -1, 0, 1, 5, 10, 20} & set(dts.tolist())):
        i = int(np.flatnonzero(dts == dt)[0])
        m, e = curves["MSTDP"][i], curves["MSTDPET"][i]
        print(f"{dt:>5} {m:>10.5f} {e:>10.5f} {e / m if m else float('nan'):>7.4f}")
    exact = np.max(np.abs(curves["MSTDP"] - stdp_window(dts)))
    gain = np.max(np.abs(curves["MSTDPET"] - curves["MSTDP"] * eligibility_gain(dts, args.tau_z)))
    print(f"max |MSTDP - γ·A(Δt)| = {exact:.2e}; max |MSTDPET - MSTDP·gain| = {gain:.2e}")
    print(f"Fig. 1 trace: w(MSTDPET) {trace['w_mstdpet'][0]:.3f} -> max {trace['w_mstdpet'].max():.3f} -> "
          f"end {trace['w_mstdpet'][-1]:.3f}; max |Spikey - plain Python| = {trace['max_abs_diff']:.2e}")
    steps_et = np.abs(np.diff(trace["w_mstdpet"]))
    steps_plain = np.abs(np.diff(trace["w_mstdp"]))
    print(f"largest one-step change: MSTDPET {steps_et.max():.4f} (changes on {int((steps_et > 0).sum())} "
          f"steps), MSTDP {steps_plain.max():.4f} (changes on {int((steps_plain > 0).sum())} steps)")
    plot(dts, curves, trace, args.out, args.tau_z)
    print(f"figure: {args.out}; wall time {time.perf_counter() - started:.2f} s")
    return dict(dts=dts, curves=curves, trace=trace, out=args.out)


if __name__ == "__main__":
    main()
