"""Experiments: one spec (``Experiment``), the episode loop, run folders, local and Ray Train runs.

* ``Experiment`` (``spikey.experiment.config``): network class, parts, game, one
  flat dict of keys and run settings; read from YAML/JSON, validated up front.
* ``run_episodes`` (``loop``): B networks against B games, one metrics row per episode and lane.
* ``run_experiment`` (``run``): all seeds as one batch in this process, with a
  run folder (config, metrics, checkpoint, status) and resume.
* ``run_train`` (``train``): the same on Ray Train workers, seeds split between them.
"""
from spikey.experiment.loop import run_episodes
from spikey.experiment.config import Experiment, ExperimentError, check_compatible, resolve_reference
from spikey.experiment.results import RunFolder
from spikey.experiment.run import ShardRunner, evaluate, run_experiment, summarize


def run_train(*args, **kwargs):
    """Run an Experiment on Ray Train workers (see ``spikey.experiment.train.run_train``)."""
    from spikey.experiment.train import run_train as _run_train
    return _run_train(*args, **kwargs)
