"""A window during which a failed dependency is left alone, shared by a process's threads.

When Redis (the cache, or the broker) cannot be reached, every call to it would wait for its
own connection attempt to fail, and log its own error. After one failure the dependency is
skipped for ``retry_after`` seconds instead, with one warning per window.
"""

import logging
import threading
import time

logger = logging.getLogger(__name__)


class OutageWindow:
    def __init__(self, name: str, *, retry_after: float) -> None:
        self.name = name
        self.retry_after = retry_after
        self._until = 0.0
        self._lock = threading.Lock()

    def active(self) -> bool:
        """Whether the dependency failed less than ``retry_after`` seconds ago."""
        return time.monotonic() < self._until

    def begin(self, error: BaseException) -> None:
        """Record a failure: the dependency is skipped for the next ``retry_after`` seconds."""
        with self._lock:
            fresh = not self.active()
            self._until = time.monotonic() + self.retry_after
        if fresh:
            logger.warning(
                "%s: unreachable (%s); skipped for %.0f s", self.name, error, self.retry_after
            )

    def end(self) -> None:
        """Forget the failure (tests; a caller that knows the dependency is back)."""
        with self._lock:
            self._until = 0.0
