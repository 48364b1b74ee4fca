"""Duration sketches: log-bucket histograms that merge by adding counts and answer percentiles
within a fixed relative error.

A duration of d ms falls in bucket floor(ln d / ln GAMMA); one under a millisecond in a negative bucket,
read as 0. Every value in bucket i lies in [GAMMA**i, GAMMA**(i+1)), so reading the bucket as its geometric
middle is off by at most sqrt(GAMMA) - 1, about 1 %. Thirty days in milliseconds need about 1,100
buckets, so a sketch stays small however many runs it counts. The bucket is computed in SQL (hub/stats.py)
so the database returns one row per bucket, never one per run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

GAMMA = 1.02
LN_GAMMA = math.log(GAMMA)
RELATIVE_ERROR = math.sqrt(GAMMA) - 1


def bucket_value(bucket: int) -> float:
    """The duration (ms) a bucket stands for: its geometric middle, or 0 below a millisecond."""
    return 0.0 if bucket < 0 else GAMMA ** (bucket + 0.5)


def merge(into: dict[int, int], counts: Mapping[Any, int] | Iterable[tuple[Any, int]]) -> dict[int, int]:
    """Add bucket counts into `into` (a stored sketch's keys may be strings: JSON objects have no ints)."""
    pairs = counts.items() if isinstance(counts, Mapping) else counts
    for bucket, count in pairs:
        key = int(bucket)
        into[key] = into.get(key, 0) + int(count)
    return into


def stored(sketch: Mapping[int, int]) -> dict[str, int]:
    """The sketch as a JSON object."""
    return {str(bucket): count for bucket, count in sorted(sketch.items()) if count}


def percentile(sketch: Mapping[int, int], fraction: float) -> float | None:
    """The value at rank ceil(fraction * n) (nearest rank), or None for an empty sketch."""
    total = sum(sketch.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for bucket in sorted(sketch):
        seen += sketch[bucket]
        if seen >= rank:
            return bucket_value(bucket)
    return bucket_value(max(sketch))  # not reached: the last bucket brings `seen` to `total`
