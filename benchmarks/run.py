"""Throughput of the engine on the XOR benchmark network, against targets, old Spikey and peers.

Run from the repository root::

    python -m benchmarks.run                 # the full table (several minutes)
    python -m benchmarks.run --quick         # a smoke subset (about a minute)
    python -m benchmarks.run --peers         # also BindsNET and Brian2 (see benchmarks/README.md)

Measured in one run, one core (BLAS/OpenMP/torch threads set to 1 before
numpy and torch load):

* network steps/s and lane-steps/s (B networks x steps/s) for the XOR topology
  (``benchmarks/xor.py``) at N = 61, 100, 1,000, 4,000 body neurons, batch
  sizes B = 1, 16, 64, 256, backends numpy and torch-CPU (and torch-CUDA when a
  GPU is present), rules MSTDP, MSTDPET and STDP; a game step is 500 network
  steps, timed end to end (game, rewarder and readout included), best of
  ``--repeats``;
* one GA generation: 64 same-shape members with their own genes, batched
  (B = 64) versus one network after another, twice: the bare engine on this
  benchmark's network (4 game steps each), and the genetic algorithm's own
  evaluation (``spikey.meta.EvolveNetwork``, examples/evolve_xor.py's members on
  the examples/xor.yaml network, 3 seeds each: what ``spikey evolve`` runs);
* memory: peak allocation while building and running B = 64 at N = 1,000
  (float32), against the size of the weight arrays;
* with ``--peers``: the equivalent network in BindsNET and Brian2, measured by
  ``benchmarks/peers.py`` in each peer's own virtual environment (``.venv-bindsnet``,
  ``.venv-brian2``; ``sh benchmarks/install_peers.sh bindsnet|brian2`` creates them);
* beside every throughput, the firing rate it ran at (``body_rate``: spikes per body
  neuron per network step, counted by each simulator), with a warning where a peer's
  rate and Spikey's differ by more than ``RATE_TOLERANCE`` times.

Writes ``results.json``, ``results.csv`` and ``throughput.png`` to ``--out``
(default ``runs/benchmarks``) and prints the ratios.
"""
from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse
import gc
import json
import platform
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from benchmarks import xor

#: Old Spikey on the issue's machine (2 cores, one used), XOR topology, network steps/s (best).
OLD_SPIKEY = {61: 2791.0, 100: 1114.0, 1000: 63.0, 4000: 4.0}
#: Targets of the performance issue, B = 1, one core, network steps/s.
TARGETS = {61: 28000.0, 1000: 2500.0, 4000: 400.0}
TARGET_LANE_STEPS_B64_N61 = 500000.0
TARGET_GA_RATIO = 0.1
TARGET_MEMORY_RATIO = 1.5
SIZES = (61, 100, 1000, 4000)
BATCHES = (1, 16, 64, 256)
RULE_NAMES = ("MSTDP", "MSTDPET", "STDP")
#: Peer environments: name -> (label, default folder under the repository root, variable naming its python).
PEER_ENVIRONMENTS = {"bindsnet": ("BindsNET", ".venv-bindsnet", "SPIKEY_BINDSNET_PYTHON"),
                     "brian2": ("Brian2", ".venv-brian2", "SPIKEY_BRIAN2_PYTHON")}
#: A peer row whose body firing rate differs from Spikey's by more than this factor is flagged.
RATE_TOLERANCE = 2.0


def machine() -> dict:
    """Cores, CPU, versions and BLAS of this machine."""
    info = {"python": sys.version.split()[0], "platform": platform.platform(),
            "cores": os.cpu_count(), "cores_usable": len(os.sched_getaffinity(0)),
            "numpy": np.__version__, "threads_env": {k: os.environ.get(k) for k in
                                                     ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                      "MKL_NUM_THREADS")}}
    try:
        with open("/proc/cpuinfo") as handle:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in handle if "model name" in line)
    except (OSError, StopIteration):
        info["cpu"] = platform.processor()
    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        info["numpy_blas"] = f"{blas.get('name')} {blas.get('version', '')}".strip()
    except Exception:  # older numpy
        info["numpy_blas"] = "unknown"
    try:
        import torch
        torch.set_num_threads(1)
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        info["torch"] = None
        info["cuda"] = None
    try:
        import numba
        info["numba"] = numba.__version__
    except ImportError:
        info["numba"] = None
    return info


