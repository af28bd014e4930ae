#!/bin/sh
# Create the virtual environment of one benchmark peer from its pinned requirements:
#
#     sh benchmarks/install_peers.sh bindsnet      # -> .venv-bindsnet (benchmarks/envs/bindsnet.txt)
#     sh benchmarks/install_peers.sh brian2        # -> .venv-brian2   (benchmarks/envs/brian2.txt)
#     sh benchmarks/install_peers.sh PEER DIR      # -> DIR (then point SPIKEY_<PEER>_PYTHON at DIR/bin/python)
#
# The peers pin conflicting numpy and torch versions, so each has its own environment, apart from
# Spikey's. PYTHON (default python3) is the interpreter the environment is made from; the pins were
# resolved for CPython 3.11 on Linux x86_64. An existing environment is left alone: remove it to reinstall.
set -eu

usage="usage: sh benchmarks/install_peers.sh bindsnet|brian2 [ENV_DIR]"
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "$usage" >&2
    exit 2
fi
peer=$1
root=$(cd "$(dirname "$0")/.." && pwd)
requirements="$root/benchmarks/envs/$peer.txt"
if [ ! -f "$requirements" ]; then
    echo "install_peers: unknown peer '$peer' (no $requirements); expected bindsnet or brian2" >&2
    echo "$usage" >&2
    exit 2
fi
env_dir=${2:-"$root/.venv-$peer"}
python=${PYTHON:-python3}
if [ -e "$env_dir" ]; then
    echo "install_peers: $env_dir exists; remove it (rm -r $env_dir) to reinstall $peer" >&2
    exit 2
fi
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$version" != "3.11" ]; then
    echo "install_peers: $python is Python $version; benchmarks/envs/$peer.txt was resolved for 3.11" \
         "and may not install (set PYTHON=python3.11)" >&2
fi

started=$(date +%s)
"$python" -m venv "$env_dir"
echo '*' > "$env_dir/.gitignore"
"$env_dir/bin/python" -m pip install --no-input -r "$requirements"
"$env_dir/bin/python" -m pip check
# the simulator imports and builds its network once (Brian2 compiles its cython code here)
(cd "$root" && "$env_dir/bin/python" -m benchmarks.peers --check "$peer")
elapsed=$(( $(date +%s) - started ))
echo "install_peers: $peer installed in $env_dir ($elapsed s, $(du -sh "$env_dir" | cut -f1))"
