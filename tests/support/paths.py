"""Where the tests find the repository's data and their fixtures.

Everything a test reads lives in the repository (``tests/fixtures/`` for what comes from
elsewhere), so that the suite runs the same from any checkout.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
FIXTURES = ROOT / "tests" / "fixtures"
SEEDS = FIXTURES / "seeds"
W3C = FIXTURES / "w3c"
