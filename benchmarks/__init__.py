"""Benchmarks of tls_adapter's backends (run with ``nox -s bench`` once it exists)."""
