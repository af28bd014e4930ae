"""Meta-search over experiment keys: Ray Tune sweeps (``spikey.meta.tune``, ``spikey.meta.space``)
and the genetic algorithm (``Population`` over a ``GenotypeSpace``, fitness by ``EvolveNetwork``,
``GASearcher`` to run it under Tune; ``spikey evolve`` on the command line).

Ray is imported only when a sweep runs (``GASearcher`` imports Ray Tune when first used).
"""
from spikey.meta.genotype import GenotypeSpace
from spikey.meta.metagame import EvolveNetwork
from spikey.meta.population import Population, load_members
from spikey.meta.space import key_domain, search_space
from spikey.meta.tune import SweepResult, load_results, make_scheduler, make_trainable, run_sweep

__all__ = ["EvolveNetwork", "GASearcher", "GenotypeSpace", "Population", "SweepResult", "key_domain", "load_members",
           "load_results", "make_scheduler", "make_trainable", "run_sweep", "search_space", "tune_population"]


def __getattr__(name):
    if name in ("GASearcher", "tune_population"):
        from spikey.meta import searcher
        return getattr(searcher, name)
    raise AttributeError(f"module 'spikey.meta' has no attribute {name!r}")
