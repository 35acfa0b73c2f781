"""Time-boxed Hypothesis fuzzing of the parsers that read untrusted bytes.

The modules here are named ``fuzz_*.py`` so that the normal test run (``pytest``,
``nox -s tests``) does not collect them; ``nox -s fuzz`` runs them, each target for
``$TLS_ADAPTER_FUZZ_SECONDS`` seconds. Every crash they find becomes a concrete test in
``tests/test_parser_robustness.py``.
"""
