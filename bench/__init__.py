"""Benchmarks: scripts that print the numbers the README and docs quote."""
