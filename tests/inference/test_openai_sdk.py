"""The official `openai` SDK against a real daphne server, as a vendor would use infyn."""

import time
from collections.abc import Callable, Iterator

import httpx
import openai
import pytest

from tenants.models import Vendor
from tests.fakes.openai_server import FakeOpenAI, fake_openai_server
from tests.infyn.servers import daphne_server, fake_backend_env

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    with fake_openai_server() as server:
        server.default_reply = "Biscuit is a fine name for a dog."
        yield server


@pytest.fixture
def infyn_url(upstream: FakeOpenAI) -> Iterator[str]:
    with daphne_server(fake_backend_env(upstream)) as base_url:
        yield base_url


def test_the_openai_sdk_chats_with_memory(
    vendor: Vendor, raw_key_for: Callable[..., str], infyn_url: str, upstream: FakeOpenAI
) -> None:
    client = openai.OpenAI(base_url=f"{infyn_url}/v1", api_key=raw_key_for(vendor))

    client.chat.completions.create(
        model="anything", user="alice", messages=[{"role": "user", "content": "My dog is Biscuit."}]
    )
    answer = client.chat.completions.create(
        model="anything", user="alice", messages=[{"role": "user", "content": "My dog's name?"}]
    )

    assert answer.choices[0].message.content == "Biscuit is a fine name for a dog."
    assert answer.model == "fake-model"
    assert answer.usage is not None
    assert answer.usage.completion_tokens > 0
    extra = answer.model_extra or {}
    assert extra["infyn"]["memory"]  # the first exchange came back as memory
    assert "Biscuit" in str(upstream.requests[-1]["body"]["messages"])


def test_the_openai_sdk_streams(
    vendor: Vendor, raw_key_for: Callable[..., str], infyn_url: str
) -> None:
    client = openai.OpenAI(base_url=f"{infyn_url}/v1", api_key=raw_key_for(vendor))

    stream = client.chat.completions.create(
        model="anything",
        user="alice",
        messages=[{"role": "user", "content": "Hello"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Biscuit is a fine name for a dog."
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 1
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 8  # the upstream's own count, passed on


def test_the_openai_sdk_sees_a_clear_error_when_the_backend_is_down(
    vendor: Vendor, raw_key_for: Callable[..., str], infyn_url: str, upstream: FakeOpenAI
) -> None:
    upstream.status = 503
    client = openai.OpenAI(base_url=f"{infyn_url}/v1", api_key=raw_key_for(vendor), max_retries=0)

    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(
            model="x", user="alice", messages=[{"role": "user", "content": "Hi"}]
        )

    assert raised.value.status_code == 503
    assert raised.value.body["code"] == "backend_unavailable"  # type: ignore[index]


def test_a_client_that_disconnects_mid_stream_cancels_the_upstream_request(
    vendor: Vendor, raw_key_for: Callable[..., str], infyn_url: str, upstream: FakeOpenAI
) -> None:
    upstream.default_reply = " ".join(["slow"] * 100)
    upstream.token_delay = 0.05
    body = {"user": "alice", "stream": True, "messages": [{"role": "user", "content": "Go"}]}
    headers = {"Authorization": f"Bearer {raw_key_for(vendor)}"}

    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", f"{infyn_url}/v1/chat/completions", json=body, headers=headers) as r,
    ):
        lines = r.iter_lines()
        assert next(line for line in lines if "slow" in line)
    # the response is closed here, with most of the reply still to come

    stop = time.monotonic() + 5
    while upstream.abandoned == 0 and time.monotonic() < stop:
        time.sleep(0.05)
    assert upstream.abandoned == 1
    assert upstream.completed == 0
