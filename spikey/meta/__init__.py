"""Meta-search over experiment keys: Ray Tune sweeps (``spikey.meta.tune``, ``spikey.meta.space``).

The genetic algorithm (``Population``) lives beside them. Ray is imported only
when a sweep runs.
"""
from spikey.meta.space import key_domain, search_space
from spikey.meta.tune import SweepResult, load_results, make_scheduler, make_trainable, run_sweep
