"""Helpers shared by the tests (no tests here), one module per subject.

``paths`` (where the repository's data and fixtures are), ``processes`` (the CLI in a
subprocess or in-process, ports, waiting for a server), ``releases`` (building releases),
``web``, ``sparql``, ``gunicorn`` and ``load`` (servers and the load generator) and
``virtuoso`` (a private Virtuoso, also used by the benchmark as ``tests.support.virtuoso``).
The tests import them as ``support.<module>``: pyproject's pytest options put ``tests/`` on
the import path.
"""
