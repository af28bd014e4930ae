"""The benchmark network in BindsNET and Brian2; run in each peer's own environment.

``python -m benchmarks.run --peers`` calls this once per peer environment
(``.venv-bindsnet``, ``.venv-brian2``; see benchmarks/README.md) and reads one
JSON line per measurement from its standard output: a row with ``steps_per_s``
and ``body_rate``, or a row with ``error`` when a peer failed. It imports
neither Spikey nor its torch, so each peer can pin what it needs.
``python -m benchmarks.peers --check bindsnet|brian2`` builds and runs a small
network once (the install script's last step).

The equivalent network (``benchmarks/xor.py``): 60 Poisson inputs (30 firing
at 0.08 spikes per 1 ms step, half of each group inhibitory) -> N - 1 leaky
integrate-and-fire hidden neurons (a quarter inhibitory) -> 1 excitatory
output; threshold 16, reset to 0, 5 % leak per step, a spontaneous spike with
probability 0.01 per neuron and step; all-to-all input->hidden and
hidden->output synapses with magnitudes drawn from [0, 8] and [0, 2], clipped
to [0, 5], and reward-modulated STDP (MSTDP: pair traces with 20-step time
constants, the change scaled by the reward, the magnitude kept in [0, 5]).
Each library runs a 500-step game step in one call with one reward for the
whole call (its most favourable form: Spikey's figures recompute the reward at
every step from the output spike); BindsNET replays one drawn input and
spontaneous-spike pattern at every call. Each measurement is the best of
``--repeats`` repeats of at least ``--min-time`` seconds, after a warm-up call
(code generation). ``body_rate`` is the mean number of spikes per body neuron
(hidden and output) per network step, counted by the simulator over one more
500-step call after the timing, so that runs at different activity are not
compared as like for like.
"""
from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse
import json
import sys
import time

import numpy as np

STEPS = 500
N_INPUTS = 60
RATE = 0.08
THRESHOLD, DECAY, MAX_W, LR, TAU = 16.0, 0.05, 5.0, 0.0015, 20.0
P_RAND = 0.01  # spontaneous spike probability per neuron and step (xor.py's prob_rand_fire)
PCT_INHIBITORY = 0.25  # fraction of inhibitory hidden neurons (xor.py's neuron_pct_inhibitory)
INPUT_SCALE, HIDDEN_SCALE = 8.0, 2.0  # initial magnitudes drawn from [0, scale], then clipped to MAX_W

#: Peer environment -> the measurements run in it (``--peers`` values).
ENVIRONMENTS = {"bindsnet": ("bindsnet",), "brian2": ("brian2-cython", "brian2-numpy")}


def _timed(step, min_time: float, repeats: int) -> float:
    """Best seconds per call of ``step()`` after one warm-up call."""
    step()
    best = float("inf")
    for _ in range(repeats):
        calls, started = 0, time.perf_counter()
        while True:
            step()
            calls += 1
            elapsed = time.perf_counter() - started
            if elapsed >= min_time:
                break
        best = min(best, elapsed / calls)
    return best


def input_polarity() -> np.ndarray:
    """(N_INPUTS,) +1/-1: half of each of the four interleaved input groups inhibitory."""
    return np.resize(np.r_[np.ones(4), -np.ones(4)], N_INPUTS)


def hidden_polarity(hidden: int, rng: np.random.Generator) -> np.ndarray:
    """(hidden,) +1/-1, each neuron inhibitory with probability PCT_INHIBITORY."""
    return np.where(rng.random(hidden) < PCT_INHIBITORY, -1.0, 1.0)


