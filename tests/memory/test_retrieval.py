from collections.abc import Callable

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from memory.apps import check_ranking_defaults
from memory.ranking import RankingWeights, RankingWeightsError
from memory.retrieval import memories_search
from tenants.models import EndUser, Thread

pytestmark = pytest.mark.django_db(transaction=True)

HISTORY = [
    "I adopted a dog last spring, his name is Biscuit.",
    "Work has been hectic, the quarterly report is due.",
    "I tried a new pasta recipe with lots of garlic.",
    "My sister Anna is visiting from Berlin next week.",
    "I've started training for a half marathon in October.",
]


def test_search_finds_the_relevant_message_with_every_score_component(
    end_user: EndUser, say: Callable[..., object]
) -> None:
    say(end_user, HISTORY)

    results = memories_search(end_user=end_user, query="What is my dog called?", k=5)

    top = results[0]
    assert "Biscuit" in top.text
    assert {
        "similarity",
        "lexical",
        "date_match",
        "neighbour",
        "thread_context",
        "speaker_match",
        "recency",
        "same_thread",
        "importance",
        "mention_boost",
        "score",
    } <= set(top.components)
    assert top.score == pytest.approx(top.components["score"])
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_keyword_only_matches_are_found_through_full_text(
    end_user: EndUser, say: Callable[..., object]
) -> None:
    say(end_user, [*HISTORY, "Order number QX-7781 never arrived."])

    results = memories_search(end_user=end_user, query="QX-7781", k=3)

    assert any("QX-7781" in r.text for r in results)
    hit = next(r for r in results if "QX-7781" in r.text)
    assert hit.components["lexical"] > 0


def test_search_never_returns_another_end_users_memories(
    end_user: EndUser, other_end_user: EndUser, say: Callable[..., object]
) -> None:
    say(end_user, HISTORY)
    say(other_end_user, ["My cat is called Pixel."])

    mine = memories_search(end_user=end_user, query="cat called Pixel", k=20)
    theirs = memories_search(end_user=other_end_user, query="dog Biscuit", k=20)

    assert not any("Pixel" in r.text for r in mine)
    assert not any("Biscuit" in r.text for r in theirs)


def test_same_thread_affinity_lifts_memories_of_the_current_thread(
    end_user: EndUser, say: Callable[..., object]
) -> None:
    say(end_user, ["We talked about the red bicycle."], thread="a")
    say(end_user, ["We talked about the blue bicycle."], thread="b")
    thread_b = Thread.objects.get(end_user=end_user, external_id="b")
    weights = RankingWeights(thread=1.0)

    results = memories_search(
        end_user=end_user,
        query="bicycle",
        k=2,
        thread=thread_b,
        weights=weights,
        types=("message",),
    )

    assert "blue" in results[0].text
    assert results[0].components["same_thread"] == 1.0


def test_near_duplicates_are_dropped(end_user: EndUser, say: Callable[..., object]) -> None:
    say(end_user, ["I love hiking in the Alps.", "I love hiking in the Alps!", "Pasta is great."])

    results = memories_search(end_user=end_user, query="hiking", k=5, types=("message",))

    assert sum("hiking" in r.text for r in results) == 1


def test_unknown_ranking_weights_are_refused() -> None:
    with pytest.raises(RankingWeightsError, match="Unknown ranking weights: nope"):
        RankingWeights.from_mapping({"nope": 1.0})


def test_a_vendors_ranking_overrides_apply_to_its_searches_only(
    end_user: EndUser, say: Callable[..., object]
) -> None:
    from django.core.exceptions import ValidationError

    from memory.models import VendorMemorySettings
    from memory.retrieval import weights_for_vendor

    say(end_user, ["We talked about the red bicycle."], thread="a")
    settings_row = VendorMemorySettings.objects.create(
        vendor=end_user.vendor, ranking={"thread": 2.0}
    )
    thread_a = Thread.objects.get(end_user=end_user, external_id="a")

    result = memories_search(end_user=end_user, query="bicycle", k=1, thread=thread_a)

    assert weights_for_vendor(end_user.vendor_id).thread == 2.0
    assert result[0].components["same_thread"] == 1.0
    assert result[0].score >= 2.0
    settings_row.ranking = {"no_such_weight": 1}
    with pytest.raises(ValidationError):
        settings_row.full_clean()


def test_both_full_text_strategies_rank_the_same(
    end_user: EndUser, say: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    say(end_user, [*HISTORY, "Order number QX-7781 never arrived."])
    query = "when is the marathon and what about order QX-7781?"

    scanned = memories_search(end_user=end_user, query=query, k=6)
    monkeypatch.setattr("memory.search_sql.FULL_TEXT_INDEX_FROM_MESSAGES", 0)  # through GIN
    indexed = memories_search(end_user=end_user, query=query, k=6)

    assert [(r.type, r.id) for r in indexed] == [(r.type, r.id) for r in scanned]
    assert [r.score for r in indexed] == pytest.approx([r.score for r in scanned])
    assert any(r.components["lexical"] > 0 for r in indexed)


def test_overrides_saved_before_a_stricter_rule_fall_back_to_the_defaults(
    end_user: EndUser, say: Callable[..., object], caplog: pytest.LogCaptureFixture
) -> None:
    # given overrides stored when zero candidates was still accepted (no clean() on update)
    from memory.models import VendorMemorySettings
    from memory.ranking import default_weights
    from memory.retrieval import weights_for_vendor

    say(end_user, ["We talked about the red bicycle."])
    VendorMemorySettings.objects.create(vendor=end_user.vendor)
    VendorMemorySettings.objects.filter(vendor=end_user.vendor).update(ranking={"candidates": 0})

    # when the vendor's end user searches
    with caplog.at_level("WARNING", logger="memory.retrieval"):
        results = memories_search(end_user=end_user, query="bicycle", k=1)

    # then the search runs with the platform's weights, and the refusal is logged
    assert weights_for_vendor(end_user.vendor_id) == default_weights()
    assert "bicycle" in results[0].text
    assert "candidates must be a whole number" in caplog.text


@pytest.mark.parametrize("weights", [{"nope": 1.0}, {"half_life_days": 0}, {"lexical": "high"}])
def test_platform_weights_that_cannot_be_used_stop_the_app_from_starting(
    weights: dict[str, object],
) -> None:
    with (
        override_settings(MEMORY_RANKING=weights),
        pytest.raises(ImproperlyConfigured, match="INFYN_RANKING_WEIGHTS"),
    ):
        check_ranking_defaults()
