import json
from collections.abc import Iterator

import pytest
from django.test import override_settings

from memory.extraction_llm import FACTS_SCHEMA
from memory.models import Fact, JobKind, JobStatus, OutboxJob, Summary
from memory.services import message_create
from tenants.models import EndUser, Thread
from tests.fakes.openai_server import FakeOpenAI, fake_openai_server
from tests.infyn.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)

ALLERGY = {
    "facts": [
        {
            "attribute": "allergic_to",
            "value": "peanuts",
            "text": "Alice is allergic to peanuts.",
            "category": "attribute",
            "importance": 0.9,
            "negated": False,
        },
        {"attribute": "", "value": "junk", "text": "dropped: no attribute"},
    ]
}


@pytest.fixture
def llm() -> Iterator[FakeOpenAI]:
    with (
        fake_openai_server() as server,
        override_settings(
            LLM_BASE_URL=server.base_url,
            LLM_API_KEY="sk-test",
            LLM_MODEL="test-model",
            MEMORY_LLM_EXTRACTION=True,
        ),
    ):
        yield server


def test_a_capable_model_adds_schema_guided_facts_to_the_rules(
    end_user: EndUser, llm: FakeOpenAI
) -> None:
    llm.replies = [json.dumps(ALLERGY)]
    thread = Thread.objects.create(end_user=end_user, external_id="t")

    message_create(
        thread=thread,
        role="user",
        name="Alice",
        content="My dog is called Biscuit. Peanuts make me really ill, so no satay for me.",
    )

    facts = {f.attribute: f for f in Fact.objects.filter(end_user=end_user)}
    assert facts["allergic_to"].extractor == "llm-1"
    assert facts["allergic_to"].text == "Alice is allergic to peanuts."
    assert facts["dog_name"].extractor == "rules-1"  # the rules still ran
    assert len(facts) == 2  # the malformed item was dropped
    request = llm.requests[0]
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    assert request["body"]["model"] == "test-model"
    assert request["body"]["response_format"]["type"] == "json_schema"
    assert request["body"]["response_format"]["json_schema"]["schema"] == FACTS_SCHEMA
    assert OutboxJob.objects.get(kind=JobKind.EXTRACT_FACTS).key.endswith("rules-1+llm-1")


@pytest.mark.parametrize("failure", ["not json", "server error", "refused"])
def test_a_model_that_cannot_answer_leaves_the_job_for_a_retry(
    end_user: EndUser, llm: FakeOpenAI, failure: str
) -> None:
    if failure == "not json":
        llm.replies = ["Sure! Here are the facts: ..."]
    elif failure == "server error":
        llm.status = 503
    thread = Thread.objects.create(end_user=end_user, external_id="t")
    base_url = f"http://127.0.0.1:{free_port()}/v1" if failure == "refused" else llm.base_url

    with override_settings(LLM_BASE_URL=base_url):
        message = message_create(thread=thread, role="user", content="I live in Porto.")

    job = OutboxJob.objects.get(kind=JobKind.EXTRACT_FACTS)
    assert job.status == JobStatus.PENDING
    assert "LLMUnavailableError" in job.last_error
    assert message.pk  # the message itself is kept
    assert not Fact.objects.filter(end_user=end_user).exists()  # nothing half-written


@override_settings(MEMORY_SUMMARY_WINDOW=2)
def test_a_capable_model_writes_summaries_and_a_failing_one_falls_back(end_user: EndUser) -> None:
    thread = Thread.objects.create(end_user=end_user, external_id="t")
    with (
        fake_openai_server() as server,
        override_settings(LLM_BASE_URL=server.base_url, MEMORY_LLM_SUMMARIES=True),
    ):
        server.replies = ["Alice adopted a dog named Biscuit and plans a trip to Porto."]
        message_create(thread=thread, role="user", content="I adopted a dog, Biscuit.")
        message_create(thread=thread, role="user", content="Planning a trip to Porto.")
        server.status = 500
        message_create(thread=thread, role="user", content="Work is busy.")
        message_create(thread=thread, role="user", content="The weather is nice.")

    first, second = Summary.objects.filter(thread=thread).order_by("id")
    assert first.summarizer == "llm-1"
    assert first.text.startswith("Alice adopted a dog")
    assert len(first.source_message_ids) == 2
    assert second.summarizer == "extractive-1"
    assert "user: " in second.text
