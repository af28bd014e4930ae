"""The ``spikey`` command: run, sweep, evolve, report, keys.

::

    spikey run CONFIG [--workers N] [--gpu] [--address ADDR] [--out RUN_DIR] [--set KEY=VALUE ...]
    spikey run RUN_DIR [--trust-pickle]     # resume an interrupted run (its config.json)
    spikey sweep CONFIG [--samples N] [--scheduler asha] [--train-workers N] [--address ADDR] [--out DIR]
    spikey evolve CONFIG ...                # genetic algorithm (plug-in: spikey.meta.evolve)
    spikey report RUN_DIR ...               # aggregate report (plug-in: spikey.analysis.report)
    spikey keys PART [PART ...] | CONFIG    # the keys of parts (short or dotted names) or of a config

CONFIG is a YAML or JSON experiment file (``spikey.experiment.config``). It is
read and validated (part names, keys, types, ranges, game/network sizes) before
Ray starts; an error names the culprit and exits with status 2.

Run and GA folders load as data (JSON, Parquet, ``.npz`` without pickle); a
damaged file or a full disk stops with one line naming it. A folder of an older
version holding a pickle opens only with ``--trust-pickle``.

``run`` without ``--workers`` runs in this process; with ``--workers N`` it runs
on Ray Train (N workers, the seeds split between them). ``--address`` attaches
to a running cluster (``auto``, ``ray://host:10001``, or the GCS address).

``run`` exits with status 3 when the numerical guard stopped lanes (NaN or inf
state): the run plays to its end, the other lanes' results are valid, and
``status.json`` lists the failed lanes (``failed_lanes``).

Plug-in commands: a module ``M`` registered in ``PLUGINS`` provides
``add_arguments(parser)`` and ``main(args) -> int``; until ``M`` exists the
command says it is not available and exits with status 2.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

#: Sub-commands provided by other modules: name -> (module, one-line help, what to use meanwhile).
PLUGINS = {
    "evolve": ("spikey.meta.evolve", "genetic algorithm over the config's keys (spikey.meta Population)",
               "`spikey sweep` searches the same keys with Ray Tune"),
    "report": ("spikey.analysis.report", "aggregate report (learning curves, parameter plots) of run folders",
               "read metrics.parquet of each run folder with pandas"),
}


#: Exit status of ``spikey run`` when the numerical guard stopped lanes (2: usage or config error).
EXIT_LANES_FAILED = 3


class CLIError(Exception):
    """A usage error: printed without a traceback, exit status 2."""


def _parse_value(text: str) -> Any:
    """A command-line value read as YAML the way config files are (``1e-3`` is a float)."""
    import yaml
    from spikey.experiment.config import load_yaml
    try:
        return load_yaml(text)
    except yaml.YAMLError:
        return text


def _parse_sets(items: Sequence[str]) -> dict:
    out = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CLIError(f"--set {item!r}: expected KEY=VALUE (VALUE in YAML, e.g. 0.01, [1, 2], mean).")
        out[name.strip()] = _parse_value(value)
    return out


def _parse_seeds(text: str | None) -> Any:
    """``--seeds``: a count (``8``, ``1e3``) or a comma-separated list (``0,1,5``); else a ``CLIError``."""
    if text is None:
        return None
    value = _parse_value(text)
    if isinstance(value, str) and "," in value:
        try:
            value = [int(v) for v in value.split(",")]
        except ValueError:
            value = None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    valid = (isinstance(value, int) and not isinstance(value, bool) and value >= 1) or \
        (isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                                    for v in value))
    if not valid:
        raise CLIError(f"--seeds {text!r}: expected a count >= 1 (e.g. 8) or a comma-separated list of distinct "
                       f"ints >= 0 (e.g. 0,1,5).")
    return value


def _parse_max_memory(text: str | None) -> int | None:
    """``--max-memory``: bytes, or a size with a unit (``4GB``, ``512MiB``); else a ``CLIError``."""
    if text is None:
        return None
    from spikey.experiment.memory import parse_size
    from spikey.module import ConfigError
    try:
        return parse_size(text, "--max-memory")
    except ConfigError as error:
        raise CLIError(str(error)) from None


def apply_trust_and_memory(experiment, args: argparse.Namespace):
    """``experiment`` with ``--trust-module`` added to its trusted modules and ``--max-memory`` applied."""
    changes = {}
    trusted = getattr(args, "trust_module", None)
    if trusted:
        changes["trusted_modules"] = list(experiment.trusted_modules) + list(trusted)
    limit = _parse_max_memory(getattr(args, "max_memory", None))
    if limit is not None:
        changes["max_memory"] = limit
    return experiment.replace(**changes) if changes else experiment


def load_experiment(path: str, args: argparse.Namespace):
    """The experiment of a config file or run folder, with the command line's overrides applied."""
    from spikey.experiment import Experiment
    from spikey.experiment.results import RunFolder
    source = Path(path)
    if source.is_dir():
        if not (source / "config.json").exists():
            raise CLIError(f"{path} is a folder without config.json: not a run folder.")
        experiment = RunFolder(source).load_experiment()
    else:
        experiment = Experiment.from_file(source)
    changes = {}
    for field, value in (("n_episodes", getattr(args, "episodes", None)),
                         ("len_episode", getattr(args, "len_episode", None)),
                         ("seeds", _parse_seeds(getattr(args, "seeds", None))),
                         ("backend", getattr(args, "backend", None)), ("device", getattr(args, "device", None)),
                         ("checkpoint_every", getattr(args, "checkpoint_every", None))):
        if value is not None:
            changes[field] = value
    if changes:
        experiment = experiment.replace(**changes)
    experiment = apply_trust_and_memory(experiment, args)
    sets = _parse_sets(getattr(args, "set", None))
    return experiment.with_keys(sets) if sets else experiment


