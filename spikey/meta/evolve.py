"""``spikey evolve``: the genetic algorithm over an experiment config's keys, resumable.

::

    spikey evolve CONFIG [--out DIR] [--generations N] [--population P] [--seeds S] [--seed N]
                         [--metric M] [--last K] [--evaluation batched|single|ray] [--time-budget S]
                         [--target F] [--holdout-seeds N|LIST] [--set KEY=VALUE ...] [--quiet]
    spikey evolve --resume DIR [--generations N] [--time-budget S] [--evaluation ...] [--holdout-seeds ...] [--trust-pickle]
    spikey evolve DIR                         # same as --resume DIR

CONFIG is an experiment YAML/JSON file (``spikey.experiment.config``) with an
``evolve:`` section: the constraints (file form: ``[low, high]`` and
``[low, high, log]`` are ranges, ``{choices: [...]}`` or longer lists are
choices; see ``spikey.meta.genotype``) and GA settings (``spikey.meta.population.DEFAULTS``;
``population`` and ``generations`` are accepted for ``size`` and ``n_generations``)::

    evolve:
      population: 16
      generations: 8
      seed: 0
      metric: accuracy          # fitness: mean over the last `last` episodes and all seeds
      last: 2
      selection: tournament
      holdout_seeds: 10         # best keys re-scored on 10 seeds after the search's (0: off)
      constraints:
        learning_rate: [0.00001, 0.01, log]
        firing_threshold: [0.5, 3.0]
        refractory_period: {choices: [0, 2]}

Everything (experiment, constraints, settings, metric) is checked, and one
member built and stepped, before the first generation starts. The GA folder
(``--out``, default ``runs/<name>-evolve-<time>``) is checkpointed after every
generation; after a crash ``spikey evolve --resume DIR`` continues it from
the last completed generation and ends as the uninterrupted run would. The
folder loads as data; a GA folder of an older version (``population.pkl``, a
pickle, which can run code) is refused unless ``--trust-pickle`` is given.

At the end the best member's keys are trained again on held-out seeds, disjoint
from the search's (``holdout_seeds``: a count of seeds after the search's
largest, default 10, or a list; 0 turns it off; ``spikey.meta.holdout``), and
scored with the same fitness definition. The search's own best fitness is
biased upwards by the luck of its seeds; the held-out score is printed beside
it and written to ``best.json`` (``"holdout"``).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from spikey.module import ConfigError

#: Names accepted in the evolve section besides the Population settings.
ALIASES = {"population": "size", "generations": "n_generations"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``spikey evolve`` options (called by ``spikey.cli``)."""
    parser.add_argument("config", nargs="?", help="experiment YAML/JSON with an evolve: section, or a GA folder "
                                                  "to resume")
    parser.add_argument("--out", help="GA folder (default runs/<name>-evolve-<time>)")
    parser.add_argument("--resume", metavar="DIR", help="continue the GA in this folder")
    parser.add_argument("--generations", type=int, help="generations to evaluate in all (n_generations)")
    parser.add_argument("--population", type=int, help="members per generation (size)")
    parser.add_argument("--seeds", help="seeds every member is trained on: a count (3) or a list (0,1,5)")
    parser.add_argument("--episodes", type=int, help="episodes per member (overrides n_episodes)")
    parser.add_argument("--len-episode", type=int, help="game steps per episode (overrides len_episode)")
    parser.add_argument("--seed", type=int, help="seed of the GA (initial population, selection, variation)")
    parser.add_argument("--metric", help="metric column the fitness averages (e.g. accuracy, game_reward)")
    parser.add_argument("--last", type=int, help="episodes at the end that count towards the fitness")
    parser.add_argument("--mode", choices=("max", "min"), help="whether higher fitness is better")
    parser.add_argument("--selection", choices=("truncation", "tournament"))
    parser.add_argument("--evaluation", choices=("batched", "single", "ray"),
                        help="members as one batch per shape group (default), one network each, or Ray tasks")
    parser.add_argument("--max-lanes", type=int, help="largest batch of lanes (members x seeds)")
    parser.add_argument("--time-budget", type=float, help="stop after this many seconds (over resumes)")
    parser.add_argument("--target", type=float, help="stop once the best fitness reaches this")
    parser.add_argument("--backend", choices=("numpy", "torch"), help="array backend (overrides backend)")
    parser.add_argument("--device", help="torch device, e.g. cuda")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override a fixed network/game key (VALUE in YAML); repeatable")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="with --resume: open a GA folder of an older version whose population.pkl is a "
                             "pickle (loading a pickle can run code: only for folders you trust)")
    parser.add_argument("--holdout-seeds", help="re-score the best keys on held-out seeds: a count after the "
                                                "search's largest seed (default 10; 0: off) or a list (100,101)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    from spikey.cli import add_trust_and_memory_arguments
    add_trust_and_memory_arguments(parser)


def read_config(path: str | Path) -> tuple[Any, dict]:
    """``(Experiment, evolve section)`` of a config file (the section is removed from the experiment)."""
    from spikey.experiment.config import Experiment, ExperimentError
    experiment = Experiment.from_file(path)
    section = experiment.evolve
    if not isinstance(section, dict) or not section.get("constraints"):
        raise ExperimentError(f"config file '{path}' has no evolve section with constraints; add e.g. "
                              f"evolve: {{constraints: {{learning_rate: [0.0001, 0.01, log]}}}}.",
                              key="evolve.constraints", value=section, expected="evolve: {constraints: {...}}")
    return experiment.replace(evolve={}), section


def split_section(section: dict) -> tuple[dict, dict, int]:
    """``(constraints, settings, seed)`` of an evolve section, aliases resolved."""
    from spikey.meta.population import DEFAULTS
    from spikey.module import suggest
    settings, seed, constraints = {}, 0, section["constraints"]
    if not isinstance(constraints, dict):
        raise ConfigError(f"evolve.constraints = {constraints!r}; expected a mapping key -> spec.",
                          key="evolve.constraints", value=constraints, expected="a mapping")
    for name, value in section.items():
        if name == "constraints":
            continue
        if name == "seed":
            seed = value
            continue
        if name == "holdout_seeds":  # read by holdout_setting: not a Population setting
            continue
        setting = ALIASES.get(name, name)
        if setting not in DEFAULTS:
            known = sorted(set(DEFAULTS) | set(ALIASES) | {"seed", "constraints", "holdout_seeds"})
            raise ConfigError(f"evolve: unknown setting '{name}'.{suggest(name, known)} Settings: {known}.",
                              key=f"evolve.{name}", value=value, expected="a GA setting")
        settings[setting] = value
    return constraints, settings, seed


def holdout_evaluation(population: Any, spec: Any) -> dict | None:
    """Score ``population``'s best keys on held-out seeds (``spec``: ``spikey.meta.holdout.holdout_seeds``).

    The score is the GA's fitness definition (``aggregation`` of ``metric`` over
    the last ``last`` episodes and all seeds) on seeds disjoint from the
    experiment's. Writes it to ``best.json`` as ``"holdout"`` and returns it
    (None when off, or when the GA has no experiment or no best member).
    """
    import numpy as np

    from spikey.experiment.results import write_json
    from spikey.meta.holdout import evaluate_holdout, holdout_seeds
    from spikey.meta.metagame import AGGREGATIONS
    experiment, best = population.experiment, population.best
    if experiment is None or best.get("keys") is None:
        return None
    seeds = holdout_seeds(spec, experiment.seeds)
    if not seeds:
        return None
    s = population.settings
    aggregate = AGGREGATIONS[s["aggregation"]]

    def score(rows):
        values = rows[s["metric"]].to_numpy(dtype=float)
        values = values[~np.isnan(values)]
        return aggregate(values) if len(values) else float("nan")

    result = evaluate_holdout(experiment, best["keys"], seeds, s["metric"], score=score, last=s["last"])
    result["search_fitness"] = best["fitness"]
    if population.folder is not None:
        write_json(population.folder / "best.json", {**{k: _json(v) for k, v in best.items()}, "holdout": result})
    return result


def _json(value: Any) -> Any:
    from spikey.meta.population import _json_ready
    return _json_ready(value)


def check_choices(experiment: Any, space: Any) -> None:
    """Build one lane with every value of every choice gene, so a value a part refuses only when it is
    built (e.g. a string its ``derive`` does not know) is reported now, naming the key and the value."""
    from spikey.meta.genotype import Choice
    for name, constraint in space.constraints.items():
        if not isinstance(constraint, Choice):
            continue
        for value in constraint.values:
            try:
                experiment.with_keys({name: value}).build([0])
            except ConfigError:
                raise
            except (ValueError, TypeError) as error:
                raise ConfigError(f"evolve: constraint of key '{name}': the value {value!r} is refused when the "
                                  f"network is built: {error}", key=name, value=value,
                                  expected="values the parts accept") from error


def _experiment_changes(args: argparse.Namespace) -> dict:
    from spikey.cli import _parse_seeds
    changes = {}
    for field, value in (("n_episodes", args.episodes), ("len_episode", args.len_episode),
                         ("seeds", _parse_seeds(args.seeds)), ("backend", args.backend), ("device", args.device)):
        if value is not None:
            changes[field] = value
    return changes


def _line(text: str) -> None:
    print(text, flush=True)


def main(args: argparse.Namespace) -> int:
    """Run (or resume) the GA; returns the exit status."""
    from spikey.cli import CLIError, _parse_sets, apply_trust_and_memory
    from spikey.meta.metagame import EvolveNetwork
    from spikey.meta.population import Population
    from spikey.meta.genotype import GenotypeSpace
    resume = args.resume
    if resume is None and args.config is not None and Path(args.config).is_dir():
        resume = args.config
    elif resume is not None and args.config is not None:
        raise CLIError("give either CONFIG (a new GA) or --resume DIR (continue one), not both.")
    progress = False if args.quiet else _line
    overrides = {"n_generations": args.generations, "time_budget_s": args.time_budget,
                 "target_fitness": args.target, "evaluation": args.evaluation, "max_lanes": args.max_lanes}
    started = time.perf_counter()
    if resume is not None:
        fixed = {name: getattr(args, attr) for name, attr in
                 (("--population", "population"), ("--seeds", "seeds"), ("--episodes", "episodes"),
                  ("--len-episode", "len_episode"), ("--seed", "seed"), ("--metric", "metric"),
                  ("--last", "last"), ("--mode", "mode"), ("--selection", "selection"), ("--set", "set"),
                  ("--backend", "backend"), ("--device", "device"), ("--out", "out"))}
        given = [name for name, value in fixed.items() if value is not None]
        if given:
            raise CLIError(f"{given[0]} cannot change when resuming (it would change the search); "
                           f"only --generations, --time-budget, --target, --evaluation, --max-lanes can.")
        holdout_spec = args.holdout_seeds
        population = Population.resume(resume, progress=progress, trust_pickle=args.trust_pickle,
                                       **{k: v for k, v in overrides.items() if v is not None})
        print(f"spikey evolve: resuming {population.folder} at generation {population.generation} "
              f"({population.completed} done, {len(population.cache)} evaluations cached)", flush=True)
    else:
        if args.config is None:
            raise CLIError("give a CONFIG file (with an evolve: section) or --resume DIR.")
        if args.trust_pickle:
            raise CLIError("--trust-pickle only applies to --resume DIR (a new GA writes data files).")
        experiment, section = read_config(args.config)
        holdout_spec = section.get("holdout_seeds") if args.holdout_seeds is None else args.holdout_seeds
        changes = _experiment_changes(args)
        if changes:
            experiment = experiment.replace(**changes)
        experiment = apply_trust_and_memory(experiment, args)
        sets = _parse_sets(args.set)
        if sets:
            experiment = experiment.with_keys(sets)
        constraints, settings, seed = split_section(section)
        for name, value in (("size", args.population), ("metric", args.metric), ("last", args.last),
                            ("mode", args.mode), ("selection", args.selection), *overrides.items()):
            if value is not None:
                settings[name] = value
        seed = args.seed if args.seed is not None else seed
        from spikey.meta.holdout import holdout_seeds
        holdout_seeds(holdout_spec, experiment.seeds)  # checked now, not after the search
        # Validate everything before the first generation: settings and constraints (names, ranges,
        # values against the Keys), the experiment, and one member built and stepped with the metric.
        from spikey.meta.population import check_settings
        checked = check_settings(settings)
        declared = experiment.declared_keys()
        space = GenotypeSpace(constraints, declared, file_form=True)
        import numpy as np
        probe = space.sample(np.random.default_rng(0))
        if checked["last"] > experiment.n_episodes:
            raise ConfigError(f"evolve: last = {checked['last']} exceeds the {experiment.n_episodes} episodes each "
                              f"member plays.", key="evolve.last", value=checked["last"],
                              expected=f"<= {experiment.n_episodes}")
        check_choices(experiment, space)
        try:
            EvolveNetwork(experiment, metric=checked["metric"], last=checked["last"],
                          declared=declared).validate(probe)
        except ConfigError:
            raise
        except (ValueError, TypeError) as error:  # a part's own check at build time
            raise ConfigError(f"evolve: a member with genes {probe} cannot be built: {error}", key="constraints",
                              value=probe, expected="genes the parts accept") from error
        out = Path(args.out) if args.out else Path("runs") / f"{experiment.name}-evolve-{time.strftime('%Y%m%d-%H%M%S')}"
        population = Population(experiment, constraints, seed=seed, folder=out, progress=progress, file_form=True,
                                **settings)
        s = population.settings
        print(f"spikey evolve: {experiment.name}, population {s['size']}, {s['n_generations']} generations, "
              f"{len(experiment.seeds)} seeds x {experiment.n_episodes} episodes per member, fitness = "
              f"{s['aggregation']} {s['metric']} over the last {s['last']} episode(s) ({s['mode']}), "
              f"{s['evaluation']} evaluation; genes {population.space.keys}; GA folder {population.folder}",
              flush=True)
    population.run()
    best = population.best
    print(f"done ({population.reason}) in {time.perf_counter() - started:.1f} s; best fitness "
          f"{float('nan') if best['fitness'] is None else best['fitness']:.4g} in generation {best['generation']} with", flush=True)
    print(json.dumps(best["keys"], indent=2, default=str))
    holdout = holdout_evaluation(population, holdout_spec)
    if holdout is not None:
        from spikey.meta.holdout import describe
        print(f"best keys {describe(holdout, best['fitness'])}", flush=True)
    print(f"GA folder: {population.folder} (members.parquet, best.json)", flush=True)
    return 0
