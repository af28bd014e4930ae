"""Held-out seeds: a search's best configuration scored on seeds the search never saw.

A search (``spikey evolve``, ``spikey sweep``) picks the configuration that
scored best on its own seeds, so its score is biased upwards: part of it is
the luck of those seeds. The held-out score re-runs the best keys on other
seeds, disjoint from the search's, with the same metric and the same
definition of the score; it is what the configuration is worth on new seeds.

``holdout_seeds`` reads the setting (``holdout_seeds`` in a config's
``evolve:`` / ``sweep:`` section, ``--holdout-seeds`` on the command line):

* absent / ``None``: ``DEFAULT_COUNT`` (10) seeds right after the search's largest seed;
* an int n > 0: n seeds right after the search's largest seed;
* 0, ``False`` or ``[]``: no held-out evaluation;
* a list of ints: those seeds (they must not overlap the search's).

Example
-------
>>> holdout_seeds(None, [0, 1, 2])
[3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
>>> holdout_seeds(2, [5, 9]), holdout_seeds("100,101", [0]), holdout_seeds(0, [0])
([10, 11], [100, 101], [])
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from spikey.module import ConfigError

#: Held-out seeds when the setting is absent.
DEFAULT_COUNT = 10


def holdout_seeds(spec: Any, search_seeds: Sequence[int], key: str = "holdout_seeds") -> list[int]:
    """The held-out seeds of setting ``spec`` for a search over ``search_seeds`` (see the module docstring)."""
    search = [int(s) for s in search_seeds]
    after = max(search) + 1 if search else 0
    if isinstance(spec, str):
        text = spec.strip()
        spec = [int(v) for v in text.split(",") if v.strip()] if "," in text else int(text) if text else None
    if spec is None:
        spec = DEFAULT_COUNT
    if spec is False or (isinstance(spec, (list, tuple)) and not spec):
        return []
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if spec < 0:
            raise ConfigError(f"{key} = {spec}; expected a count >= 0 (0: no held-out evaluation) or a list of "
                              f"seeds.", key=key, value=spec, expected="int >= 0 or a list of seeds")
        return list(range(after, after + int(spec)))
    if isinstance(spec, (list, tuple)) and all(isinstance(s, (int, np.integer)) and not isinstance(s, bool)
                                               for s in spec):
        seeds = [int(s) for s in spec]
        shared = sorted(set(seeds) & set(search))
        if shared:
            raise ConfigError(f"{key} = {seeds} shares the seeds {shared} with the search's own seeds {search}; "
                              f"held-out seeds must be disjoint from them.", key=key, value=seeds,
                              expected=f"seeds not in {search}")
        if min(seeds) < 0:
            raise ConfigError(f"{key} = {seeds}; seeds are ints >= 0.", key=key, value=seeds, expected="ints >= 0")
        return seeds
    raise ConfigError(f"{key} = {spec!r}; expected a count (int >= 0) or a list of seeds.", key=key, value=spec,
                      expected="int >= 0 or a list of ints")


def evaluate_holdout(experiment: Any, keys: dict, seeds: Sequence[int], metric: str, *,
                     score: Callable[[Any], float], last: int | None = None) -> dict:
    """Run ``experiment`` with ``keys`` on ``seeds`` (one batch) and score it as the search did.

    ``score(values)`` turns the counted values into the score: ``values`` is
    the DataFrame of the counted rows (episode, seed, ``metric``); ``last``
    episodes at the end are counted (None: all). Returns a JSON-ready dict:
    ``seeds``, ``metric``, ``score``, ``per_seed`` (mean of the counted episodes
    per seed, in ``seeds``' order), ``episodes`` (those counted).
    """
    from spikey.experiment.run import run_experiment
    trial = experiment.with_keys(dict(keys)).replace(seeds=list(seeds))
    frame = run_experiment(trial, progress=False)
    episodes = sorted(frame["episode"].unique())
    counted = episodes[-last:] if last else episodes
    rows = frame[frame["episode"].isin(counted)]
    per_seed = rows.groupby("seed")[metric].mean()
    return {"seeds": [int(s) for s in seeds], "metric": metric, "score": float(score(rows)),
            "per_seed": [float(per_seed.get(s, float("nan"))) for s in seeds],
            "episodes": [int(e) for e in counted]}


def describe(holdout: dict, search_score: float | None = None) -> str:
    """One line: the held-out score, its seeds and (optionally) the search's own score beside it."""
    seeds = holdout["seeds"]
    span = f"{seeds[0]}..{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else ",".join(map(str, seeds))
    text = f"held-out {holdout['metric']} {holdout['score']:.4g} on {len(seeds)} seeds {span}"
    if search_score is not None:
        text += f" (search's own seeds: {search_score:.4g})"
    return text