def _default_out(experiment, kind: str) -> Path:
    return Path("runs") / f"{experiment.name}-{kind}-{time.strftime('%Y%m%d-%H%M%S')}"


def _summary_table(metrics) -> str:
    columns = [c for c in ("reward", "game_reward", "accuracy", "output_rate", "weight_mean", "wall_time")
               if c in metrics.columns]
    return metrics.groupby("episode")[columns].mean().round(4).to_string()


# -- commands -----------------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    experiment = load_experiment(args.config, args)
    run_dir = Path(args.config) if Path(args.config).is_dir() and args.out is None else args.out
    if args.workers is None and run_dir is not None:
        from spikey.experiment.results import RunFolder
        status = RunFolder(run_dir).read_status()
        if status.get("mode") == "train":
            args.workers = status.get("workers")
    if args.address and not args.workers:
        raise CLIError("--address attaches to a Ray cluster: give --workers N to run there on Ray Train.")
    experiment.validate()  # before Ray starts: errors name the culprit
    run_dir = Path(run_dir) if run_dir is not None else _default_out(experiment, "run")
    print(f"spikey run: {experiment.name}, {len(experiment.seeds)} seeds, {experiment.n_episodes} episodes x "
          f"{experiment.len_episode} steps, {'Ray Train, %d workers' % args.workers if args.workers else 'local'}"
          f"{', GPU' if args.gpu else ''}; run folder {run_dir}", flush=True)
    started = time.perf_counter()
    if args.workers:
        from spikey.experiment.train import run_train
        _init_ray(args.address)
        metrics = run_train(experiment, run_dir, num_workers=args.workers, use_gpu=args.gpu,
                            max_failures=args.max_failures, progress=not args.quiet, validate=False,
                            trust_pickle=args.trust_pickle,
                            resources_per_worker={"CPU": args.cpus_per_worker} if args.cpus_per_worker else None)
    else:
        if args.gpu:
            experiment = experiment.replace(backend="torch", device="cuda")
        from spikey.experiment import run_experiment
        metrics = run_experiment(experiment, run_dir, progress=not args.quiet, validate=False,
                                 trust_pickle=args.trust_pickle)
    print(_summary_table(metrics))
    print(f"wall time {time.perf_counter() - started:.1f} s; metrics in {run_dir}/", flush=True)
    return _failed_run_status(metrics, run_dir)


