"""The aggregate report: result folders -> one self-contained ``report.html`` plus CSV tables.

``build_report(paths, out_dir)`` reads run, series, Tune sweep and GA folders
(``spikey.analysis.load``) and writes into ``out_dir``:

* ``report.html``: per folder, the learning curves (mean over seeds with a
  95 % confidence band; a series one curve per configuration; a sweep the mean
  over trials with its range and the best trial), the GA's fitness by
  generation, parameter-vs-metric plots of the keys that vary (strongest Spearman
  correlation first), the best configurations and key importance tables, and a
  spike raster of the best configuration (rebuilt from the folder's experiment
  and played for a few game steps). Images are embedded as base64 PNG and the
  styles are inline, so the file opens anywhere, offline, on its own.
* ``tidy.csv`` (every row, ``load``), ``summary.csv`` (``summarize`` per folder),
  ``importance.csv`` (``importance`` per folder) and ``best.csv``
  (``best_configs`` per folder); the last three start with a ``source`` column.

On the command line: ``spikey report RUN_DIR [RUN_DIR ...] [--out DIR] [--metric M]``.
Plots are drawn on matplotlib Figures without pyplot, so no display is needed.

Examples
--------
>>> import tempfile
>>> build_report([tempfile.mkdtemp()], tempfile.mkdtemp())          # doctest: +ELLIPSIS
Traceback (most recent call last):
...
spikey.analysis.load.ResultFolderError: load: '...' is not a result folder; looked for ...
"""
from __future__ import annotations

import argparse
import base64
import html
import io
import math
import numbers
import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from spikey.analysis.load import Source, combine, read_source
from spikey.analysis.summary import best_configs, default_metric, importance, summarize, unit_values
from spikey.experiment.results import atomic_write

#: CSV tables written next to report.html.
TABLES = ("tidy", "summary", "importance", "best")
MAX_PARAMETER_PLOTS = 6
MAX_CURVES = 8

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1140px;
       color: #222; line-height: 1.4; padding: 0 16px; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: 4px; margin-top: 2em; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.4em; }
