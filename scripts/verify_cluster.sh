#!/usr/bin/env bash
# Verify examples/cluster.yaml's launcher workflow on this one machine:
#   ray up -> ray submit examples/sweep_xor.py -> read its results -> ray down
# with Ray's local provider against a private SSH server on loopback.
#
# What differs from the AWS file (and why):
#   * provider: local, head 127.0.0.1, no worker nodes; no docker; SSH as root with a fresh key;
#   * SSH goes through `auth.ssh_proxy_command: sshd -i -f <private sshd_config>` (one private sshd
#     per connection: no port, no system sshd, nothing left running);
#   * every SSH command runs through a wrapper with a private HOME (whose .bashrc selects a private
#     venv and RAY_TMPDIR) that turns `ray stop` into stopping only this cluster's processes, by pid
#     (`ray stop` itself would end every Ray process on the machine);
#   * the head starts on free ports (its GCS, dashboard, client server and agents: Ray's defaults may be
#     held by other Ray instances on this machine), with 2 CPUs.
# The file mounts (the repository at ~/spikey-src) and setup commands (`pip install -e ~/spikey-src`) are the
# ones in examples/cluster.yaml. The private venv reuses the project venv's packages through a .pth
# file, so the install adds only spikey itself.
#
# Usage: scripts/verify_cluster.sh            (as root; installs openssh-server and rsync if missing)
#        KEEP=1 scripts/verify_cluster.sh     (keep the work folder for inspection)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
RAY_CLI=${RAY_CLI:-$REPO/.venv/bin/ray}
T0=$(date +%s)
say() { echo "[verify_cluster $(( $(date +%s) - T0 ))s] $*"; }

if [ ! -x /usr/sbin/sshd ] || ! command -v rsync >/dev/null; then
    say "installing openssh-server and rsync (Debian packages)"
    timeout 600 apt-get update -qq
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends openssh-server rsync \
        >/dev/null
fi
mkdir -p /run/sshd  # sshd's privilege-separation directory

WORK=$(mktemp -d /tmp/spikey-cluster.XXXXXX)
HOME_DIR=$WORK/home
VENV=$WORK/venv
HEAD_TMP=$WORK/ray       # the head's RAY_TMPDIR: everything of this cluster runs under it
LAUNCH_TMP=$WORK/launch  # the launcher's (cluster state and lock files)
mkdir -p "$HOME_DIR" "$HEAD_TMP" "$LAUNCH_TMP"
SSH_SOCKETS_BEFORE=$(ls -d /tmp/ray_ssh_* 2>/dev/null || true)
STATUS=1

# Ends this cluster's processes (their command line mentions $HEAD_TMP or the head's venv) and their
# children, by pid. (The launcher's own processes mention neither.)
cat > "$WORK/stop_head.py" <<'EOF'
import os, sys, psutil
paths = sys.argv[1:]  # the head's RAY_TMPDIR and its venv: every process of the head mentions one
mine = {os.getpid()} | {p.pid for p in psutil.Process().parents()}
found = {}
for process in psutil.process_iter(["cmdline"]):
    try:
        if process.pid not in mine and any(path in part for part in process.info["cmdline"] or []
                                           for path in paths):
            found[process.pid] = process
            found.update({c.pid: c for c in process.children(recursive=True)})
    except psutil.Error:
        pass
for process in found.values():
    try:
        process.terminate()
    except psutil.Error:
        pass
_, alive = psutil.wait_procs(list(found.values()), timeout=5)
for process in alive:
    try:
        process.kill()
    except psutil.Error:
        pass
print(f"stopped {len(found)} process(es) of the cluster under {paths}")
EOF
stop_cluster_processes() { "$PYTHON" "$WORK/stop_head.py" "$HEAD_TMP" "$VENV/"; }