def measure(n_neurons: int, batch_size: int, backend: str, rule: str, device: str = "cpu",
            min_time: float = 0.5, repeats: int = 3, processing_time: int = 500) -> dict:
    """Best-of-``repeats`` throughput of one configuration (each repeat runs >= ``min_time`` s)."""
    network, game = xor.build(n_neurons, batch_size, rule, backend=backend, device=device,
                              processing_time=processing_time)
    engine = network.engine  # "compiled" or "reference" (spikey.snn.engine)
    state = xor.play(network, game, 1)  # warm-up: compilation, caches, first allocations
    best = float("inf")
    for _ in range(repeats):
        ticks, started = 0, time.perf_counter()
        while True:
            state = xor.play(network, game, 1, state)
            if device != "cpu":
                import torch
                torch.cuda.synchronize()
            ticks += 1
            elapsed = time.perf_counter() - started
            if elapsed >= min_time:
                break
        best = min(best, elapsed / ticks)
    steps = processing_time / best
    output_rate = float(np.asarray(network.backend.to_numpy(network.output_counts)).mean()) / processing_time
    # spikes per body neuron per network step over the last timed game step (the log holds processing_time steps)
    body_rate = float(network.spike_log[:, -processing_time:, xor.N_INPUTS:].mean())
    del network, game
    gc.collect()
    return {"N": n_neurons, "B": batch_size, "backend": backend if device == "cpu" else f"torch-{device}",
            "rule": rule, "engine": engine, "processing_time": processing_time,
            "steps_per_s": steps, "lane_steps_per_s": steps * batch_size, "output_rate": output_rate,
            "body_rate": body_rate}


def ga_generation(members: int = 64, ticks: int = 4, n_neurons: int = 61, seed: int = 0) -> dict:
    """One generation of ``members`` same-shape networks with their own genes: batched vs one by one.

    Genes: learning rate and firing threshold per member. Each member builds its network and
    plays ``ticks`` game steps of XOR (learning on). Also checks that lane b of the batch ends
    with exactly the weights of member b run alone.
    """
    rng = np.random.default_rng(seed)
    rates = rng.uniform(0.0005, 0.003, members).tolist()
    thresholds = rng.uniform(12.0, 20.0, members).tolist()
    started = time.perf_counter()
    batch, game = xor.build(n_neurons, members, "MSTDP", learning_rate=rates, firing_threshold=thresholds)
    xor.play(batch, game, ticks)
    batched = time.perf_counter() - started
    started = time.perf_counter()
    singles = []
    for member in range(members):
        network, game = xor.build(n_neurons, 1, "MSTDP", seeds=[member], learning_rate=rates[member],
                                  firing_threshold=thresholds[member])
        xor.play(network, game, ticks)
        singles.append(network.weights.matrix[0])
    one_by_one = time.perf_counter() - started
    same = all(np.array_equal(batch.weights.matrix[m], singles[m]) for m in range(members))
    return {"members": members, "ticks": ticks, "N": n_neurons, "batched_s": batched,
            "one_by_one_s": one_by_one, "ratio": batched / one_by_one, "lanes_match": bool(same)}


def ga_evolve(members: int = 64) -> dict:
    """One GA generation as ``spikey evolve`` evaluates it: ``EvolveNetwork`` batched vs one member at a time.

    The members and the network are examples/evolve_xor.py's (6 per-member genes, 3 seeds per
    member, 4 episodes of 40 game steps); fitness values must be identical in both modes.
    """
    out = xor.load_example("evolve_xor").compare_batching(members, repeats=2)
    return {**out, "one_by_one_s": out["single_s"]}


def memory(n_neurons: int = 1000, batch_size: int = 64, rule: str = "MSTDP") -> dict:
    """Peak traced allocation while building and running one game step, over the weights' bytes."""
    gc.collect()
    tracemalloc.start()
    network, game = xor.build(n_neurons, batch_size, rule)
    built = tracemalloc.get_traced_memory()[0]
    xor.play(network, game, 1)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    weight_bytes = network.weights.matrix.nbytes
    result = {"N": n_neurons, "B": batch_size, "rule": rule, "weight_bytes": weight_bytes,
              "held_after_build": built, "held_after_step": current, "peak": peak,
              "held_ratio": current / weight_bytes, "peak_ratio": peak / weight_bytes}
    del network, game
    gc.collect()
    return result


def peer_python(environment: str, override: str | None = None) -> Path:
    """Interpreter of a peer environment: ``override``, else $SPIKEY_<PEER>_PYTHON, else .venv-<peer>/bin/python."""
    _, folder, variable = PEER_ENVIRONMENTS[environment]
    chosen = override or os.environ.get(variable)
    return Path(chosen) if chosen else Path(__file__).resolve().parent.parent / folder / "bin" / "python"


