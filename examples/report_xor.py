"""The HTML report of the XOR examples: the series of examples/series_xor.py and, if present,
the GA run of the evolve example (runs/evolve_xor).

    python examples/series_xor.py && python examples/report_xor.py
    # -> runs/report_xor/report.html (open it in a browser) and its CSV tables

The same as ``spikey report runs/series_xor runs/evolve_xor --out runs/report_xor``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", default="runs/series_xor", help="series folder of series_xor.py")
    parser.add_argument("--evolve", default="runs/evolve_xor", help="GA folder of the evolve example (optional)")
    parser.add_argument("--out", default="runs/report_xor", help="report folder")
    args = parser.parse_args(argv)

    from spikey.analysis.load import ResultFolderError, detect_kind
    from spikey.analysis.report import build_report

    paths = [args.series]
    if not Path(args.series).is_dir():
        sys.exit(f"report_xor: {args.series} does not exist; run examples/series_xor.py first.")
    try:
        detect_kind(args.evolve)
        paths.append(args.evolve)
    except ResultFolderError as error:
        print(f"report_xor: leaving out the GA folder ({error})")
    started = time.perf_counter()
    path = build_report(paths, args.out, metric="accuracy", title="Spikey XOR: series and GA")
    print(f"report of {len(paths)} folder(s) in {time.perf_counter() - started:.1f} s: {path.absolute()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
