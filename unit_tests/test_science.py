"""Classic results as regression tests: each reference experiment, reduced, learns against its control.

Every test trains a reduced version of one reference experiment (examples/)
on fresh seeds, with its learning-rate-0 control lanes (the same seeds, the
same initial weights and inputs) in the same batch, and requires:

* a one-sided exact Mann-Whitney U test of learning > control at p < 0.01
  (``spikey.analysis.seeds.mann_whitney_u``), and
* most seeds learned by the example's own criterion (above the best control
  seed): at least ``n - 1`` of the ``n`` seeds (``n - 2`` of 8 for XOR: with the
  homeostatic floor 30/30 rate-coded and 28/30 temporally coded seeds learned).

A change that breaks learning (a rule, a part, the engine, the reward path)
fails here, in the default test command. The seeds are drawn fresh on every
run from one logged seed: the session's header prints
``science seed: N``; ``SPIKEY_SCIENCE_SEED=N`` draws the same seeds again to
reproduce a failure. ``SPIKEY_SCIENCE_LEARNING_RATE=0`` trains the learning
lanes with learning rate 0 (a check that these tests can fail: they must).
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from example_scripts import load_example
from spikey.analysis.seeds import format_report, seed_report

#: One-sided p-value every experiment must reach against its control.
ALPHA = 0.01
SEED_ENV = "SPIKEY_SCIENCE_SEED"
#: Multiplies the learning lanes' learning rate: 0 switches learning off (the tests must then fail).
RATE_ENV = "SPIKEY_SCIENCE_LEARNING_RATE"


def science_seed() -> int:
    """The run's seed: ``SPIKEY_SCIENCE_SEED`` (conftest.py sets a fresh one per run and prints it in the header)."""
    value = os.environ.get(SEED_ENV)
    if not value:
        value = str(int.from_bytes(os.urandom(4), "little") % 1_000_000)
        os.environ[SEED_ENV] = value  # one seed for the whole session
    return int(value)


def draw_seeds(experiment: str, n: int) -> list[int]:
    """``n`` distinct seeds in [0, 10^6) for ``experiment``, drawn from the run's seed."""
    rng = np.random.default_rng([science_seed(), sum(map(ord, experiment))])
    return sorted(int(s) for s in rng.choice(1_000_000, size=n, replace=False))


def rate_scale() -> float:
    return float(os.environ.get(RATE_ENV, "1"))


def check(name: str, values, control, seeds, higher_is_better: bool = True, misses: int = 1) -> dict:
    """The two requirements of the module docstring (at most ``misses`` seeds not learned); prints the report."""
    report = seed_report(name, values, control, seeds, higher_is_better=higher_is_better)
    text = f"{format_report(report)}\n(science seed {science_seed()}: {SEED_ENV}={science_seed()} reproduces)"
    print(f"\n[{name}]\n{text}")
    assert report["p_value"] < ALPHA, f"learning does not beat its control at p < {ALPHA}:\n{text}"
    assert report["n_learned"] >= report["n"] - misses, f"fewer than {report['n'] - misses} seeds learned:\n{text}"
    return report


def test_xor_rate_coding_learns():
    fx = load_example("florian_xor")
    seeds = draw_seeds("xor-rate", 8)
    out = fx.experiment("rate", seeds, **fx.SCIENCE, learning_rate=rate_scale() * fx.rate_coded_keys()["learning_rate"],
                        log=None)
    check("xor rate accuracy", out["result"]["accuracy"], out["control"]["accuracy"], seeds, misses=2)


def test_xor_temporal_coding_learns():
    fx = load_example("florian_xor")
    seeds = draw_seeds("xor-temporal", 8)
    out = fx.experiment("temporal", seeds, **fx.SCIENCE,
                        learning_rate=rate_scale() * fx.rate_coded_keys()["learning_rate"], log=None)
    check("xor temporal accuracy", out["result"]["accuracy"], out["control"]["accuracy"], seeds, misses=2)


def test_izhikevich_conditioning_learns():
    cond = load_example("izhikevich_conditioning")
    seeds = draw_seeds("izhikevich", 6)
    config = dict(cond.FAST, **cond.SCIENCE)
    config["learning_rate"] *= rate_scale()
    result = cond.run(seeds, **config)
    summary = result["summary"]
    learning, control = summary[summary["lane"] < len(seeds)], summary[summary["lane"] >= len(seeds)]
    check("izhikevich rewarded/unrewarded ratio", learning["ratio_after"], control["ratio_after"], seeds, misses=2)


def test_cartpole_learns():
    cartpole = load_example("cartpole")
    seeds = draw_seeds("cartpole", 6)
    out = cartpole.experiment(seeds, learning_rate=rate_scale() * cartpole.LEARNING_RATE, log=None,
                              **cartpole.SCIENCE)
    check("cartpole evaluation length", out["trained"], out["control"], seeds)


def test_digits_learns():
    digits = load_example("digits")
    seeds = draw_seeds("digits", 6)
    out = digits.experiment(seeds, learning_rate=rate_scale() * digits.LEARNING_RATE, log=None, **digits.SCIENCE)
    check("digits test accuracy", out["result"]["test_accuracy"], out["result"]["control_accuracy"], seeds)