def peers(pythons: dict, sizes, min_time: float, repeats: int, timeout: float) -> tuple[list[dict], list[str]]:
    """Run ``benchmarks/peers.py`` in each peer environment; (its JSON rows, why a peer was skipped).

    ``pythons``: environment name (``PEER_ENVIRONMENTS``) -> interpreter path. Every peer that
    gives no row says why on the console and in the returned list.
    """
    from benchmarks.peers import ENVIRONMENTS  # imports numpy only: safe in Spikey's environment
    root = Path(__file__).resolve().parent.parent
    rows, skipped = [], []

    def skip(message: str) -> None:
        print(f"peers: {message}", flush=True)
        skipped.append(message)

    for environment, python in pythons.items():
        label, folder, variable = PEER_ENVIRONMENTS[environment]
        if not Path(python).exists():
            skip(f"{label} skipped: no interpreter at {python} (create {folder} with "
                 f"`sh benchmarks/install_peers.sh {environment}`, or set {variable})")
            continue
        command = [str(python), "-m", "benchmarks.peers", "--peers", *ENVIRONMENTS[environment],
                   "--sizes", *map(str, sizes), "--min-time", str(min_time), "--repeats", str(repeats)]
        print(f"peers: measuring {label} with {python}", flush=True)
        try:
            done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, "PYTHONPATH": str(root)})
        except subprocess.TimeoutExpired:
            skip(f"{label} skipped: no result within {timeout:.0f} s")
            continue
        found = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        for row in found:
            if "error" in row:
                skip(f"{row['peer']} N={row['N']} failed: {row['error']}")
            else:
                rows.append(row)
        if done.returncode != 0 or not found:
            skip(f"{label}: {python} -m benchmarks.peers exited {done.returncode} with "
                 f"{len(found)} rows:\n{done.stderr[-3000:]}")
    return rows, skipped


def rate_warnings(rows: list[dict], peer_rows: list[dict], tolerance: float = RATE_TOLERANCE) -> list[str]:
    """Lines naming each peer row whose body firing rate is off Spikey's (B = 1, MSTDP) by > ``tolerance``x."""
    warnings = []
    for peer in peer_rows:
        spikey = _lookup(rows, N=peer["N"], B=1, backend="numpy", rule="MSTDP") \
            or _lookup(rows, N=peer["N"], B=1, rule="MSTDP")
        if spikey is None or "body_rate" not in peer:
            continue
        low, high = sorted((spikey["body_rate"], peer["body_rate"]))
        if high > tolerance * low:
            warnings.append(f"warning: firing rates differ by more than {tolerance:g}x at N={peer['N']}: "
                            f"Spikey {spikey['backend']} {spikey['rule']} {spikey['body_rate']:.4f}, "
                            f"{peer['peer']} {peer['body_rate']:.4f} spikes/neuron/step; their steps/s are "
                            f"not like for like")
    return warnings


