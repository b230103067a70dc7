"""Metrics: the Redis writer shared by every role, the system sampler and the exporter."""
