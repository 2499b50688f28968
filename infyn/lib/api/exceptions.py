"""The API's own exceptions, beyond DRF's. No DRF views here: the parser imports this module
while DRF is still building APIView, so importing views from here would be circular."""

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from psycopg_pool import PoolTimeout
from rest_framework import exceptions, status


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class Overloaded(exceptions.APIException):
    """Every pooled database connection stayed busy for DATABASE_POOL_TIMEOUT."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The server is busy; retry in a moment."
    default_code = "overloaded"
    wait = 1  # DRF sends it as Retry-After


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unavailable; retry in a moment."
    default_code = "database_unavailable"
    wait = 2


def database_error_as_api_error(exc: BaseException) -> exceptions.APIException | None:
    """The 503 that a database error means for a client, or None when it is not one.

    A pool that runs dry and a database that went away (restarted, unreachable) are
    conditions to retry after, not server bugs: no 500, and nothing already stored is lost.
    A pool that timed out with every connection it may open in use is overloaded; one that
    timed out below that could not open more, so the database is the problem.
    """
    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    if isinstance(exc.__cause__, PoolTimeout) and _pool_is_full():
        return Overloaded()
    return DatabaseUnavailable()


def _pool_is_full() -> bool:
    pool = getattr(connections[DEFAULT_DB_ALIAS], "pool", None)
    if pool is None:
        return True
    stats = pool.get_stats()
    return int(stats.get("pool_size", 0)) >= int(pool.max_size)
