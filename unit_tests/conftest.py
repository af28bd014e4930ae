"""Shared test set-up: private Ray settings before anything imports ray."""
import os
import tempfile

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.2")
os.environ.setdefault("RAY_TMPDIR", tempfile.mkdtemp(prefix="spikey-ray-", dir="/tmp"))
os.environ.setdefault("MPLBACKEND", "Agg")
