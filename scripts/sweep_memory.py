"""A local sweep of many short trials, with the memory of the driver and of Ray's processes.

::

    python scripts/sweep_memory.py [N_TRIALS=200] [OUT_DIR=runs/sweep-memory]

Runs ``spikey.meta.run_sweep`` on examples/xor.yaml (2 seeds, 3 episodes of 4 game steps,
ASHA over learning_rate and action_threshold) on a local Ray instance, samples every second
the RSS of this process and of all its descendants (Ray's GCS, raylet, dashboard and
workers), and prints: trials requested / in the result grid / errored / lost, trials with
results on disk, wall time, peak RSS (driver, and driver + Ray processes; shared pages count
once per process, so the sum overstates the real use), and the mean RSS over the first and
last thirds of the run after start-up (flat when memory does not grow with the trial count).
Writes ``report<N>.json`` (figures and every sample) to OUT_DIR.
"""
import json
import os
import sys
import threading
import time

import psutil


def main() -> None:
    n_trials = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    out = sys.argv[2] if len(sys.argv) > 2 else "runs/sweep-memory"
    os.makedirs(out, exist_ok=True)
    samples, stop, me = [], threading.Event(), psutil.Process(os.getpid())

    def sample() -> None:
        while not stop.is_set():
            total, count = 0, 0
            try:
                processes = [me] + me.children(recursive=True)
            except psutil.Error:
                processes = [me]
            for process in processes:
                try:
                    total += process.memory_info().rss
                    count += 1
                except psutil.Error:
                    pass
            samples.append((time.time(), me.memory_info().rss, total, count))
            stop.wait(1.0)

    threading.Thread(target=sample, daemon=True).start()
    started = time.time()
    from spikey.experiment import Experiment
    from spikey.meta import load_results, run_sweep
    experiment = Experiment.from_file("examples/xor.yaml").replace(seeds=2, n_episodes=3, len_episode=4)
    result = run_sweep(experiment, {"learning_rate": [1e-5, 1e-1, "log"],
                                    "action_threshold": {"choices": ["mean", "median"]}},
                       storage_path=out, name=f"sweep{n_trials}", num_samples=n_trials, grace_period=1,
                       progress=False, seed=0)
    wall = time.time() - started
    stop.set()
    time.sleep(1.1)
    errored = sum(r.error is not None for r in result.grid)
    results = load_results(result.path)
    after_start = samples[len(samples) // 4:]
    third = max(1, len(after_start) // 3)
    mb = 2 ** 20
    report = {"trials": n_trials, "in_grid": len(result.grid), "completed": len(result.grid) - errored,
              "errored": errored, "lost": n_trials - len(result.grid),
              "with_results_on_disk": int(results["trial_id"].nunique()) if len(results) else 0,
              "wall_s": round(wall, 1), "peak_driver_rss_mb": round(max(s[1] for s in samples) / mb),
              "peak_total_rss_mb": round(max(s[2] for s in samples) / mb),
              "max_processes": max(s[3] for s in samples),
              "mean_total_rss_mb_first_third": round(sum(s[2] for s in after_start[:third]) / third / mb),
              "mean_total_rss_mb_last_third": round(sum(s[2] for s in after_start[-third:]) / third / mb)}
    print(json.dumps(report, indent=1))
    with open(os.path.join(out, f"report{n_trials}.json"), "w") as file:
        json.dump({"report": report, "samples": samples}, file)


if __name__ == "__main__":
    main()
