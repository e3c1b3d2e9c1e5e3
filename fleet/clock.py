"""The production clock (the :class:`fleet.ports.Clock` the fleet runs on).

Tests and benchmarks that need time to stand still inject ``fleet.testing.fakes.FakeClock``.
"""

from __future__ import annotations

import time


class SystemClock:
    """Wall time in milliseconds (event timestamps) and a monotonic clock (durations)."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()
