"""Benchmarks: plain scripts, `python -m benchmarks.<name>`, each printing its figures."""