def _failed_run_status(metrics: Any, run_dir: Path) -> int:
    """Exit status of a finished run: 0, or 3 (one line per lane on stderr) where the numerical guard stopped lanes."""
    if "failed" not in metrics.columns or not metrics["failed"].any():
        return 0
    from spikey.experiment.results import RunFolder
    records = RunFolder(run_dir).read_status().get("failed_lanes") or []
    for record in records:
        print(f"spikey run: lane {record['lane']}: {record['message']}", file=sys.stderr)
    if not records:  # a status without the records (Ray Train): the metrics still say which lanes
        failed = metrics[metrics["failed"]].groupby("lane")["episode"].min()
        for lane, episode in failed.items():
            print(f"spikey run: lane {lane} stopped in episode {episode}: non-finite state (NaN or inf); its "
                  f"rows have failed = True.", file=sys.stderr)
    lanes = sorted(metrics.loc[metrics["failed"], "lane"].unique().tolist())
    print(f"spikey run: {len(lanes)} lane(s) failed ({lanes}): their state became NaN or inf; see "
          f"{run_dir}/status.json (failed_lanes); exit status {EXIT_LANES_FAILED}.", file=sys.stderr, flush=True)
    return EXIT_LANES_FAILED


def _init_ray(address: str | None) -> None:
    import ray
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address:
        ray.init(address=address)
        return
    from spikey.meta.cluster import local_ray_environment
    local_ray_environment()
    ray.init()


def cmd_sweep(args: argparse.Namespace) -> int:
    from spikey.meta.space import search_space
    from spikey.meta.tune import _validate_metric, run_sweep, sweep_settings
    experiment = load_experiment(args.config, args)
    overrides = dict(num_samples=args.samples, scheduler=args.scheduler, metric=args.metric, mode=args.mode,
                     max_concurrent=args.max_concurrent, train_workers=args.train_workers,
                     use_gpu=True if args.gpu else None, seed=args.seed, time_budget_s=args.time_budget,
                     grace_period=args.grace_period, holdout_seeds=args.holdout_seeds)
    options = sweep_settings(experiment, **overrides)
    space = search_space(experiment, options["space"])  # names and bounds checked here
    if not space:
        raise CLIError(f"{args.config}: no sweep.space given; add e.g. sweep: {{space: {{learning_rate: "
                       f"[0.001, 0.1, log]}}}}.")
    experiment.validate()
    _validate_metric(experiment, options["metric"])
    out = Path(args.out) if args.out else Path("runs")
    name = args.name or f"{experiment.name}-sweep-{time.strftime('%Y%m%d-%H%M%S')}"
    print(f"spikey sweep: {experiment.name}, {options['num_samples']} trials, {options['scheduler']} on "
          f"{options['metric']} ({options['mode']}), keys {sorted(space)}; results in {out / name}", flush=True)
    _init_ray(args.address)
    started = time.perf_counter()
    result = run_sweep(experiment, storage_path=out, name=name, progress=not args.quiet, validate=False,
                       **{k: v for k, v in overrides.items() if v is not None})
    n_trials = result.results["trial_id"].nunique() if len(result.results) else 0
    print(f"{n_trials} trials, {len(result.results)} reports in {time.perf_counter() - started:.1f} s")
    print(f"best {result.metric} ({result.mode}, {sweep_settings(experiment)['scope']}): {result.best_score:.4f} with")
    print(json.dumps(result.best_config, indent=2, default=str))
    if result.holdout is not None:
        from spikey.meta.holdout import describe
        print(f"best keys {describe(result.holdout, result.best_score)}")
    print(f"results: {result.path}/results.parquet, best: {result.path}/best.json", flush=True)
    return 0


def _part_rows(name: str) -> list[dict]:
    from spikey.experiment.config import game_classes_by_name, part_classes_by_name, resolve_class
    role = None
    if "=" in name:
        role, _, name = name.partition("=")
    known = {**part_classes_by_name(), **game_classes_by_name()}
    cls = resolve_class(name, role or "part", known, what="part, network or game")
    if not hasattr(cls, "describe_keys"):
        raise CLIError(f"{name} is a {cls.__name__} without declared keys.")
    rows = cls.describe_keys()
    for row in rows:
        row["role"] = role or getattr(cls, "namespace", "") or cls.__name__
    return rows