cleanup() {
    set +e
    if [ "$STATUS" != 0 ]; then
        say "FAILED; cleaning up (work folder $WORK)"
        RAY_TMPDIR=$LAUNCH_TMP timeout 120 "$RAY_CLI" down -y "$WORK/cluster.yaml" >/dev/null 2>&1
    fi
    stop_cluster_processes >/dev/null
    for socket in $(ls -d /tmp/ray_ssh_* 2>/dev/null); do  # only the control sockets this run made
        echo "$SSH_SOCKETS_BEFORE" | grep -qx "$socket" || rm -rf "$socket"
    done
    if [ "$STATUS" = 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

say "work folder $WORK"
# -- keys, sshd, wrapper -------------------------------------------------------------------------
ssh-keygen -q -t ed25519 -N "" -f "$WORK/id_ed25519"
ssh-keygen -q -t ed25519 -N "" -f "$WORK/host_ed25519"
cp "$WORK/id_ed25519.pub" "$WORK/authorized_keys"
cat > "$WORK/stop_head.sh" <<EOF
#!/bin/bash
# Stands in for \`ray stop\` on this test cluster: ends only the processes under $HEAD_TMP.
exec "$PYTHON" "$WORK/stop_head.py" "$HEAD_TMP" "$VENV/"
EOF
cat > "$WORK/wrapper.sh" <<EOF
#!/bin/bash
# Every SSH command of the test cluster runs here: private HOME; \`ray stop\` -> stop_head.sh.
export HOME="$HOME_DIR"
cd "\$HOME"
command="\${SSH_ORIGINAL_COMMAND:-exec bash --login}"
command="\${command//ray stop/$WORK/stop_head.sh}"
exec bash -c "\$command"
EOF
chmod +x "$WORK/stop_head.sh" "$WORK/wrapper.sh"
cat > "$WORK/sshd_config" <<EOF
HostKey $WORK/host_ed25519
AuthorizedKeysFile $WORK/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
LogLevel ERROR
ForceCommand $WORK/wrapper.sh
EOF
/usr/sbin/sshd -t -f "$WORK/sshd_config"

# -- the head's environment: a private venv (project packages via .pth) and RAY_TMPDIR ---------------
"$PYTHON" -m venv --without-pip "$VENV"
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
PROJECT_SITE=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$PROJECT_SITE" > "$SITE/_project_packages.pth"
for tool in "ray:ray.scripts.scripts:main" "pip:pip._internal.cli.main:main" "spikey:spikey.cli:main"; do
    IFS=: read -r name module function <<< "$tool"
    printf '#!%s\nimport sys\nfrom %s import %s\nsys.exit(%s())\n' "$VENV/bin/python" "$module" "$function" \
        "$function" > "$VENV/bin/$name"
    chmod +x "$VENV/bin/$name"
done
cat > "$HOME_DIR/.bashrc" <<EOF
export PATH="$VENV/bin:\$PATH" RAY_TMPDIR="$HEAD_TMP" RAY_USAGE_STATS_ENABLED=0 RAY_AUTH_MODE=disabled
export PIP_NO_BUILD_ISOLATION=0 PIP_DISABLE_PIP_VERSION_CHECK=1  # build with the venv's setuptools, offline
unset PYTHONPATH
EOF
echo '. ~/.bashrc' > "$HOME_DIR/.bash_profile"

# -- the cluster config: examples/cluster.yaml with the local provider -----------------------------
read -r GCS_PORT DASH_PORT CLIENT_PORT AGENT_PORT AGENT_GRPC_PORT METRICS_PORT ENV_AGENT_PORT < <("$PYTHON" - <<'EOF'
import socket
ports = []
sockets = [socket.socket() for _ in range(7)]
for s in sockets:
    s.bind(("127.0.0.1", 0))
    ports.append(s.getsockname()[1])
print(*ports)
EOF
)
"$PYTHON" - "$REPO/examples/cluster.yaml" "$WORK/cluster.yaml" <<EOF
import sys, yaml
config = yaml.safe_load(open(sys.argv[1]))
config["cluster_name"] = "spikey-verify-$$"
for field in ("docker", "available_node_types", "head_node_type", "max_workers", "upscaling_speed"):
    config.pop(field, None)
config["provider"] = {"type": "local", "head_ip": "127.0.0.1", "worker_ips": []}
config["auth"] = {"ssh_user": "root", "ssh_private_key": "$WORK/id_ed25519",
                  "ssh_proxy_command": "/usr/sbin/sshd -i -f $WORK/sshd_config"}
config["file_mounts"] = {"~/spikey-src": "$REPO"}
# The AWS file's start commands, on free ports and 2 CPUs (its \`ray stop\` goes through the wrapper).
config["head_start_ray_commands"] = [
    "ray stop",
    "ulimit -n 65536 2>/dev/null; ray start --head --port=$GCS_PORT --dashboard-port=$DASH_PORT "
    "--dashboard-host=127.0.0.1 --ray-client-server-port=$CLIENT_PORT --num-cpus=2 "
    "--dashboard-agent-listen-port=$AGENT_PORT --dashboard-agent-grpc-port=$AGENT_GRPC_PORT "
    "--metrics-export-port=$METRICS_PORT --runtime-env-agent-port=$ENV_AGENT_PORT "
    "--autoscaling-config=~/ray_bootstrap_config.yaml --disable-usage-stats"]
config["worker_start_ray_commands"] = []
yaml.safe_dump(config, open(sys.argv[2], "w"), sort_keys=False)
EOF
say "cluster config $WORK/cluster.yaml (head on 127.0.0.1:$GCS_PORT, dashboard $DASH_PORT)"

export RAY_TMPDIR=$LAUNCH_TMP RAY_USAGE_STATS_ENABLED=0 RAY_AUTH_MODE=disabled
unset RAY_ADDRESS
RAY() { timeout "$1" "$RAY_CLI" "${@:2}"; }

say "ray up"
RAY 600 up -y --no-config-cache "$WORK/cluster.yaml" > "$WORK/up.log" 2>&1 || { tail -40 "$WORK/up.log"; exit 1; }
[ -f "$HOME_DIR/spikey-src/setup.py" ] || { echo "repository not mounted at ~/spikey-src"; exit 1; }
say "head is up: $(RAY 120 exec --no-config-cache "$WORK/cluster.yaml" 'ray status --address 127.0.0.1:'"$GCS_PORT"' | grep -E "CPU|node_" | head -3 | tr -s " " | paste -sd";"' 2>/dev/null | tail -1)"

RAY 120 exec --no-config-cache "$WORK/cluster.yaml" 'python -c "import spikey; print(spikey.__file__)"' \
    > "$WORK/installed.log" 2>&1 || true
INSTALLED=$(grep -o "/[^ ]*spikey/__init__.py" "$WORK/installed.log" | tail -1 || true)
say "spikey on the head: $INSTALLED"
case "$INSTALLED" in
    "$HOME_DIR/spikey-src/"*) ;;
    *) tail -5 "$WORK/installed.log"; echo "spikey on the head is not the mounted, installed copy"; exit 1;;
