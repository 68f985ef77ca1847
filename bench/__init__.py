"""Benchmarks: scripts that measure and write their numbers into docs/benchmarks.md.

Run them from the repository root as modules: ``python -m bench.quality``, ``python -m bench.throughput``, ...
"""
