"""Where the tests find the repository's data and their fixtures.

Everything a test reads lives in the repository, so that the suite runs the same from any
checkout (``tests/conftest.py`` fails a test that reads beside it).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
#: The source listing pages, the project's own source material.
SEEDS = DATA / "sources"
#: W3C SPARQL 1.1 test material (w3c/rdf-tests), copied with its licence.
W3C = ROOT / "tests" / "w3c" / "sparql11"
