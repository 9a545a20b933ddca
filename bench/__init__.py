"""Benchmarks (`make bench`): each `bench/*_bench.py` module has `main()` and prints its figures."""
