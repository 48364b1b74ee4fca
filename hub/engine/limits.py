"""Per-connection concurrency and request-rate limits, so a vendor's caps are respected.

ConnectionLimiter holds for one process (the embedded default). The cluster-wide limiter
(hub/engine/cluster_limits.py) plugs in behind the same two methods.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol


class Limiter(Protocol):
    def try_acquire(self, connection_id: int, concurrency: int | None, rate: float | None) -> float:
        """Take a slot and a token; 0.0 on success, else how many seconds to wait before trying again."""
        ...

    def release(self, connection_id: int) -> None:
        """Give back the concurrency slot of one successful try_acquire."""
        ...


@dataclass
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    stamp: float


class ConnectionLimiter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[int, int] = {}
        self._buckets: dict[int, _Bucket] = {}

    def try_acquire(self, connection_id: int, concurrency: int | None, rate: float | None) -> float:
        """Take a slot and a token; 0.0 on success, else how many seconds to wait before trying again."""
        now = time.monotonic()
        with self._lock:
            if concurrency is not None and self._active.get(connection_id, 0) >= concurrency:
                return 0.25
            if rate is not None and rate > 0:
                bucket = self._buckets.get(connection_id)
                if bucket is None or bucket.rate != rate:
                    capacity = max(1.0, rate)
                    bucket = _Bucket(rate, capacity, capacity, now)
                    self._buckets[connection_id] = bucket
                bucket.tokens = min(bucket.capacity, bucket.tokens + (now - bucket.stamp) * bucket.rate)
                bucket.stamp = now
                if bucket.tokens < 1.0:
                    return (1.0 - bucket.tokens) / bucket.rate
                bucket.tokens -= 1.0
            self._active[connection_id] = self._active.get(connection_id, 0) + 1
            return 0.0

    def release(self, connection_id: int) -> None:
        with self._lock:
            remaining = self._active.get(connection_id, 0) - 1
            if remaining > 0:
                self._active[connection_id] = remaining
            else:
                self._active.pop(connection_id, None)
