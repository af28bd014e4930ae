"""Experiments: the episode loop and its metrics."""
from spikey.experiment.loop import run_episodes
