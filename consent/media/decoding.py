"""How many images a worker process decodes at once.

A decode takes memory in proportion to its pixels (a 9400 x 9400 PNG: about 600 MB and 5 s);
with threaded workers, a handful of such uploads at once would take a worker's memory, and the
host's. Decodes therefore wait for one of a few slots per process (CONSENT_IMAGE_DECODES), a
short while at most (CONSENT_IMAGE_DECODE_WAIT_SECONDS); a request that finds none gets a 503
with Retry-After rather than queueing without end.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from consent.errors import ServiceBusy


class DecodeSlots:
    """A bounded number of decodes at once in this process."""

    def __init__(self, slots: int, wait_seconds: float) -> None:
        self.slots = slots
        self.wait_seconds = wait_seconds
        self._semaphore = threading.BoundedSemaphore(slots)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold a slot while the block runs. Raises ServiceBusy when none frees up in time."""
        if not self._semaphore.acquire(timeout=self.wait_seconds):
            raise ServiceBusy(
                "The service is decoding as many images as it may at once; try again shortly.",
                retry_after=max(1, math.ceil(self.wait_seconds)),
            )
        try:
            yield
        finally:
            self._semaphore.release()


_slots = DecodeSlots(2, 5.0)


def configure(*, slots: int, wait_seconds: float) -> None:
    """Set this process's slots (from the settings, when the app is built)."""
    global _slots
    _slots = DecodeSlots(slots, wait_seconds)


def decode_slot() -> DecodeSlots:
    """The slots decodes of this process take (consent.media.fingerprints)."""
    return _slots
