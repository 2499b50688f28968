from collections.abc import Callable, Iterator

import pytest
from django.test import override_settings

from inference.backends import reset_chat_backend
from tenants.models import Vendor
from tenants.services import api_key_create
from tests.fakes.openai_server import FakeOpenAI, fake_openai_server


@pytest.fixture
def fake_llm() -> Iterator[FakeOpenAI]:
    """The `openai` backend, pointed at a fake OpenAI-compatible server on a real port."""
    with (
        fake_openai_server() as server,
        override_settings(
            LLM_BACKEND="openai", LLM_BASE_URL=server.base_url, LLM_MODEL="fake-model"
        ),
    ):
        server.default_reply = "Hello there, I remember you."
        reset_chat_backend()
        yield server
    reset_chat_backend()


@pytest.fixture
def chat_key(db: None) -> Callable[..., str]:
    """A raw API key of ``vendor`` (committed: async tests need transaction=True)."""

    def make(vendor: Vendor, **kwargs: object) -> str:
        _api_key, raw_key = api_key_create(vendor=vendor, name="chat", actor="test", **kwargs)
        return raw_key

    return make
