"""The web package's caches, in one place.

Per worker, all keyed by release id (a release never changes, so nothing is ever
invalidated; a new release stops hitting the old entries):

* :class:`.lru.LRU` - the bounded LRU (on cachetools) that :mod:`pledge_lod.web.site`
  uses for rendered representations, built documents and pages, per-release facts and
  listing indexes;
* :class:`.responses.ResponseCache` - the WSGI layer that replays the app's complete
  answers for documents without running Flask.
"""

from .lru import LRU
from .responses import SNAPSHOT_KEY, ResponseCache

__all__ = ["LRU", "SNAPSHOT_KEY", "ResponseCache"]
