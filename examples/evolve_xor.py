"""Genetic algorithm over the XOR network's keys (the old Spikey's run_meta.py search), batched.

The network and game are those of ``examples/xor.yaml`` (16 rate-coded
inputs in four pattern groups, one LIF output, MSTDPET, rewarded when the
output's firing matches XOR). Each member is trained from scratch on the same
3 seeds for a short run (4 episodes x 40 game steps); its fitness is the mean
accuracy of the last 2 episodes over the seeds. The first generation is
random (mean fitness about 0.35, best about 0.7); the hand-tuned keys of
xor.yaml score about 0.94, and the GA's best passes them within 3-4
generations (measured before the counter-based random generator: 0.975 after
9 generations). The search's own score is biased upwards by the luck of its 3
seeds: the script ends by training the best keys and the defaults on 10 held-out
seeds (3-12, ``spikey.meta.holdout``), the figure that says what the keys are worth. The genes are the keys the old run_meta.py searched, under this
network's names:

====================  =========================  ==========================
old search            key here                   constraint
====================  =========================  ==========================
inhibitory fractions  input_pct_inhibitory,      (0, 0.5) each
                      neuron_pct_inhibitory
firing threshold      firing_threshold           (0.5, 4.0)
potential decay       potential_decay            (0.01, 0.5)
trace decay           tau_eligibility            [10, 25, 50] (steps)
refractory period     refractory_period          [0, 2] (steps)
max weight            max_weight                 (0.5, 5.0)
STDP window           tau_plus                   [10, 20] (steps)
learning rate         learning_rate              (1e-5, 1e-2, log)
====================  =========================  ==========================

The per-member genes vary inside one batch; ``tau_eligibility``,
``refractory_period`` and ``tau_plus`` are not per-member keys, so members are
grouped by them (at most 12 groups), each group simulated as one network of
members x seeds lanes. The GA folder (default ``runs/evolve_xor``) is
readable by ``spikey report`` and resumable with ``spikey evolve --resume``.

Run ``python examples/evolve_xor.py`` (about 1.5 minutes on 2 busy cores);
``--compare-batching`` times one generation of 64 same-shape members batched
against one network per member, on one core.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CONSTRAINTS = {
    "input_pct_inhibitory": (0.0, 0.5),
    "neuron_pct_inhibitory": (0.0, 0.5),
    "firing_threshold": (0.5, 4.0),
    "potential_decay": (0.01, 0.5),
    "tau_eligibility": [10.0, 25.0, 50.0],
    "refractory_period": [0, 2],
    "max_weight": (0.5, 5.0),
    "tau_plus": [10.0, 20.0],
    "learning_rate": (1e-5, 1e-2, "log"),
}
#: The genes that may differ between the lanes of one network (used by --compare-batching).
PER_MEMBER = ["input_pct_inhibitory", "neuron_pct_inhibitory", "firing_threshold", "potential_decay",
              "max_weight", "learning_rate"]


def experiment(seeds=(0, 1, 2), n_episodes: int = 4, len_episode: int = 40):
    """The XOR experiment of examples/xor.yaml with the GA's run length and seeds."""
    from spikey.experiment import Experiment
    return Experiment.from_file(HERE / "xor.yaml").replace(name="evolve_xor", seeds=list(seeds),
                                                            n_episodes=n_episodes, len_episode=len_episode)


