"""The benchmark network in BindsNET and Brian2; run in the peers' own environment.

``python -m benchmarks.run --peers`` calls this with the interpreter of the
peers' virtual environment (see benchmarks/README.md) and reads one JSON line
per measurement from its standard output. It imports neither Spikey nor its
torch, so the peers can pin what they need.

The equivalent network (``benchmarks/xor.py``): 60 Poisson inputs (30 firing
at 0.08 spikes per 1 ms step, half of each group inhibitory) -> N - 1 leaky
integrate-and-fire hidden neurons -> 1 output; threshold 16, reset to 0, 5 %
leak per step; all-to-all input->hidden and hidden->output synapses with
weights in [0, 5] and reward-modulated STDP (MSTDP: pair traces with 20-step
time constants, the weight change scaled by the reward). Each library runs a
500-step game step in one call with one reward for the whole call (its most
favourable form: Spikey's figures recompute the reward at every step from the
output spike). Each measurement is the best of ``--repeats`` repeats of at
least ``--min-time`` seconds, after a warm-up call (code generation).
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
    return np.resize(np.r_[np.ones(4), -np.ones(4)], N_INPUTS)


def bindsnet_rate(n_neurons: int, min_time: float, repeats: int) -> dict:
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
    network.add_layer(LIFNodes(n=hidden, traces=True, tc_trace=TAU, thresh=THRESHOLD, rest=0.0, reset=0.0,
                               refrac=0, tc_decay=tc_decay), name="H")
    network.add_layer(LIFNodes(n=1, traces=True, tc_trace=TAU, thresh=THRESHOLD, rest=0.0, reset=0.0,
                               refrac=0, tc_decay=tc_decay), name="O")
    w_in = torch.tensor(rng.uniform(0, 8.0, (N_INPUTS, hidden)), dtype=torch.float32)
    w_out = torch.tensor(rng.uniform(0, 2.0, (hidden, 1)), dtype=torch.float32)
    network.add_connection(Connection(network.layers["X"], network.layers["H"], w=w_in, update_rule=MSTDP,
                                      nu=LR, wmin=0.0, wmax=MAX_W), source="X", target="H")
    network.add_connection(Connection(network.layers["H"], network.layers["O"], w=w_out, update_rule=MSTDP,
                                      nu=LR, wmin=0.0, wmax=MAX_W), source="H", target="O")
    rates = np.tile([RATE, 0.0, RATE, 0.0], N_INPUTS // 4)
    spikes = torch.tensor(rng.random((STEPS, N_INPUTS)) < rates)

    def step():
        network.run(inputs={"X": spikes}, time=STEPS, reward=1.0)
    seconds = _timed(step, min_time, repeats)
    import bindsnet
    return {"peer": "BindsNET", "N": n_neurons, "steps_per_s": STEPS / seconds, "rule": "MSTDP",
            "version": getattr(bindsnet, "__version__", "?"), "torch": torch.__version__,
            "note": "torch CPU, 1 thread, reward per 500-step run"}


def brian2_rate(n_neurons: int, min_time: float, repeats: int, target: str) -> dict:
    import brian2 as b2

    b2.prefs.codegen.target = target
    b2.set_device("runtime")
    b2.start_scope()
    b2.seed(0)
    b2.defaultclock.dt = 1 * b2.ms
    hidden = n_neurons - 1
    rates = np.tile([RATE, 0.0, RATE, 0.0], N_INPUTS // 4) / b2.ms
    inputs = b2.PoissonGroup(N_INPUTS, rates=rates)
    tau_v = (-1.0 / np.log(1.0 - DECAY)) * b2.ms
    neurons = b2.NeuronGroup(n_neurons, "dv/dt = -v / tau_v : 1", threshold=f"v >= {THRESHOLD}",
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
    first.w = "rand() * 8.0"
    first.pol = np.tile(np.repeat(input_polarity()[:, None], 1, axis=1), (1, hidden)).ravel()
    second = b2.Synapses(neurons[:hidden], neurons[hidden:], model, on_pre=on_pre, on_post=on_post,
                         namespace=namespace)
    second.connect()
    second.w = "rand() * 2.0"
    second.pol = 1.0
    network = b2.Network(inputs, neurons, first, second)

    def step():
        network.run(STEPS * b2.ms)
    seconds = _timed(step, min_time, repeats)
    return {"peer": f"Brian2-{target}", "N": n_neurons, "steps_per_s": STEPS / seconds, "rule": "MSTDP",
            "version": b2.__version__, "note": f"runtime mode, codegen {target}, reward per 500-step run"}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[61, 100, 1000, 4000])
    parser.add_argument("--min-time", type=float, default=0.5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peers", nargs="+", default=["bindsnet", "brian2-cython", "brian2-numpy"])
    args = parser.parse_args(argv)
    for n in args.sizes:
        for peer in args.peers:
            try:
                if peer == "bindsnet":
                    row = bindsnet_rate(n, args.min_time, args.repeats)
                else:
                    row = brian2_rate(n, args.min_time, args.repeats, peer.split("-", 1)[1])
            except Exception as error:  # report and go on with the other peers
                print(f"{peer} N={n}: {type(error).__name__}: {error}", file=sys.stderr)
                continue
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
