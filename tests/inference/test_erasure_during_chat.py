"""An end user erased while a reply streams: the reply's record brings nothing back."""

from collections.abc import Callable

import pytest
from asgiref.sync import sync_to_async

from billing.models import UsageRecord
from memory.erasure import end_user_erase
from memory.models import Message
from tenants.models import EndUser, Thread, Vendor
from tests.fakes.openai_server import FakeOpenAI
from tests.inference.helpers import async_client, post_json, read_stream

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def erase(external_id: str) -> None:
    end_user_erase(end_user=EndUser.objects.get(external_id=external_id), actor="test")


@sync_to_async
def left_of(end_user_id: object) -> tuple[int, int, int]:
    return (
        Message.objects.filter(end_user_id=end_user_id).count(),
        Thread.objects.filter(end_user_id=end_user_id).count(),
        UsageRecord.objects.filter(end_user_id=end_user_id).count(),
    )


async def test_a_chat_in_flight_stores_nothing_after_its_end_user_is_erased(
    vendor: Vendor, chat_key: Callable[..., str], fake_llm: FakeOpenAI
) -> None:
    # given a reply that is streaming: the user's message is stored, the rest is on its way
    client = async_client(await sync_to_async(chat_key)(vendor))
    fake_llm.token_delay = 0.2
    body = {
        "model": "any",
        "user": "dora",
        "stream": True,
        "messages": [{"role": "user", "content": "My cat is called Miso."}],
    }
    response = await post_json(client, "/v1/chat/completions", body)
    assert response.status_code == 200
    end_user_id = (await sync_to_async(EndUser.objects.get)(external_id="dora")).pk
    assert (await left_of(end_user_id))[0] == 1

    # when the end user is erased before the reply ends
    await erase("dora")
    events = await read_stream(response)

    # then the reply could not be stored, says so, and nothing of the end user came back
    assert events[-1]["error"]["code"] == "server_error"
    assert await left_of(end_user_id) == (0, 0, 0)
    assert not await sync_to_async(EndUser.objects.filter(pk=end_user_id).exists)()
