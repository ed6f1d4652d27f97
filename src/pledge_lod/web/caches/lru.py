"""A thread-safe LRU cache bounded by entries and by bytes, on cachetools.

Each gunicorn worker keeps its own: serialised documents are keyed by (release id, path,
format, page), so a new release simply stops hitting the old entries, which age out. No
invalidation is ever needed because a release never changes once written.

cachetools' :class:`~cachetools.LRUCache` keeps the order and the byte count (its
``getsizeof``); this adds what the web package needs around it: a lock (gthread workers
serve requests on several threads, and cachetools is not thread-safe), a second bound
on the number of entries, values too big to keep returned without evicting the rest,
and hit counts. Measured against the OrderedDict LRU it replaces, on this 2-core
machine under load: a hit costs about 1.5 times as long (a few microseconds), against
the ~130 us the response cache's cheapest replay takes: within the noise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import LRUCache

V = TypeVar("V")


class LRU(Generic[V]):
    """Least-recently-used cache; ``size_of`` says how many bytes a value counts for."""

    def __init__(
        self,
        max_entries: int,
        max_bytes: int = 0,
        size_of: Callable[[V], int] | None = None,
        max_item_bytes: int | None = None,
    ):
        self.max_entries = max(1, max_entries)
        self.max_bytes = max_bytes
        #: Values bigger than this are returned but not kept (default: a quarter of the
        #: budget, so that one huge value never evicts everything else).
        self.max_item_bytes = max_bytes // 4 if max_item_bytes is None else max_item_bytes
        if max_bytes:
            self._data: LRUCache[Hashable, V] = LRUCache(
                max_bytes, getsizeof=size_of or (lambda _value: 0)
            )
        else:  # bounded by entries only: cachetools counts each entry as 1
            self._data = LRUCache(self.max_entries)
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._data.get(key)  # a hit becomes the most recently used
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
            return value

    def put(self, key: Hashable, value: V) -> V:
        # (cachetools refuses a value larger than its whole budget with ValueError)
        if self.max_bytes and self._data.getsizeof(value) > min(
            self.max_item_bytes, self.max_bytes
        ):
            return value
        with self._lock:
            self._data[key] = value  # evicts the least recently used beyond max_bytes
            while len(self._data) > self.max_entries:
                self._data.popitem()
        return value

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        """The cached value, or ``make()``'s (computed outside the lock, then kept)."""
        value = self.get(key)
        if value is None:
            value = self.put(key, make())
        return value

    @property
    def nbytes(self) -> int:
        """Bytes the kept values count for (``size_of``), at most ``max_bytes``."""
        return self._data.currsize if self.max_bytes else 0

    def __len__(self) -> int:
        return len(self._data)
