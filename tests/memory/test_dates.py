"""Timestamps anywhere on the calendar: recency is total, extraction stays within it.

A message dated 1930, or 0001-01-01 (what Go and .NET send for "no date"), made every search
of its end user fail: 0.5 to the power of its age in half-lives underflows, which PostgreSQL
raises as an error.
"""

from datetime import datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from memory.models import Fact, Message
from memory.ranking import RankingWeights, RankingWeightsError
from memory.retrieval import memories_search
from memory.services import MessageInput, messages_import
from tenants.models import EndUser

pytestmark = pytest.mark.django_db(transaction=True)


def said_on(created_at: str, content: str, thread: str = "t") -> dict[str, Any]:
    return {"thread": thread, "role": "user", "content": content, "created_at": created_at}


def store_said_on(end_user: EndUser, created_at: str, content: str) -> None:
    """Through the service, as an import does (the API also refuses what is in the future)."""
    when = datetime.fromisoformat(created_at)
    messages = [MessageInput(thread_external_id="t", role="user", content=content, created_at=when)]
    messages_import(end_user=end_user, messages=messages)


@pytest.mark.parametrize("created_at", ["0001-01-01T00:00:00Z", "1930-05-01T12:00:00Z"])
def test_messages_from_long_ago_are_found_by_search(
    api: APIClient, end_user: EndUser, created_at: str
) -> None:
    messages = [said_on(created_at, "My grandfather kept bees in Sussex.")]
    imported = api.post("/v1/users/alice/messages/import", {"messages": messages}, format="json")

    response = api.get("/v1/users/alice/memories/search", {"q": "bees", "k": 5})

    assert imported.status_code == 201, imported.content
    assert response.status_code == 200, response.content
    top = response.json()["results"][0]
    assert "bees" in top["text"]
    assert top["components"]["recency"] == pytest.approx(0.0, abs=1e-200)


def test_a_short_half_life_with_decades_old_messages_still_ranks(end_user: EndUser) -> None:
    store_said_on(end_user, "1990-07-01T00:00:00+00:00", "I learned to sail in Brittany.")

    # 36 years at a 7-day half-life is about 1,900 half-lives
    results = memories_search(
        end_user=end_user, query="sailing", weights=RankingWeights(half_life_days=7)
    )

    assert results
    assert "sail" in results[0].text


def test_a_history_dated_in_the_future_is_refused_with_a_400(
    api: APIClient, end_user: EndUser
) -> None:
    messages = [said_on("9999-12-31T23:59:59Z", "I will have a flying car.")]

    response = api.post("/v1/users/alice/messages/import", {"messages": messages}, format="json")

    assert response.status_code == 400
    assert "created_at: Must not be in the future." in response.json()["error"]["message"]
    assert not Message.objects.exists()


def test_relative_dates_said_at_the_calendars_edges_are_kept_as_said(end_user: EndUser) -> None:
    store_said_on(end_user, "0001-01-01T00:00:00+00:00", "Last year I moved to Lisbon.")

    # the extraction job ran, and its fact says "last year" rather than "in 0"
    fact = Fact.objects.get(end_user=end_user, attribute="lives_in")
    assert fact.text == "user moved to Lisbon Last year."


@pytest.mark.parametrize(
    "overrides",
    [{"half_life_days": 0}, {"half_life_days": -3}, {"recency": True}, {"candidates": 2.5}],
)
def test_ranking_weights_that_would_break_the_search_are_refused(overrides: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(RankingWeightsError, match=r"half_life_days|recency|candidates"):
        RankingWeights().merged(overrides)
