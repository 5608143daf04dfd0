"""A tiny per-process TTL cache for hot, rarely-changing reference rows (organization by
ClientGuid, site by local id, camera by local id). Intake looks these up on every message; the
ORM costs ~1 ms a query on our 2-core target, a dict lookup nothing. Staleness is bounded by
the TTL (an organization deactivated in the admin stops accepting messages within it)."""
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

_MISSING = object()
_registry: list["TTLCache"] = []


class TTLCache:
    def __init__(self, ttl_seconds: float = 30.0, max_entries: int = 10_000):
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._data: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        _registry.append(self)

    def peek(self, key: Hashable) -> Any:
        """The cached value, or None when absent or expired."""
        entry = self._data.get(key, _MISSING)
        if entry is not _MISSING and entry[0] > time.monotonic():
            return entry[1]
        return None

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            if len(self._data) >= self.max_entries:
                self._data.clear()
            self._data[key] = (time.monotonic() + self.ttl, value)

    def get_or_load(self, key: Hashable, loader: Callable[[], Any]) -> Any:
        """Cached value, or ``loader()``; ``None`` results are not cached (a missing row may be
        created any moment)."""
        value = self.peek(key)
        if value is None:
            value = loader()
            if value is not None:
                self.put(key, value)
        return value

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def clear_all() -> None:
    """Forget everything (tests; after bulk admin changes)."""
    for cache in _registry:
        cache.clear()
