"""Retry policy: exponential backoff with full jitter; a vendor's Retry-After wins, within a cap."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

MAX_VENDOR_WAIT_S = 3600.0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    backoff_s: float = 2.0
    max_backoff_s: float = 300.0

    @classmethod
    def from_step(cls, step: dict[str, Any]) -> RetryPolicy:
        spec = step.get("retry") or {}
        return cls(
            max_attempts=int(spec.get("max_attempts", cls.max_attempts)),
            backoff_s=float(spec.get("backoff_s", cls.backoff_s)),
            max_backoff_s=float(spec.get("max_backoff_s", cls.max_backoff_s)),
        )

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if retry_after is not None and retry_after >= 0:
            return min(float(retry_after), MAX_VENDOR_WAIT_S)
        ceiling = min(self.max_backoff_s, self.backoff_s * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)
