"""Rendered PDFs kept in memory, by content hash, within a byte budget (least recently used
goes first).

In memory rather than on disk: a receipt carries the patient's photos as thumbnails and the
withdrawal code, and the media store keeps those encrypted under the patient's own key (erasing
the patient destroys the key). Plain copies in a disk cache would outlive an erasure. The price
is one cache per worker process, which a restart empties; a miss only costs a render.
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class RenderCache:
    """A thread-safe LRU of PDF bytes by key, holding at most ``max_bytes`` in total."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: bytes) -> None:
        """Keep ``value`` unless it alone exceeds the budget; evict the oldest to make room."""
        if len(value) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._items[key] = value
            self._bytes += len(value)
            while self._bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= len(evicted)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)