def cmd_keys(args: argparse.Namespace) -> int:
    from spikey.experiment.references import UserCodeNotImported, no_user_code
    rows: list[dict] = []
    values: dict = {}
    notes: list[str] = []
    with no_user_code():  # lists declarations: never imports a user's file or module
        for name in args.parts:
            if name.endswith((".yaml", ".yml", ".json")) or Path(name).is_dir():
                experiment = load_experiment(name, argparse.Namespace())
                values.update(experiment.keys)
                for role, cls in _config_classes(experiment, notes):
                    rows += [dict(row, role=role) for row in cls.describe_keys()]
            else:
                try:
                    rows += _part_rows(name)
                except UserCodeNotImported as error:
                    notes.append(f"{name}: {error}")
    if args.json:
        from spikey.experiment.config import portable
        for row in rows:
            row["default"] = portable(row["default"]) if row["default"] != "required" else "required"
            if row["key"] in values:
                row["value"] = portable(values[row["key"]])
        print(json.dumps(rows, indent=2))
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        return 0
    for row in rows:
        value = values.get(row["key"], row["default"])
        shown = _short(value)
        marker = "*" if row["key"] in values else " "
        print(f"{row['role']:>9} {row['part']:<14} {row['key']:<24} {row['type']:<18} {marker}{shown:<20} "
              f"{row['description']}")
    if values:
        print("(* set in the config; other values are defaults)")
    for note in notes:
        print(f"note: {note}")
    return 0


def _config_classes(experiment, notes: list[str]) -> list[tuple[str, type]]:
    """(role, class) of a config's network, parts and game that are not user code; a note for each that is."""
    from spikey.experiment.config import game_classes_by_name, part_classes_by_name, resolve_class
    from spikey.experiment.references import UserCodeNotImported
    if experiment.builder is not None:
        notes.append(f"builder = {experiment.builder!r} is user code: `spikey keys` does not run it, so the "
                     f"keys of the network it builds are not listed.")
        return []
    out: list[tuple[str, type]] = []
    try:
        network = experiment.network_class()
        out.append(("network", network))
        parts = dict(network.parts)
    except UserCodeNotImported as error:
        notes.append(f"network: {error}")
        parts = {}
    for role, value in experiment.parts.items():
        try:
            parts[role] = resolve_class(value, f"parts.{role}", part_classes_by_name(), experiment.base_dir,
                                        "part class", experiment.trusted_modules)
        except UserCodeNotImported as error:
            parts.pop(role, None)
            notes.append(f"parts.{role}: {error}")
    out += [(role, cls) for role, cls in parts.items() if isinstance(cls, type)]
    if experiment.game is not None:
        try:
            out.append(("game", resolve_class(experiment.game, "game", game_classes_by_name(), experiment.base_dir,
                                              "game", experiment.trusted_modules)))
        except UserCodeNotImported as error:
            notes.append(f"game: {error}")
    return out


def _short(value: Any) -> str:
    from spikey.experiment.config import portable
    text = str(value) if isinstance(value, str) else json.dumps(portable(value), default=str)
    return text if len(text) <= 20 else text[:17] + "..."


def _plugin_command(name: str):
    module_name, _, instead = PLUGINS[name]

    def run(args: argparse.Namespace) -> int:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name is not None and module_name.startswith(error.name):
                print(f"spikey {name}: not available in this version of spikey ({module_name} is not "
                      f"installed yet). Meanwhile, {instead}.", file=sys.stderr)
                return 2
            raise
        return int(module.main(args) or 0)
    return run