esac

say "ray submit examples/sweep_xor.py"
RAY 900 submit --no-config-cache "$WORK/cluster.yaml" examples/sweep_xor.py -- \
    --samples 4 --episodes 2 --held-out 4 --out '~/spikey_sweeps' --name verify > "$WORK/submit.log" 2>&1 \
    || { tail -60 "$WORK/submit.log"; exit 1; }
grep -E "^attached to|trials \(|held-out|^results:" "$WORK/submit.log"
grep -q "attached to the cluster at [0-9.]*:$GCS_PORT" "$WORK/submit.log" \
    || { echo "the sweep did not run on this cluster's head"; exit 1; }

say "reading the results on the head"
RAY 120 exec --no-config-cache "$WORK/cluster.yaml" "python -c \"import pandas as pd; f = pd.read_parquet('spikey_sweeps/verify/results.parquet'); print('results.parquet:', len(f), 'reports of', f.trial_id.nunique(), 'trials; best accuracy', round(f.groupby('trial_id').accuracy.mean().max(), 3))\"" \
    > "$WORK/exec.log" 2>&1 || { tail -30 "$WORK/exec.log"; exit 1; }
grep "results.parquet:" "$WORK/exec.log"
"$PYTHON" -c "
import pandas as pd, sys
f = pd.read_parquet('$HOME_DIR/spikey_sweeps/verify/results.parquet')
assert f.trial_id.nunique() == 4, f.trial_id.nunique()
assert {'config/learning_rate', 'accuracy'} <= set(f.columns)
"

say "ray down"
RAY 300 down -y "$WORK/cluster.yaml" > "$WORK/down.log" 2>&1 || { tail -30 "$WORK/down.log"; exit 1; }
sleep 2
LEFT=$(pgrep -f -- "$HEAD_TMP|$VENV/" || true)
if [ -n "$LEFT" ]; then echo "processes left after ray down: $LEFT"; exit 1; fi
say "cluster is down; nothing of it left running"
STATUS=0
say "OK: ray up, ray submit (4-trial ASHA sweep), results read, ray down"