def plot(rows: list[dict], peer_rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    figure = Figure(figsize=(11, 4))
    left, right = figure.subplots(1, 2)
    for backend in sorted({r["backend"] for r in rows}):
        for rule in RULE_NAMES:
            points = sorted((r["N"], r["steps_per_s"]) for r in rows
                            if r["backend"] == backend and r["rule"] == rule and r["B"] == 1)
            if points:
                left.plot(*zip(*points), "o-", label=f"Spikey {backend} {rule}")
    old = sorted(OLD_SPIKEY.items())
    left.plot(*zip(*old), "k--", label="old Spikey")
    left.plot(*zip(*sorted(TARGETS.items())), "r*", markersize=10, label="target")
    for name in sorted({p["peer"] for p in peer_rows}):
        points = sorted((p["N"], p["steps_per_s"]) for p in peer_rows if p["peer"] == name)
        left.plot(*zip(*points), "s:", label=name)
    left.set(xscale="log", yscale="log", xlabel="N (body neurons)", ylabel="network steps / s",
             title="XOR topology, B = 1, one core")
    left.legend(fontsize=7)
    for n in sorted({r["N"] for r in rows}):
        points = sorted((r["B"], r["lane_steps_per_s"]) for r in rows
                        if r["N"] == n and r["backend"] == "numpy" and r["rule"] == "MSTDP")
        if points:
            right.plot(*zip(*points), "o-", label=f"N = {n}")
    right.set(xscale="log", yscale="log", xlabel="B (networks per batch)", ylabel="lane-steps / s",
              title="batched, numpy, MSTDP")
    right.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--batches", type=int, nargs="+", default=list(BATCHES))
    parser.add_argument("--rules", nargs="+", default=list(RULE_NAMES), choices=RULE_NAMES)
    parser.add_argument("--backends", nargs="+", default=["numpy", "torch"], choices=["numpy", "torch"])
    parser.add_argument("--min-time", type=float, default=0.5, help="seconds per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-weight-gb", type=float, default=0.6,
                        help="skip configurations whose weights exceed this (GB)")
    parser.add_argument("--max-torch-elements", type=float, default=2e7,
                        help="skip torch-CPU configurations with more weight entries than this (slow)")
    parser.add_argument("--out", default="runs/benchmarks")
    parser.add_argument("--quick", action="store_true", help="N 61 and 1,000; B 1 and 64; numpy MSTDP")
    parser.add_argument("--no-ga", action="store_true")
    parser.add_argument("--peers", action="store_true", help="also measure BindsNET and Brian2")
    for environment, (label, folder, variable) in PEER_ENVIRONMENTS.items():
        parser.add_argument(f"--{environment}-python", metavar="PATH",
                            help=f"{label}'s interpreter (default ${variable}, else {folder}/bin/python)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.batches, args.rules, args.backends = [61, 1000], [1, 64], ["MSTDP"], ["numpy"]
        args.repeats, args.min_time = 2, 0.3
    info = machine()
    print("machine:", json.dumps(info))
    devices = [("numpy", "cpu")] if "numpy" in args.backends else []
    if "torch" in args.backends and info.get("torch"):
        devices.append(("torch", "cpu"))
        if info.get("cuda"):
            devices.append(("torch", "cuda"))
    rows, skipped = [], []
    for backend, device in devices:
        for rule in args.rules:
            for n in args.sizes:
                for b in args.batches:
                    entries = b * (xor.N_INPUTS + n) * n
                    label = f"{backend}-{device} {rule} N={n} B={b}"
                    if entries * 4 > args.max_weight_gb * 1e9:
                        skipped.append(f"{label}: weights {entries * 4 / 1e9:.1f} GB > --max-weight-gb")
                        continue
                    if backend == "torch" and device == "cpu" and entries > args.max_torch_elements:
                        skipped.append(f"{label}: {entries:.1e} weights > --max-torch-elements")
                        continue
                    # the reference path is slow at large N: shorter game steps, same steps/s
                    steps = 500 if backend == "numpy" or n <= 100 else 20
                    row = measure(n, b, backend, rule, device, args.min_time, args.repeats, steps)
                    rows.append(row)
                    print(f"{label:<34} {row['engine']:<9} {row['steps_per_s']:>11,.0f} steps/s "
                          f"{row['lane_steps_per_s']:>13,.0f} lane-steps/s "
                          f"{row['body_rate']:>8.4f} spikes/neuron/step", flush=True)
    result = {"machine": info, "rows": rows, "skipped": skipped}
    if not args.no_ga:
        result["ga"] = ga_generation(ticks=2 if args.quick else 4)
        print("GA generation (engine):", json.dumps(result["ga"]))
        result["ga_evolve"] = ga_evolve()
        print("GA generation (EvolveNetwork):", json.dumps(result["ga_evolve"]))
    result["memory"] = [memory(1000, 64, "MSTDP")] + ([] if args.quick else [memory(1000, 64, "MSTDPET")])
    for entry in result["memory"]:
        print("memory:", json.dumps(entry))
    peer_rows = []
    if args.peers:
        pythons = {name: peer_python(name, getattr(args, f"{name}_python")) for name in PEER_ENVIRONMENTS}
        peer_rows, peers_skipped = peers(pythons, list(args.sizes), args.min_time, args.repeats, 3600)
        skipped += peers_skipped
    result["peers"] = peer_rows
    for row in peer_rows:
        print(f"peer {row['peer']:<16} N={row['N']:<5} {row['steps_per_s']:>11,.0f} steps/s "
              f"{row['body_rate']:>8.4f} spikes/neuron/step  ({row.get('note', '')})")
    result["warnings"] = rate_warnings(rows, peer_rows)
    for line in result["warnings"]:
        print(line)
    result["ratios"] = report(rows, peer_rows, result)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=1, default=float))
    import csv
    with open(out / "results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["N"])
        writer.writeheader()
        writer.writerows(rows)
        for row in peer_rows:
            writer.writerow({"N": row["N"], "B": 1, "backend": row["peer"], "rule": row.get("rule", "MSTDP"),
                             "engine": "peer", "processing_time": row.get("processing_time", 500),
                             "steps_per_s": row["steps_per_s"], "lane_steps_per_s": row["steps_per_s"],
                             "output_rate": row.get("output_rate", float("nan")),
                             "body_rate": row["body_rate"]})
    plot(rows, peer_rows, out / "throughput.png")
    print(f"wrote {out / 'results.json'}, {out / 'results.csv'}, {out / 'throughput.png'}")
    if skipped:
        print("skipped:", *skipped, sep="\n  ")
    return result


def _lookup(rows, **match):
    for row in rows:
        if all(row.get(k) == v for k, v in match.items()):
            return row
    return None


def report(rows: list[dict], peer_rows: list[dict], result: dict) -> dict:
    """Print and return the ratios against old Spikey, the targets and the peers."""
    ratios = {}
    print("\nB = 1, numpy, MSTDP (network steps/s):")
    for n in sorted({r["N"] for r in rows}):
        row = _lookup(rows, N=n, B=1, backend="numpy", rule="MSTDP")
        if row is None:
            continue
        line = f"  N={n:<5} {row['steps_per_s']:>10,.0f}"
        entry = {"steps_per_s": row["steps_per_s"]}
        if n in OLD_SPIKEY:
            entry["vs_old_spikey"] = row["steps_per_s"] / OLD_SPIKEY[n]
            line += f"  {entry['vs_old_spikey']:>7.1f}x old Spikey"
        if n in TARGETS:
            entry["vs_target"] = row["steps_per_s"] / TARGETS[n]
            line += f"  {entry['vs_target']:>5.2f}x target ({'met' if entry['vs_target'] >= 1 else 'NOT met'})"
        for peer in sorted({p["peer"] for p in peer_rows}):
            other = _lookup(peer_rows, N=n, peer=peer)
            if other:
                entry[f"vs_{peer}"] = row["steps_per_s"] / other["steps_per_s"]
                line += f"  {entry[f'vs_{peer}']:>7.1f}x {peer}"
        ratios[f"N={n}"] = entry
        print(line)
    row = _lookup(rows, N=61, B=64, backend="numpy", rule="MSTDP")
    if row:
        ratios["B64_N61_lane_steps"] = row["lane_steps_per_s"]
        print(f"B=64, N=61: {row['lane_steps_per_s']:,.0f} lane-steps/s "
              f"({row['lane_steps_per_s'] / TARGET_LANE_STEPS_B64_N61:.2f}x target)")
    torch_row = _lookup(rows, N=61, B=1, backend="torch", rule="MSTDP")
    numpy_row = _lookup(rows, N=61, B=1, backend="numpy", rule="MSTDP")
    if torch_row and numpy_row:
        print(f"numpy / torch-CPU at N=61, B=1: {numpy_row['steps_per_s'] / torch_row['steps_per_s']:.1f}x")
    if "ga" in result:
        ga = result["ga"]
        print(f"GA generation of {ga['members']} (bare engine, N={ga['N']}): batched {ga['batched_s']:.2f} s, one by one "
              f"{ga['one_by_one_s']:.2f} s: ratio {ga['ratio']:.3f} (target <= {TARGET_GA_RATIO}); "
              f"lanes match: {ga['lanes_match']}")
        ratios["ga"] = ga["ratio"]
    if "ga_evolve" in result:
        ga = result["ga_evolve"]
        print(f"GA generation of {ga['members']} through spikey.meta.EvolveNetwork ({ga['lanes']} lanes): batched "
              f"{ga['batched_s']:.2f} s, one by one {ga['one_by_one_s']:.2f} s: ratio {ga['ratio']:.3f} "
              f"(target <= {TARGET_GA_RATIO}); identical fitness: {ga['identical_fitness']}")
        ratios["ga_evolve"] = ga["ratio"]
    for entry in result.get("memory", []):
        print(f"memory B={entry['B']} N={entry['N']} {entry['rule']}: peak {entry['peak'] / 1e6:,.0f} MB = "
              f"{entry['peak_ratio']:.2f}x the weights ({entry['weight_bytes'] / 1e6:,.0f} MB; target <= "
              f"{TARGET_MEMORY_RATIO}); held after a game step {entry['held_ratio']:.2f}x")
        ratios[f"memory_{entry['rule']}"] = entry["peak_ratio"]
    return ratios


if __name__ == "__main__":
    main()
