"""Ray Tune sweep of the XOR experiment (examples/xor.yaml) with ASHA, then a check on held-out seeds.

Attaches to a running Ray cluster (``--address auto``, the default, e.g. on the
head of ``ray up examples/cluster.yaml``) and refuses to start a cluster of its
own there; ``--local`` runs on an embedded Ray instead (a laptop)::

    python examples/sweep_xor.py --local                       # here
    ray submit examples/cluster.yaml examples/sweep_xor.py     # on a cluster's head
    ray job submit --working-dir . -- python examples/sweep_xor.py

Prints the best keys, their mean accuracy on held-out seeds next to the
config's own keys, and where the results table is (``results.parquet``, one
row per trial and episode).
"""
from __future__ import annotations

import sys
from pathlib import Path

from spikey.meta.cluster import sweep_script

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    return sweep_script(argv, config="xor.yaml", who="sweep_xor", description=__doc__.split("\n")[0],
                        script_dir=HERE)


if __name__ == "__main__":
    sys.exit(main())
