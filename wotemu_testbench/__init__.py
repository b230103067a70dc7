"""Test benches and harnesses: used by tests/ and bench/, never shipped in the runtime image."""