.meta { color: #666; font-size: 0.9em; }
.grid { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; flex: 1 1 520px; max-width: 100%; }
figure img { width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
table.tbl { border-collapse: collapse; font-size: 0.85em; margin: 6px 0 12px; }
table.tbl th, table.tbl td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
table.tbl th { background: #f4f4f4; }
table.overview th, table.overview td { text-align: left; }
.note { color: #8a5a00; font-size: 0.9em; }
code { background: #f4f4f4; padding: 0 3px; }
"""


# -- figures -----------------------------------------------------------------------------------------
def _png(figure: Any, dpi: int = 100) -> str:
    """A Figure as a base64 PNG data URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure_html(figure: Any, caption: str) -> str:
    return (f'<figure><img alt="{html.escape(caption)}" src="{_png(figure)}">'
            f'<figcaption>{html.escape(caption)}</figcaption></figure>')


def _label(row: dict, keys: Sequence[str]) -> str:
    return ", ".join(f"{k}={_short(row[k])}" for k in keys) or "all"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def learning_figure(source: Source, metric: str, summary: pd.DataFrame) -> tuple[Any, str]:
    """Learning curves (or fitness by generation) of one source and their caption."""
    from matplotlib.figure import Figure
    from spikey.viz import learning_curve
    frame = source.frame
    figure = Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = figure.add_subplot()
    if source.kind == "evolve":
        learning_curve(frame, metric, by="generation", spread="minmax", ax=ax, label="mean (band: min..max)")
        best = frame.groupby("generation")[metric].max()
        ax.plot(best.index.to_numpy(), best.to_numpy(float), color="black", marker="^", markersize=4,
                linestyle="--", label="best member")
        ax.legend(fontsize="small")
        _integer_x(ax)
        ax.set_title("Fitness by generation")
        return figure, f"Fitness by generation: {metric} of the members of each generation (mean, range, best)."
    if source.kind == "tune":
        learning_curve(frame, metric, spread="minmax", ax=ax, label="mean over trials (band: min..max)")
        best_trial = _best_run(frame, metric)
        if best_trial is not None:
            rows = frame[frame["run"] == best_trial]
            learning_curve(rows, metric, spread=None, ax=ax, label=f"best trial {best_trial}")
        _integer_x(ax)
        ax.set_title("Learning curves of the sweep")
        return figure, (f"Learning curves of the sweep: {metric} per episode (each trial reports its mean over "
                        f"seeds; trials stopped early by the scheduler end early).")
    varied = [k for k in source.varied if k in summary.columns]
    if source.kind == "series" and varied:
        ordered = summary.sort_values("mean", ascending=False, kind="stable")
        shown = ordered.head(MAX_CURVES).to_dict("records")
        for row in shown:
            mask = np.ones(len(frame), dtype=bool)
            for key in varied:
                mask &= (frame[key] == row[key]).to_numpy()
            learning_curve(frame[mask], metric, spread="sd", ax=ax, label=_label(row, varied))
        _integer_x(ax)
        ax.legend(fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
        ax.set_title("Learning curves per configuration")
        more = f" (the best {len(shown)} of {len(ordered)})" if len(ordered) > len(shown) else ""
        return figure, (f"Learning curves per configuration{more}: {metric} per episode, mean over seeds, "
                        f"band -+ one sd over seeds (95 % confidence intervals in the table below).")
    learning_curve(frame, metric, spread="ci", ax=ax, label=f"mean of {frame['seed'].nunique()} seeds")
    _integer_x(ax)
    ax.set_title("Learning curve")
    return figure, f"Learning curve: {metric} per episode, mean over seeds with its 95 % confidence band."


def _integer_x(ax: Any) -> None:
    """Whole-number ticks on the x axis (episodes, generations)."""
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _best_run(frame: pd.DataFrame, metric: str) -> Any:
    units = unit_values(frame, metric, ["run"], "last")
    if units.empty:
        return None
    return units.groupby("run")[metric].mean().idxmax()


def parameter_figures(source: Source, metric: str, ranked: pd.DataFrame) -> list[tuple[Any, str]]:
    """Parameter-vs-metric plots of the varied keys, most important first."""
    from spikey.viz import parameter_vs_fitness
    varied = source.varied
    if not varied:
        return []
    order = [k for k in ranked["key"] if k in varied] + [k for k in varied if k not in set(ranked["key"])]
    units = unit_values(source.frame, metric, varied, "last")
    out = []
    for key in order[:MAX_PARAMETER_PLOTS]:
        values = units[key].dropna()
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        logx = bool(numeric and len(values) and values.min() > 0 and values.max() / values.min() >= 20)
        # mean per value for a grid (values repeat); a fitted line for sampled values (each once)
        trend = "mean" if numeric and values.nunique() <= 6 and values.nunique() < len(values) else "linear"
        figure = parameter_vs_fitness(units, key, metric, logx=logx, trend=trend, figsize=(6.4, 3.6),
                                      title=f"{key} vs {metric}")
        what = {"evolve": "one point per evaluated member", "tune": "one point per trial (last report)"}.get(
            source.kind, "one point per run and seed (last episode)")
        rho = ranked.loc[ranked["key"] == key, "rho"]
        note = f"; Spearman rho = {float(rho.iloc[0]):+.2f}" if len(rho) and not math.isnan(rho.iloc[0]) else ""
        out.append((figure, f"{key} against {metric}: {what}{note}."))
    return out


def best_network_raster(source: Source, keys: dict, *, n_steps: int = 3) -> tuple[Any, str]:
    """A spike raster of the configuration ``keys`` of ``source``'s experiment, rebuilt and played.

    One network (the experiment's first seed) plays ``n_steps`` game steps; the
    raster shows all of them. Raises if the folder holds no experiment.
    """
    from spikey.experiment.config import Experiment
    from spikey.viz import raster
    if not source.experiment:
        raise ValueError(f"{source.label} holds no experiment to rebuild.")
    experiment = Experiment.from_dict({k: v for k, v in source.experiment.items()})
    declared = experiment.declared_keys()
    clean = {}
    for name, value in keys.items():
        value = value.item() if isinstance(value, np.generic) else value
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        key = declared.get(name)
        if key is not None and key.type is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        clean[name] = value
    seed = experiment.seeds[0]
    experiment = experiment.with_keys(clean).replace(seeds=[seed])
    try:
        processing = int(experiment.with_keys().build()[0].processing_time)
        network, game = experiment.with_keys(spike_log_length=processing * n_steps).build()
    except Exception:  # a builder or network without that key: the default log (last game step)
        network, game = experiment.build()
    state, _ = game.reset()
    for _ in range(n_steps):
        action = network.tick(state)
        state, *_ = game.step(action)
    shown = ", ".join(f"{k}={_short(v)}" for k, v in clean.items()) or "the experiment's own keys"
    figure = raster(network, title=f"Best configuration, seed {seed}", figsize=(6.4, 3.6))
    caption = (f"Spikes of the best configuration ({shown}), seed {seed}, over its first "
               f"{network.spike_log.shape[1] // max(network.processing_time, 1)} game step(s) of an untrained "
               f"network.")
    return figure, caption


# -- tables -----------------------------------------------------------------------------------------
def source_metric(source: Source, metric: str | None) -> str:
    """The metric shown for ``source``: ``metric`` where it has values there, else its default."""
    if metric is not None and metric in source.frame.columns and source.frame[metric].notna().any():
        return metric
    if source.kind == "evolve" and "fitness" in source.frame.columns:
        return "fitness"
    frame = source.frame.copy()
    frame.attrs["metric_columns"] = source.metric_columns
    return default_metric(frame)


def source_tables(source: Source, metric: str, n_best: int = 5) -> dict[str, pd.DataFrame]:
    """``summary``, ``importance`` and ``best`` of one source (each with a leading ``source`` column)."""
    frame = source.frame
    by = source.varied or ["source"]
    tables = {"summary": summarize(frame, by=by, metric=metric),
              "importance": importance(frame, metric, keys=source.key_columns),
              "best": best_configs(frame, metric, n=n_best, by=by)}
    for name, table in tables.items():
        if "source" not in table.columns:
            table.insert(0, "source", source.label)
    return tables


def report_tables(sources: list[Source], metric: str | None = None, n_best: int = 5) -> dict[str, pd.DataFrame]:
    """The four CSV tables of a report (``TABLES``) for ``sources``."""
    per_source = [source_tables(s, source_metric(s, metric), n_best) for s in sources]
    tables = {"tidy": combine(sources)}
    for name in ("summary", "importance", "best"):
        tables[name] = pd.concat([t[name] for t in per_source], ignore_index=True)
    return tables


def _table_html(frame: pd.DataFrame, drop: Sequence[str] = ("source", "metric")) -> str:
    shown = frame.drop(columns=[c for c in drop if c in frame.columns])
    return shown.to_html(index=False, classes="tbl", border=0, na_rep="",
                         float_format=lambda x: f"{x:.4g}", escape=True)


def holdout_text(best: dict | None) -> str:
    """The held-out line of a search folder's ``best.json`` (``spikey.meta.holdout``), or "" without one."""
    holdout = (best or {}).get("holdout")
    if not isinstance(holdout, dict) or not holdout.get("seeds"):
        return ""
    from spikey.meta.holdout import describe
    search = holdout.get("search_fitness", holdout.get("search_score"))
    per_seed = ", ".join(f"{v:.3g}" for v in holdout.get("per_seed", []))
    return (f"best keys: {describe(holdout, search)}; per held-out seed: {per_seed}. The search's own score is "
            f"biased upwards by the luck of its seeds; the held-out score is not.")


# -- the report ----------------------------------------------------------------------------------------
def _source_section(index: int, source: Source, metric: str, tables: dict, raster: bool) -> str:
    parts = [f"<section><h2>{index}. {html.escape(source.kind)}: <code>{html.escape(source.label)}</code></h2>"]
    frame = source.frame
    facts = [f"{len(frame)} rows", f"metric <code>{html.escape(metric)}</code>"]
    if "run" in frame.columns:
        facts.append(f"{frame['run'].nunique()} {'evaluated members' if source.kind == 'evolve' else 'runs'}")
    if "seed" in frame.columns and frame["seed"].notna().any():
        facts.append(f"{frame['seed'].nunique()} seeds")
    if source.varied:
        facts.append("varied keys: " + ", ".join(f"<code>{html.escape(k)}</code>" for k in source.varied))
    parts.append(f'<p class="meta">{"; ".join(facts)}.</p>')
    held = holdout_text(source.best)
    if held:
        parts.append(f'<p class="holdout"><b>Generalisation:</b> {html.escape(held)}</p>')
    figures = []
    notes = []
    try:
        figures.append(learning_figure(source, metric, tables["summary"]))
    except Exception as error:  # one plot failing must not lose the report
        notes.append(f"learning curves not drawn: {error}")
    try:
        figures += parameter_figures(source, metric, tables["importance"])
    except Exception as error:
        notes.append(f"parameter plots not drawn: {error}")
    if raster:
        best = tables["best"]
        keys = {k: best.iloc[0][k] for k in source.varied if k in best.columns} if len(best) else {}
        try:
            figures.append(best_network_raster(source, keys))
        except Exception as error:
            notes.append(f"raster of the best network not drawn: {type(error).__name__}: {error}")
    parts.append('<div class="grid">' + "".join(_figure_html(f, c) for f, c in figures) + "</div>")
    parts += [f'<p class="note">{html.escape(n)}</p>' for n in notes]
    parts.append(f"<h3>Best configurations</h3><p class=\"meta\">Mean of <code>{html.escape(metric)}</code> "
                 f"per configuration over its {'evaluations' if source.kind == 'evolve' else 'seeds/trials'} "
                 f"(last episode), sample sd, count and 95 % confidence interval (Student t).</p>")
    parts.append(_table_html(tables["best"]))
    if len(tables["importance"]):
        parts.append("<h3>Key importance</h3><p class=\"meta\">Spearman rank correlation of each varied numeric "
                     "key with the metric.</p>")
        parts.append(_table_html(tables["importance"]))
    parts.append("</section>")
    return "\n".join(parts)


def build_report(paths: Sequence[str | os.PathLike] | str | os.PathLike, out_dir: str | os.PathLike, *,
                 metric: str | None = None, title: str = "Spikey report", raster: bool = True,
                 n_best: int = 5) -> Path:
    """Write ``report.html`` and the CSV tables for result folders; returns the HTML's path.

    Parameters
    ----------
    paths : path or list of paths
        Run, series, Tune sweep and GA folders, in any mix.
    out_dir : path
        Folder for ``report.html``, ``tidy.csv``, ``summary.csv``, ``importance.csv``, ``best.csv``.
    metric : str, optional
        Metric to summarise where a folder has it (default per folder: fitness for
        a GA, else accuracy, game_reward or reward).
    title : str
    raster : bool
        Rebuild and play each folder's best configuration for a spike raster.
    n_best : int
        Rows of the best-configurations tables.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    started = time.perf_counter()
    sources = [read_source(p) for p in paths]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    per_source = [(s, source_metric(s, metric)) for s in sources]
    tables = [source_tables(s, m, n_best) for s, m in per_source]
    combined = report_tables(sources, metric, n_best)
    for name in TABLES:
        atomic_write(out / f"{name}.csv", combined[name].to_csv(index=False).encode())
    overview = pd.DataFrame([{"#": i + 1, "folder": s.label, "kind": s.kind, "rows": len(s.frame), "metric": m,
                              "varied keys": ", ".join(s.varied)} for i, (s, m) in enumerate(per_source)])
    body = [f"<h1>{html.escape(title)}</h1>",
            f'<p class="meta">{len(sources)} result folder(s); generated {time.strftime("%Y-%m-%d %H:%M:%S")} '
            f"by spikey.analysis.report. Tables as CSV beside this file: "
            + ", ".join(f"<code>{n}.csv</code>" for n in TABLES) + ".</p>",
            overview.to_html(index=False, classes="tbl overview", border=0, escape=True)]
    for i, ((source, m), table) in enumerate(zip(per_source, tables)):
        body.append(_source_section(i + 1, source, m, table, raster))
    body.append(f'<p class="meta">Built in {time.perf_counter() - started:.1f} s.</p>')
    document = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
                + "\n".join(body) + "\n</body></html>\n")
    path = out / "report.html"
    atomic_write(path, document.encode("utf-8"))
    return path


# -- command line ---------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``spikey report``."""
    parser.add_argument("paths", nargs="+", metavar="RUN_DIR",
                        help="run, series, Tune sweep or GA folders (any mix)")
    parser.add_argument("--out", help="output folder (default: runs/report-<time>)")
    parser.add_argument("--metric", help="metric to summarise (default: fitness / accuracy / game_reward)")
    parser.add_argument("--title", default="Spikey report", help="report title")
    parser.add_argument("--no-raster", action="store_true", help="skip rebuilding the best network for a raster")


def main(args: argparse.Namespace) -> int:
    """``spikey report``: build the report; prints where it is. Returns the exit status."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    out = Path(args.out) if args.out else Path("runs") / f"report-{time.strftime('%Y%m%d-%H%M%S')}"
    path = build_report(args.paths, out, metric=args.metric, title=args.title, raster=not args.no_raster)
    print(f"spikey report: {path} (tables: {', '.join(f'{n}.csv' for n in TABLES)} in {out})", flush=True)
    return 0
