"""Throughput and scaling measurements of the engine (not tests): ``python -m benchmarks.run``."""
