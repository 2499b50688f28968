from collections.abc import Callable, Iterator
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from memory.indexes import own_indexes_existing, own_indexes_for, own_indexes_sync
from memory.ranking import default_weights
from memory.retrieval import memories_search, search_params, search_transaction
from memory.search_sql import search_sql
from tenants.models import EndUser

# CREATE INDEX CONCURRENTLY cannot run inside the transaction a plain django_db test wraps.
pytestmark = pytest.mark.django_db(transaction=True)

ALICE = [
    "I adopted a dog last spring, his name is Biscuit.",
    "Work has been hectic, the quarterly report is due.",
    "I tried a new pasta recipe with lots of garlic.",
    "My sister Anna is visiting from Berlin next week.",
    "I've started training for a half marathon in October.",
]
BOB = ["My cat Pixel knocked the vase off the shelf.", "I work night shifts at the bakery."]


@pytest.fixture(autouse=True)
def _drop_own_indexes() -> Iterator[None]:
    """Indexes outlive the rows a transactional test flushes: leave none for the next test."""
    yield
    with connection.cursor() as cursor:
        for name in own_indexes_existing():
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


def _names(end_user: EndUser) -> set[str]:
    return {index.name for index in own_indexes_for(end_user.pk)}


def test_only_end_users_past_the_threshold_get_indexes_of_their_own(
    end_user: EndUser, other_end_user: EndUser, say: Callable[..., object]
) -> None:
    # given
    say(end_user, ALICE)
    say(other_end_user, BOB)

    # when
    report = own_indexes_sync(from_messages=5)

    # then
    existing = own_indexes_existing()
    assert _names(end_user) <= set(existing)
    assert all(existing[name] for name in _names(end_user)), "every index is valid"
    assert not _names(other_end_user) & set(existing)
    assert set(report.created) == _names(end_user)
    assert report.end_users == 1
    # A second sync has nothing left to do.
    again = own_indexes_sync(from_messages=5)
    assert again.created == []
    assert again.dropped == []


def test_an_own_index_holds_only_its_end_users_rows(
    end_user: EndUser, other_end_user: EndUser, say: Callable[..., object]
) -> None:
    say(end_user, ALICE)
    say(other_end_user, BOB)
    own_indexes_sync(from_messages=5)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_expr(i.indpred, i.indrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = %s",
            [f"own_hnsw_message_{end_user.pk.hex}"],
        )
        (predicate,) = cursor.fetchone()
    assert str(end_user.pk) in predicate
    assert str(other_end_user.pk) not in predicate


def test_the_planner_can_use_the_own_index_for_that_end_users_search(
    end_user: EndUser, say: Callable[..., object]
) -> None:
    # given: the statements bind the end user as a literal, so the predicate is provable
    say(end_user, ALICE)
    own_indexes_sync(from_messages=5)
    weights = default_weights()
    params = search_params(end_user=end_user, query="What is my dog called?", weights=weights)

    # when: a table this small would be read whole, so take that choice away
    with search_transaction(weights, end_user=end_user) as (cursor, messages):
        cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + search_sql(("message",), history_messages=messages), params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    # then
    assert f"own_hnsw_message_{end_user.pk.hex}" in plan


def test_search_results_are_the_same_with_own_indexes_and_stay_isolated(
    end_user: EndUser, other_end_user: EndUser, say: Callable[..., object]
) -> None:
    say(end_user, ALICE)
    say(other_end_user, BOB)
    before = memories_search(end_user=end_user, query="What is my dog called?", k=5)

    own_indexes_sync(from_messages=5)
    after = memories_search(end_user=end_user, query="What is my dog called?", k=5)
    bob_sees = memories_search(end_user=other_end_user, query="dog Biscuit", k=10)

    assert [m.id for m in after] == [m.id for m in before]
    assert "Biscuit" in after[0].text
    assert all("Biscuit" not in m.text for m in bob_sees)


def test_a_deleted_end_users_indexes_are_dropped(
    end_user: EndUser, say: Callable[..., object]
) -> None:
    say(end_user, ALICE)
    own_indexes_sync(from_messages=5)
    names = _names(end_user)

    end_user.delete()
    report = own_indexes_sync(from_messages=5)

    assert set(report.dropped) == names
    assert not names & set(own_indexes_existing())


def test_an_invalid_index_left_by_an_interrupted_build_is_rebuilt(
    end_user: EndUser, say: Callable[..., object]
) -> None:
    say(end_user, ALICE)
    own_indexes_sync(from_messages=5)
    name = f"own_gin_message_{end_user.pk.hex}"
    with connection.cursor() as cursor:
        # What a concurrent build that was cancelled half way leaves behind.
        cursor.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass", [name]
        )

    report = own_indexes_sync(from_messages=5)

    assert name in report.dropped
    assert name in report.created
    assert own_indexes_existing()[name] is True


def test_the_command_prints_its_plan_and_then_builds_it(
    end_user: EndUser, say: Callable[..., object]
) -> None:
    say(end_user, ALICE)

    dry = StringIO()
    call_command("memory_own_indexes", "--from-messages", "5", "--dry-run", stdout=dry)
    assert f"would build own_hnsw_message_{end_user.pk.hex}" in dry.getvalue()
    assert not _names(end_user) & set(own_indexes_existing())

    out = StringIO()
    call_command("memory_own_indexes", "--from-messages", "5", stdout=out, stderr=StringIO())
    assert "6 indexes built, 0 dropped" in out.getvalue()
    assert _names(end_user) <= set(own_indexes_existing())


@pytest.mark.parametrize("threshold", ["0", "-5"])
def test_the_command_refuses_a_threshold_below_one(threshold: str) -> None:
    with pytest.raises(CommandError, match="positive number of messages"):
        call_command("memory_own_indexes", "--from-messages", threshold, stdout=StringIO())
