"""The service's clock, in one place so that tests can move time (expiry, signing links)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, UTC and aware. Tests replace this function to travel in time."""
    return datetime.now(UTC)