def input_rates() -> np.ndarray:
    """(N_INPUTS,) spike probabilities per step: XOR state (0, 0), groups a=0 and b=0 active."""
    return np.tile([RATE, 0.0, RATE, 0.0], N_INPUTS // 4)


def bindsnet_network(n_neurons: int):
    """BindsNET network, its inputs and per-step voltage kicks (spontaneous spikes): (network, run kwargs).

    Signed weights (polarity x magnitude) bounded to [0, 5] or [-5, 0]: BindsNET's MSTDP changes the
    signed weight by what Spikey's changes the magnitude times the polarity, the same equation.
    """
    import torch
    from bindsnet.learning import MSTDP
    from bindsnet.network import Network
    from bindsnet.network.nodes import Input, LIFNodes
    from bindsnet.network.topology import Connection

    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    hidden = n_neurons - 1
    network = Network(dt=1.0)
    tc_decay = -1.0 / np.log(1.0 - DECAY)  # v <- v * (1 - d) per 1 ms step
    network.add_layer(Input(n=N_INPUTS, traces=True, tc_trace=TAU), name="X")
    for name, size in (("H", hidden), ("O", 1)):
        network.add_layer(LIFNodes(n=size, traces=True, tc_trace=TAU, thresh=THRESHOLD, rest=0.0, reset=0.0,
                                   refrac=0, tc_decay=tc_decay), name=name)
    def as_tensor(values: np.ndarray):
        return torch.tensor(np.ascontiguousarray(values), dtype=torch.float32)

    sign_in = np.broadcast_to(input_polarity()[:, None], (N_INPUTS, hidden))
    sign_hidden = hidden_polarity(hidden, rng)[:, None]
    for source, target, scale, sign in (("X", "H", INPUT_SCALE, sign_in), ("H", "O", HIDDEN_SCALE, sign_hidden)):
        magnitude = np.clip(rng.uniform(0, scale, sign.shape), 0, MAX_W)
        network.add_connection(Connection(network.layers[source], network.layers[target], w=as_tensor(sign * magnitude),
                                          update_rule=MSTDP, nu=LR, wmin=as_tensor(np.minimum(sign, 0) * MAX_W),
                                          wmax=as_tensor(np.maximum(sign, 0) * MAX_W)),
                               source=source, target=target)
    spikes = torch.tensor(rng.random((STEPS, N_INPUTS)) < input_rates())
    # a voltage far above threshold: the neuron spikes and resets in that step, as a spontaneous spike does
    kicks = {name: torch.tensor(np.where(rng.random((STEPS, size)) < P_RAND, 1e4, 0.0), dtype=torch.float32)
             for name, size in (("H", hidden), ("O", 1))}
    return network, {"inputs": {"X": spikes}, "time": STEPS, "reward": 1.0, "injects_v": kicks}


def bindsnet_rate(n_neurons: int, min_time: float, repeats: int) -> dict:
    """Steps/s and body firing rate of the BindsNET network (torch CPU, one thread)."""
    from importlib.metadata import version

    import torch
    from bindsnet.network.monitors import Monitor

    network, run = bindsnet_network(n_neurons)
    seconds = _timed(lambda: network.run(**run), min_time, repeats)
    for name in ("H", "O"):
        network.add_monitor(Monitor(network.layers[name], state_vars=("s",), time=STEPS), name=f"spikes {name}")
    network.run(**run)
    spikes = sum(int(network.monitors[f"spikes {name}"].get("s").sum()) for name in ("H", "O"))
    return {"peer": "BindsNET", "N": n_neurons, "steps_per_s": STEPS / seconds, "rule": "MSTDP",
            "body_rate": spikes / (n_neurons * STEPS), "version": version("bindsnet"),  # the package has no __version__
            "torch": torch.__version__, "note": "torch CPU, 1 thread, reward per 500-step run"}


def brian2_network(n_neurons: int, target: str):
    """Brian2 network (runtime mode, code generation ``target``): (network, body neuron group)."""
    import brian2 as b2

    b2.prefs.codegen.target = target
    b2.set_device("runtime")
    b2.start_scope()
    b2.seed(0)
    rng = np.random.default_rng(0)
    b2.defaultclock.dt = 1 * b2.ms
    hidden = n_neurons - 1
    inputs = b2.PoissonGroup(N_INPUTS, rates=input_rates() / b2.ms)
    tau_v = (-1.0 / np.log(1.0 - DECAY)) * b2.ms
    neurons = b2.NeuronGroup(n_neurons, "dv/dt = -v / tau_v : 1", threshold=f"v >= {THRESHOLD} or rand() < {P_RAND}",
                             reset="v = 0", method="exact", namespace={"tau_v": tau_v})
    model = """w : 1
               pol : 1
               dapre/dt = -apre / taup : 1 (event-driven)
               dapost/dt = -apost / taum : 1 (event-driven)"""
    # MSTDP with traces: a pre spike depresses by the post trace, a post spike potentiates by the pre
    # trace, both times lr * reward and the presynaptic polarity (stored weights are magnitudes).
    on_pre = """v_post += w * pol
                apre += 1.0
                w = clip(w - lr * reward * pol * apost, 0, wmax)"""
    on_post = """apost += 1.0
                 w = clip(w + lr * reward * pol * apre, 0, wmax)"""
    namespace = {"taup": TAU * b2.ms, "taum": TAU * b2.ms, "lr": LR, "wmax": MAX_W, "reward": 1.0}
    first = b2.Synapses(inputs, neurons[:hidden], model, on_pre=on_pre, on_post=on_post, namespace=namespace)
    first.connect()
    first.w = f"clip(rand() * {INPUT_SCALE}, 0, wmax)"
    first.pol = input_polarity()[np.asarray(first.i[:])]
    second = b2.Synapses(neurons[:hidden], neurons[hidden:], model, on_pre=on_pre, on_post=on_post,
                         namespace=namespace)
    second.connect()
    second.w = f"clip(rand() * {HIDDEN_SCALE}, 0, wmax)"
    second.pol = hidden_polarity(hidden, rng)[np.asarray(second.i[:])]
    return b2.Network(inputs, neurons, first, second), neurons


def brian2_rate(n_neurons: int, min_time: float, repeats: int, target: str) -> dict:
    """Steps/s and body firing rate of the Brian2 network with code generation ``target``."""
    import brian2 as b2

    network, neurons = brian2_network(n_neurons, target)
    seconds = _timed(lambda: network.run(STEPS * b2.ms), min_time, repeats)
    counter = b2.SpikeMonitor(neurons, record=False)
    network.add(counter)
    network.run(STEPS * b2.ms)
    return {"peer": f"Brian2-{target}", "N": n_neurons, "steps_per_s": STEPS / seconds, "rule": "MSTDP",
            "body_rate": int(counter.num_spikes) / (n_neurons * STEPS), "version": b2.__version__,
            "note": f"runtime mode, codegen {target}, reward per 500-step run"}


def measure(peer: str, n_neurons: int, min_time: float, repeats: int) -> dict:
    """One measurement row of ``peer`` (a ``--peers`` value) at N = ``n_neurons``."""
    if peer == "bindsnet":
        return bindsnet_rate(n_neurons, min_time, repeats)
    if peer.startswith("brian2-"):
        return brian2_rate(n_neurons, min_time, repeats, peer.split("-", 1)[1])
    known = [name for names in ENVIRONMENTS.values() for name in names]
    raise ValueError(f"unknown peer {peer!r}; expected one of {known}")


def check(environment: str) -> None:
    """Build and run each measurement of ``environment`` once at N = 61; print versions and rates."""
    for peer in ENVIRONMENTS[environment]:
        row = measure(peer, 61, 0.0, 1)
        print(f"{peer}: ok, version {row['version']}, {row['steps_per_s']:,.0f} steps/s, "
              f"body rate {row['body_rate']:.4f} spikes/neuron/step", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[61, 100, 1000, 4000])
    parser.add_argument("--min-time", type=float, default=0.5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peers", nargs="+", default=["bindsnet", "brian2-cython", "brian2-numpy"],
                        choices=[name for names in ENVIRONMENTS.values() for name in names])
    parser.add_argument("--check", choices=sorted(ENVIRONMENTS),
                        help="build and run this environment's peers once (exit 1 if one fails)")
    args = parser.parse_args(argv)
    if args.check:
        check(args.check)
        return
    for n in args.sizes:
        for peer in args.peers:
            try:
                row = measure(peer, n, args.min_time, args.repeats)
            except Exception as error:  # a row that says why, and go on with the other peers
                row = {"peer": peer, "N": n, "error": f"{type(error).__name__}: {error}"}
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
