"""The Celery broker, as the outbox sees it: reachable or not, and whether it lost its queues.

The outbox (memory.outbox) is the durable record of every background job; the broker only
carries them to the workers. Two things can separate the two: a publish that fails while the
broker is down (the job is then marked as never enqueued, and the sweeper sends it again),
and a broker that comes back empty (Redis restarted without persistence, or flushed), which
silently drops every job it held. The second is detected with a marker key in the broker's
own database: it vanishes with the queues.
"""

import redis
from django.conf import settings
from kombu.exceptions import OperationalError

from infyn.lib.outage import OutageWindow

# After a failed publish, the outbox stops trying the broker for this long.
broker_outage = OutageWindow("broker", retry_after=5.0)

# What a publish raises when the broker cannot be reached: kombu turns its transports'
# connection errors (redis-py's, sockets') into OperationalError; OSError covers a socket
# error raised before kombu wraps it. Anything else (a message that does not serialise) is
# not an outage.
BROKER_CONNECTION_ERRORS: tuple[type[Exception], ...] = (OperationalError, OSError)

EPOCH_KEY = "infyn:broker-epoch"


def broker_lost_its_queues() -> bool:
    """Whether the broker's data is newer than when this was last asked: True after a
    restart that emptied it, after a flush, and the first time ever.

    The marker is created as it is checked (SET NX), so of several sweepers asking at once,
    one learns of the loss. A broker that is not Redis keeps its queues across restarts:
    False. Raises when the broker cannot be reached.
    """
    url: str = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return False
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        return bool(client.set(EPOCH_KEY, "1", nx=True))
    finally:
        client.close()
