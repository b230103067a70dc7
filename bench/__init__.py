"""Benchmarks (`make bench`): each module measures one thing and writes bench/out/<name>.json."""