# -- parser ------------------------------------------------------------------------------------------
def _add_run_settings(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--episodes", type=int, help="number of episodes (overrides n_episodes)")
    parser.add_argument("--len-episode", type=int, help="game steps per episode (overrides len_episode)")
    parser.add_argument("--seeds", help="a count (8) or a list (0,1,5) of seeds, one network each")
    parser.add_argument("--backend", choices=("numpy", "torch"), help="array backend (overrides backend)")
    parser.add_argument("--device", help="torch device, e.g. cuda (overrides device)")
    parser.add_argument("--checkpoint-every", type=int, help="episodes between checkpoints")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override a network/game key (VALUE in YAML); repeatable")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    add_trust_and_memory_arguments(parser)


def add_trust_and_memory_arguments(parser: argparse.ArgumentParser) -> None:
    """``--trust-module`` and ``--max-memory`` (run, sweep, evolve)."""
    parser.add_argument("--trust-module", action="append", metavar="MODULE",
                        help="let the config's references name objects of this module (besides spikey and "
                             "numpy); repeatable. See 'What a config may run' in the README")
    parser.add_argument("--max-memory", metavar="SIZE",
                        help="refuse configs whose estimated memory exceeds SIZE (e.g. 4GB, 512MiB)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spikey", description="Spiking neural network experiments: run, "
                                     "sweep, evolve, report, keys.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    run = commands.add_parser("run", help="run one experiment (locally, or on Ray Train with --workers)",
                              description="Run one experiment config; a run folder resumes where it stopped.")
    run.add_argument("config", help="YAML/JSON experiment config, or a run folder to resume")
    run.add_argument("--workers", type=int, help="Ray Train workers (default: run in this process)")
    run.add_argument("--gpu", action="store_true", help="one GPU per worker (torch backend on it)")
    run.add_argument("--cpus-per-worker", type=float, help="CPUs per Train worker (default 1)")
    run.add_argument("--max-failures", type=int, default=3, help="worker-group restarts allowed")
    run.add_argument("--address", help="attach to a running Ray cluster (auto, ray://host:port, host:port)")
    run.add_argument("--out", help="run folder (default runs/<name>-run-<time>)")
    run.add_argument("--trust-pickle", action="store_true",
                     help="open a run folder of an older version whose checkpoint.pkl is a pickle (loading a "
                          "pickle can run code: only for folders you trust); it is rewritten as data")
    _add_run_settings(run)
    run.set_defaults(handler=cmd_run)

    sweep = commands.add_parser("sweep", help="Ray Tune sweep over the config's sweep.space",
                                description="Ray Tune search over keys (see spikey.meta.tune for sweep settings).")
    sweep.add_argument("config", help="YAML/JSON experiment config with a sweep section")
    sweep.add_argument("--samples", type=int, help="number of trials (sweep.num_samples)")
    sweep.add_argument("--scheduler", choices=("asha", "fifo", "median", "hyperband"))
    sweep.add_argument("--grace-period", type=int, help="episodes before a trial may be stopped")
    sweep.add_argument("--metric", help="metric column to optimise (default game_reward)")
    sweep.add_argument("--mode", choices=("max", "min"))
    sweep.add_argument("--max-concurrent", type=int, help="trials at once")
    sweep.add_argument("--train-workers", type=int, help="run each trial on Ray Train with this many workers")
    sweep.add_argument("--gpu", action="store_true", help="one GPU per trial (or per Train worker)")
    sweep.add_argument("--seed", type=int, help="seed of the random search")
    sweep.add_argument("--time-budget", type=float, help="stop the sweep after this many seconds")
    sweep.add_argument("--address", help="attach to a running Ray cluster")
    sweep.add_argument("--out", help="results folder (default runs)")
    sweep.add_argument("--name", help="sweep name (default <name>-sweep-<time>)")
    sweep.add_argument("--holdout-seeds", help="re-score the best keys on held-out seeds: a count after the "
                                               "experiment's largest seed (default 10; 0: off) or a list (100,101)")
    _add_run_settings(sweep)
    sweep.set_defaults(handler=cmd_sweep)

    for name, (module_name, help_text, _) in PLUGINS.items():
        sub = commands.add_parser(name, help=help_text, description=f"{help_text} (provided by {module_name}).")
        try:
            module = importlib.import_module(module_name)
            module.add_arguments(sub)
        except ModuleNotFoundError:
            sub.add_argument("arguments", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        sub.set_defaults(handler=_plugin_command(name))

    keys = commands.add_parser("keys", help="list the keys of parts or of a config",
                               description="List keys: part/game names (LIF, RateMap, Logic, "
                               "spikey.snn.LIF, neurons=LIF) or a config file.")
    keys.add_argument("parts", nargs="+", metavar="PART", help="part, network or game names, or a config file")
    keys.add_argument("--json", action="store_true", help="JSON output")
    keys.set_defaults(handler=cmd_keys)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``spikey`` console script; returns the exit status."""
    from spikey.module import ConfigError
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (CLIError, ConfigError) as error:
        print(f"spikey {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. head
        sys.stdout = open(os.devnull, "w")
        return 0
    except KeyboardInterrupt:
        print(f"spikey {args.command}: interrupted; run it again on the same run folder to resume.",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
