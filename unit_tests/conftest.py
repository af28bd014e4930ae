"""Shared test set-up: private Ray settings before anything imports ray."""
import os
import tempfile

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.2")
os.environ.setdefault("RAY_TMPDIR", tempfile.mkdtemp(prefix="spikey-ray-", dir="/tmp"))
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

# test_science.py draws its seeds from this one logged seed per run (see its docstring).
if not os.environ.get("SPIKEY_SCIENCE_SEED"):
    os.environ["SPIKEY_SCIENCE_SEED"] = str(int.from_bytes(os.urandom(4), "little") % 1_000_000)


def _science_seed_line() -> str:
    seed = os.environ["SPIKEY_SCIENCE_SEED"]
    return f"science seed: {seed} (SPIKEY_SCIENCE_SEED={seed} draws test_science.py's seeds again)"


def pytest_report_header(config):
    return _science_seed_line()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The seed again at the end (``-q`` hides the header), so a failed run's log says how to repeat it."""
    terminalreporter.write_line(_science_seed_line())


@pytest.fixture(scope="session")
def ray_session():
    """One Ray instance for the whole test session (2 CPUs), started on first use and shut down at the end.

    Yields its GCS address, which a subprocess passes as ``--address`` to attach.
    The dashboard runs too: Ray Train's placement-group cleaner queries the State
    API through it (without it, a Train run inside a Tune trial can strand its CPUs).
    """
    import ray
    if ray.is_initialized():  # someone else's instance: use it, leave it running
        yield ray.get_runtime_context().gcs_address
        return
    ray.init(address="local", num_cpus=2, include_dashboard=True, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
