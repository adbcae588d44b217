"""Benchmarks: ratios measured in one run against a baseline page of the same app (DESIGN §8)."""
