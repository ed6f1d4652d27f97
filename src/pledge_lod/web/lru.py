"""A small, thread-safe LRU cache bounded by entries and by bytes.

Each gunicorn worker keeps its own: serialised documents are keyed by (release id, path,
format, page), so a new release simply stops hitting the old entries, which age out. No
invalidation is ever needed because a release never changes once written.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

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
        self.size_of = size_of or (lambda _value: 0)
        self._data: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Hashable, value: V) -> V:
        size = self.size_of(value)
        if self.max_bytes and size > self.max_item_bytes:
            return value
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._data[key] = (value, size)
            self._bytes += size
            while len(self._data) > self.max_entries or (
                self.max_bytes and self._bytes > self.max_bytes
            ):
                _key, (_value, dropped) = self._data.popitem(last=False)
                self._bytes -= dropped
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
        return self._bytes

    def __len__(self) -> int:
        return len(self._data)
