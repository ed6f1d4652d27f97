"""The pledge_lod benchmark, a package run from the repository's root:

    .venv/bin/python -m bench --sizes 1000,10000,100000     # every figure (bench/run.py)
    .venv/bin/python -m bench.build_only --pledges 1000000  # the build of one size only

Its helper processes (the floor app, the engine worker, the WSGI probe) run as modules of
this package too (``python -m bench.floor_app``), so nothing puts a folder on ``sys.path``.
The private Virtuoso is the tests' runner, imported as ``tests.support.virtuoso``: one
class that both start, so that the benchmark measures the Virtuoso the tests check.
"""
