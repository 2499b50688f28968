"""How the API answers errors: database errors a client should retry (503) apart from our
faults (500), and the errors services raise."""

import pytest
from django.db import InterfaceError, OperationalError
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout

from infyn.lib.api.errors import api_exception_handler
from infyn.lib.api.exceptions import database_error_as_api_error
from infyn.lib.errors import DomainError


def _django_error(
    cause: BaseException | None, wrapper: type[Exception] = OperationalError
) -> Exception:
    error = wrapper("from the driver")
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    "cause",
    [
        pg_errors.OperationalError("server closed the connection unexpectedly"),  # no SQLSTATE
        pg_errors.ConnectionFailure("connection failure"),  # class 08
        pg_errors.AdminShutdown("terminating connection due to administrator command"),
        pg_errors.CannotConnectNow("the database system is starting up"),
        None,  # raised by Django itself
    ],
)
def test_a_lost_database_connection_is_a_503_to_retry(cause: BaseException | None) -> None:
    unavailable = database_error_as_api_error(_django_error(cause))

    assert unavailable is not None
    assert (unavailable.status_code, unavailable.default_code) == (503, "database_unavailable")


def test_a_closed_connection_is_a_503_to_retry() -> None:
    unavailable = database_error_as_api_error(_django_error(None, InterfaceError))

    assert unavailable is not None
    assert unavailable.status_code == 503


@pytest.mark.django_db
def test_a_pool_that_times_out_below_its_size_means_the_database_is_unavailable() -> None:
    unavailable = database_error_as_api_error(_django_error(PoolTimeout("no connection")))

    assert unavailable is not None
    assert unavailable.status_code == 503


@pytest.mark.parametrize(
    "cause",
    [
        pg_errors.DeadlockDetected("deadlock detected"),
        pg_errors.SerializationFailure("could not serialize access"),
    ],
)
def test_a_transaction_lost_to_a_concurrent_one_is_a_503_to_retry(cause: BaseException) -> None:
    busy = database_error_as_api_error(_django_error(cause))

    assert busy is not None
    assert (busy.status_code, busy.default_code) == (503, "overloaded")


@pytest.mark.parametrize(
    "cause",
    [
        pg_errors.QueryCanceled("canceling statement due to statement timeout"),
        pg_errors.DiskFull("could not extend file"),
    ],
)
def test_other_operational_errors_are_faults_not_outages(cause: BaseException) -> None:
    assert database_error_as_api_error(_django_error(cause)) is None


def test_errors_that_are_not_operational_are_not_outages() -> None:
    assert database_error_as_api_error(ValueError("a bug")) is None


def test_a_domain_error_answers_in_the_api_error_shape_with_its_status() -> None:
    class QuotaSpentError(DomainError):
        status_code = 402
        code = "quota_spent"

    response = api_exception_handler(QuotaSpentError("This month's tokens are spent."), {})

    assert response is not None
    assert response.status_code == 402
    assert response.data == {
        "error": {"code": "quota_spent", "message": "This month's tokens are spent."}
    }