def compare_batching(n_members: int = 64, repeats: int = 2) -> dict:
    """Time one generation of ``n_members`` same-shape members: one batch vs one network each."""
    import numpy as np
    from spikey.meta.genotype import GenotypeSpace
    from spikey.meta.metagame import EvolveNetwork
    exp = experiment()
    space = GenotypeSpace({k: CONSTRAINTS[k] for k in PER_MEMBER}, exp.declared_keys())
    rng = np.random.default_rng(0)
    members = [space.sample(rng) for _ in range(n_members)]
    batched = EvolveNetwork(exp, metric="accuracy", last=2, mode="batched")
    single = EvolveNetwork(exp, metric="accuracy", last=2, mode="single")
    batched(members[:2]), single(members[:1])  # compile the fused kernels first
    times = {"batched": [], "single": []}
    results = {}
    for _ in range(repeats):
        for name, fitness in (("batched", batched), ("single", single)):
            started = time.perf_counter()
            results[name] = fitness(members)
            times[name].append(time.perf_counter() - started)
    assert batched.last_batches == [n_members * len(exp.seeds)]
    same = results["batched"] == results["single"]
    out = {"members": n_members, "lanes": n_members * len(exp.seeds), "batched_s": min(times["batched"]),
           "single_s": min(times["single"]), "identical_fitness": same}
    out["ratio"] = out["batched_s"] / out["single_s"]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="runs/evolve_xor", help="GA folder (default runs/evolve_xor)")
    parser.add_argument("--population", type=int, default=24)
    parser.add_argument("--generations", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help="seed of the GA")
    parser.add_argument("--evaluation", choices=("batched", "single", "ray"), default="batched")
    parser.add_argument("--fresh", action="store_true", help="delete an existing GA folder at --out first")
    parser.add_argument("--compare-batching", action="store_true",
                        help="time 64 same-shape members batched vs one by one on one core, then exit")
    args = parser.parse_args(argv)
    if args.compare_batching:
        # one core: pin this process and its math libraries before they start threads
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
            os.environ[name] = "1"
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        result = compare_batching()
        print(f"{result['members']} members x 3 seeds: batched (one network of {result['lanes']} lanes) "
              f"{result['batched_s']:.2f} s, one by one ({result['members']} networks of 3 lanes) "
              f"{result['single_s']:.2f} s; ratio {result['ratio']:.3f}; identical fitness: "
              f"{result['identical_fitness']}")
        return 0
    from spikey.experiment import run_experiment
    from spikey.meta.population import STATE_FILE, Population
    out = Path(args.out)
    if args.fresh and (out / STATE_FILE).exists():
        shutil.rmtree(out)
    started = time.perf_counter()
    if (out / STATE_FILE).exists():
        print(f"continuing the GA in {out} (use --fresh to start again)")
        population = Population.resume(out, progress=True, n_generations=args.generations,
                                       evaluation=args.evaluation)
    else:
        population = Population(experiment(), CONSTRAINTS, size=args.population, n_generations=args.generations,
                                selection="tournament", tournament_size=3, survivor_fraction=0.125,
                                crossover_fraction=0.25, immigrant_fraction=0.125, mutation_fraction=0.5,
                                metric="accuracy", last=2, seed=args.seed, evaluation=args.evaluation,
                                folder=out, progress=True)
        print(f"GA: {args.population} members x {args.generations} generations, 3 seeds x 4 episodes x 40 "
              f"steps each; fitness = mean accuracy of the last 2 episodes; folder {out}")
    population.run()
    table = population.table()
    per_generation = table.groupby("generation")["fitness"].agg(["max", "mean"])
    per_generation["best_so_far"] = per_generation["max"].cummax()
    print(per_generation.round(4).to_string())
    best = population.best
    print(f"best fitness {best['fitness']:.4f} (generation {best['generation']}):")
    for name, value in best["keys"].items():
        print(f"  {name:<22} {value}")
    # The config's own keys on the same seeds; both on 10 held-out seeds the GA never saw (3-12).
    base = experiment()
    default = run_experiment(base, progress=False)
    print(f"default keys, same seeds: {default[default['episode'] >= 2]['accuracy'].mean():.4f}")
    from spikey.meta.evolve import holdout_evaluation
    from spikey.meta.holdout import describe, evaluate_holdout
    held = holdout_evaluation(population, None)              # written to best.json as "holdout"
    print(f"best keys {describe(held, best['fitness'])}")
    baseline = evaluate_holdout(base, {}, held["seeds"], "accuracy", last=2,
                                score=lambda rows: rows["accuracy"].mean())
    print(f"default keys {describe(baseline)}")
    print(f"wall time {time.perf_counter() - started:.1f} s; GA folder {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
