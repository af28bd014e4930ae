"""Aggregate analysis: many result folders as one tidy DataFrame, summaries, and the HTML report.

* ``load(paths...)`` (``spikey.analysis.load``): run, series, Tune sweep and GA folders -> one DataFrame
  (id columns, key columns, metric columns);
* ``summarize``, ``importance``, ``best_configs`` (``spikey.analysis.summary``): per-configuration
  mean / sd / count / confidence interval over seeds, Spearman importance of keys, the best configurations;
* ``build_report(paths, out_dir)`` (``spikey.analysis.report``): a self-contained ``report.html`` with
  learning curves, fitness by generation, parameter plots, tables and a raster of the best network,
  plus the tables as CSV; ``spikey report RUN_DIR...`` on the command line.
"""
from spikey.analysis.load import ResultFolderError, Source, combine, detect_kind, load, read_source
from spikey.analysis.summary import best_configs, importance, summarize, t_quantile


def build_report(*args, **kwargs):
    """Write the HTML report of result folders (see ``spikey.analysis.report.build_report``)."""
    from spikey.analysis.report import build_report as _build_report
    return _build_report(*args, **kwargs)


__all__ = ["load", "read_source", "combine", "detect_kind", "Source", "ResultFolderError", "summarize",
           "importance", "best_configs", "t_quantile", "build_report"]
