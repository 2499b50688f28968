"""The API's own exceptions, beyond DRF's. No DRF views here: the parser imports this module
while DRF is still building APIView, so importing views from here would be circular."""

from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from psycopg import Error as PsycopgError
from psycopg_pool import PoolTimeout
from rest_framework import exceptions, status


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


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
    timed out below that could not open more, so the database is the problem. A transaction
    PostgreSQL rolled back because of a concurrent one (a deadlock, a serialization failure)
    succeeds when retried: busy. Any other operational error (a statement timeout, a full
    disk) is a fault to look into: None, so that it is a 500 with its traceback logged.
    """
    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    cause = exc.__cause__
    if isinstance(cause, PoolTimeout):
        return Overloaded() if _pool_is_full() else DatabaseUnavailable()
    if isinstance(exc, InterfaceError) or _is_connection_failure(cause):
        return DatabaseUnavailable()
    if _lost_to_a_concurrent_transaction(cause):
        return Overloaded()
    return None


# SQLSTATEs of a server that is going away or not taking connections yet: admin_shutdown,
# crash_shutdown, cannot_connect_now (starting up or in recovery).
_SERVER_GOING_AWAY = {"57P01", "57P02", "57P03"}


def _is_connection_failure(cause: BaseException | None) -> bool:
    """Whether the driver error behind a Django OperationalError is a lost connection."""
    if not isinstance(cause, PsycopgError):
        return True  # raised by Django itself, with no server reply: the connection failed
    sqlstate = cause.sqlstate
    # No SQLSTATE: the server never answered (refused, reset, closed mid-query).
    # Class 08: connection exceptions.
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _SERVER_GOING_AWAY


def _lost_to_a_concurrent_transaction(cause: BaseException | None) -> bool:
    """SQLSTATE class 40, transaction rollback: a deadlock or a serialization failure."""
    return isinstance(cause, PsycopgError) and (cause.sqlstate or "").startswith("40")


def _pool_is_full() -> bool:
    # Only a PoolTimeout leads here, so the connection is PostgreSQL's, with a pool.
    pool = cast(Any, connections[DEFAULT_DB_ALIAS]).pool
    stats = pool.get_stats()
    return int(stats.get("pool_size", 0)) >= int(pool.max_size)
