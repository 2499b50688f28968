from collections.abc import Callable
from datetime import timedelta

import pytest

from memory.context import context_build
from memory.tokens import count_tokens
from tenants.models import EndUser, Thread
from tests.conftest import START

pytestmark = pytest.mark.django_db(transaction=True)


def test_context_is_laid_out_stable_prompt_first_and_new_message_last(
    end_user: EndUser, say: Callable[..., object]
) -> None:
    say(end_user, ["My dog is called Biscuit.", "I live in Lisbon."], thread="old")
    thread = Thread.objects.create(end_user=end_user, external_id="new")

    result = context_build(
        end_user=end_user,
        thread=thread,
        new_message="What's my dog's name?",
        system_prompt="You are kind.",
    )

    assert result.messages[0] == {"role": "system", "content": "You are kind."}
    assert result.messages[-1] == {"role": "user", "content": "What's my dog's name?"}
    assert "Biscuit" in result.messages[1]["content"]
    assert result.included["facts"] or result.included["messages"]
    assert result.token_count == sum(count_tokens(m["content"]) + 4 for m in result.messages)


@pytest.mark.parametrize("history_length", [10, 200])
def test_context_stays_within_budget_at_any_history_length(
    end_user: EndUser, say: Callable[..., object], history_length: int
) -> None:
    lines = [
        f"On day {n} I cooked a long elaborate dish with {n} ingredients and told you "
        f"every detail of it, including the shopping and the washing up."
        for n in range(history_length)
    ]
    say(end_user, lines, thread="t")
    thread = Thread.objects.get(end_user=end_user, external_id="t")

    result = context_build(
        end_user=end_user, thread=thread, new_message="What did I cook?", budget=300
    )

    assert result.token_count <= 300
    assert result.baseline_tokens > result.token_count or history_length == 10
    if history_length == 200:
        assert sum(result.trimmed.values()) > 0


def test_an_oversized_new_message_is_shortened_to_fit(end_user: EndUser) -> None:
    thread = Thread.objects.create(end_user=end_user, external_id="t")
    huge = "word " * 5000

    result = context_build(end_user=end_user, thread=thread, new_message=huge, budget=400)

    assert result.token_count <= 400
    assert result.trimmed["new_message"] == 1


def test_recent_turns_of_the_thread_come_before_the_new_message(
    end_user: EndUser, say: Callable[..., object]
) -> None:
    say(end_user, ["first turn", "second turn", "third turn"], thread="t")
    thread = Thread.objects.get(end_user=end_user, external_id="t")

    result = context_build(end_user=end_user, thread=thread, new_message="and now?")

    contents = [m["content"] for m in result.messages]
    assert contents[-4:] == ["first turn", "second turn", "third turn", "and now?"]
    assert len(result.included["recent"]) == 3


def test_the_full_history_baseline_counts_every_message_of_the_end_user(
    end_user: EndUser, say: Callable[..., object]
) -> None:
    from memory.models import Message

    say(end_user, ["one two three", "four five"], thread="a")
    say(end_user, ["six"], thread="b")
    thread = Thread.objects.get(end_user=end_user, external_id="b")
    history = sum(m.token_count + 4 for m in Message.objects.filter(end_user=end_user))

    result = context_build(end_user=end_user, thread=thread, new_message="hi", system_prompt="S")

    assert result.baseline_tokens == history + count_tokens("S") + 4 + count_tokens("hi") + 4


def test_a_history_that_fits_the_budget_is_sent_whole_with_stated_facts(
    end_user: EndUser, say: Callable[..., object]
) -> None:
    from memory.services import fact_create_explicit

    say(end_user, ["I moved to Porto.", "Nice city!"], thread="old")
    say(end_user, ["Any tips for dinner?"], thread="t", start=START + timedelta(days=1))
    fact_create_explicit(
        end_user=end_user, text="Allergic to nuts.", category="attribute", importance=0.9
    )
    thread = Thread.objects.get(end_user=end_user, external_id="t")

    result = context_build(end_user=end_user, thread=thread, new_message="Something light?")

    assert result.whole_history
    assert result.messages[1] == {
        "role": "system",
        "content": (
            "What you remember about this user (use it when relevant):\n- Allergic to nuts."
        ),
    }
    assert [m["content"] for m in result.messages[2:]] == [
        "I moved to Porto.",
        "Nice city!",
        "Any tips for dinner?",
        "Something light?",
    ]
    # exactly the full history, plus the one stated fact
    facts_block = count_tokens(result.messages[1]["content"]) + 4
    assert result.token_count == result.baseline_tokens + facts_block


def test_memory_takes_over_once_the_history_outgrows_the_budget(
    end_user: EndUser, say: Callable[..., object]
) -> None:
    say(
        end_user,
        [f"Day {n}: I walked {n} km along the river and saw herons." for n in range(60)],
        thread="t",
    )
    thread = Thread.objects.get(end_user=end_user, external_id="t")

    result = context_build(end_user=end_user, thread=thread, new_message="Herons?", budget=300)

    assert not result.whole_history
    assert result.token_count <= 300 < result.baseline_tokens
