"""Cost of a long run with a checkpoint every episode (the reliability figure): 1,200 episodes, checkpoint_every 1, xor.yaml with tiny sizes: per-episode cost (play + checkpoint)
first vs last 100, the checkpoint (save_local) share, RSS at episodes 100 and 1,200."""
import sys, tempfile, time
import numpy as np
import spikey, spikey.experiment.run as run_module
print("spikey from", spikey.__file__)
from spikey.experiment import Experiment, run_experiment

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1200
exp = Experiment.from_file("examples/xor.yaml").replace(seeds=8, n_episodes=n, len_episode=4, checkpoint_every=1)
exp = exp.with_keys({"processing_time": 10})
stamps, saves, rss = [], [], {}
real_save = run_module.save_local

def timed_save(*args):
    t = time.perf_counter(); real_save(*args); saves.append(time.perf_counter() - t)

run_module.save_local = timed_save

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024

cpu = []
def hook(episode, rows):
    stamps.append(time.perf_counter())
    cpu.append(time.process_time())
    if episode + 1 in (100, 600, n):
        rss[episode + 1] = rss_mb()

start = time.perf_counter()
metrics = run_experiment(exp, tempfile.mkdtemp(prefix="long-run-"), progress=False, on_episode=hook)
total = time.perf_counter() - start
d = np.diff(stamps) * 1000
s = np.array(saves) * 1000
print(f"{n} episodes x 8 lanes, {len(metrics)} rows, total {total:.1f} s")
print(f"per episode incl. checkpoint, ms: first 100 mean {d[:99].mean():.1f} (median {np.median(d[:99]):.1f}), "
      f"last 100 mean {d[-100:].mean():.1f} (median {np.median(d[-100:]):.1f}); ratio of means {d[-100:].mean() / d[:99].mean():.2f}")
print(f"checkpoint (save_local) ms: first 100 mean {s[:100].mean():.1f}, last 100 (before the final one) mean "
      f"{s[-101:-1].mean():.1f}; final {s[-1]:.1f}")
c = np.diff(cpu) * 1000
print(f"per episode CPU time incl. checkpoint, ms: first 100 mean {c[:99].mean():.1f}, last 100 mean {c[-100:].mean():.1f}; "
      f"ratio {c[-100:].mean() / c[:99].mean():.2f}")
print("RSS MB at episode", {k: round(v, 1) for k, v in rss.items()})
