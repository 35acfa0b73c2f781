"""Benchmarks of tls_adapter against the stdlib and its peers: ``python -m benchmarks``.

``nox -s bench`` runs them and writes ``docs/benchmarks.md`` and
``benchmarks/results/latest.json``; ``python -m benchmarks --quick`` is a smoke run.
See ``benchmarks/README.md``.
"""
