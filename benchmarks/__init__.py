"""Measurements that take too long for the test suite; each writes JSON to ``benchmarks/results/``."""
