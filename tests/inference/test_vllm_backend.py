"""The vllm backend counts prompt tokens with the worker's own ``POST /tokenize``."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from inference.backends import chat_backend, chat_token_counter, reset_chat_backend
from inference.backends.vllm import VllmTokenizeCounter
from memory.tokens import approximate_token_count, count_tokens
from tests.fakes.openai_server import FakeOpenAI, fake_openai_server
from tests.infyn.servers import free_port

# Two words for the fake worker (it counts words), ten pieces for our approximation.
TEXT = "don't stop-believing!!"


@pytest.fixture
def worker() -> Iterator[FakeOpenAI]:
    with fake_openai_server() as server:
        yield server


def tokenize_requests(server: FakeOpenAI) -> list[dict[str, Any]]:
    return [request for request in server.requests if request["path"] == "/tokenize"]


def test_counts_come_from_the_worker_not_the_approximation(worker: FakeOpenAI) -> None:
    assert approximate_token_count(TEXT) != 2  # else this test could not tell them apart
    counter = VllmTokenizeCounter(worker.base_url, "served-model", "")

    assert counter.count(TEXT) == 2


def test_tokenize_is_asked_beside_v1_with_the_model_and_key(worker: FakeOpenAI) -> None:
    # given a base URL ending in /v1, where the chat completions live
    assert worker.base_url.endswith("/v1")
    counter = VllmTokenizeCounter(worker.base_url, "served-model", "worker-key")

    # when
    counter.count(TEXT)

    # then
    [request] = tokenize_requests(worker)
    assert request["body"] == {
        "model": "served-model",
        "prompt": TEXT,
        "add_special_tokens": False,
    }
    assert request["headers"]["authorization"] == "Bearer worker-key"


def test_a_base_url_without_v1_is_used_as_is(worker: FakeOpenAI) -> None:
    counter = VllmTokenizeCounter(worker.base_url.removesuffix("/v1"), "served-model", "")

    assert counter.count(TEXT) == 2
    assert len(tokenize_requests(worker)) == 1


def test_a_repeated_text_is_counted_once(worker: FakeOpenAI) -> None:
    counter = VllmTokenizeCounter(worker.base_url, "served-model", "")

    counts = [counter.count(TEXT) for _ in range(3)] + [counter.count("one two three")]

    assert counts == [2, 2, 2, 3]
    assert [request["body"]["prompt"] for request in tokenize_requests(worker)] == [
        TEXT,
        "one two three",
    ]


def test_a_worker_that_is_down_gives_the_approximation_without_raising() -> None:
    counter = VllmTokenizeCounter(f"http://127.0.0.1:{free_port()}/v1", "served-model", "")

    assert counter.count(TEXT) == approximate_token_count(TEXT)


def test_a_failed_count_is_not_cached_so_the_next_call_asks_again(worker: FakeOpenAI) -> None:
    # given a server that answers /tokenize at this address with 404
    counter = VllmTokenizeCounter(f"{worker.base_url}/missing/v1", "served-model", "")

    # when
    counts = [counter.count(TEXT), counter.count(TEXT)]

    # then both were approximated, and both asked the server
    assert counts == [approximate_token_count(TEXT)] * 2
    assert [request["path"] for request in worker.requests] == ["/v1/missing/tokenize"] * 2


def test_the_vllm_backend_counts_prompts_with_tokenize_and_stored_counts_stay_approximate(
    worker: FakeOpenAI,
) -> None:
    settings = {
        "LLM_BACKEND": "vllm",
        "LLM_BASE_URL": worker.base_url,
        "LLM_MODEL": "m",
        "LLM_API_KEY": "",
        "LLM_TOKENIZER_FILE": "",
    }
    try:
        with override_settings(**settings):
            # given
            reset_chat_backend()

            # when
            chat_backend()
            counter = chat_token_counter()

            # then
            assert counter.name.startswith("vLLM /tokenize")
            assert counter.count(TEXT) == 2
            assert tokenize_requests(worker)[0]["body"]["model"] == "m"
            assert count_tokens(TEXT) == approximate_token_count(TEXT)
    finally:
        reset_chat_backend()
