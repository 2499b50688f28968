import re
from datetime import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.utils import timezone

from inference.demo import DEMO_USER_COOKIE, DEMO_USER_COOKIE_SALT
from tenants.models import ApiKey
from tenants.widget_tokens import widget_token_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_vendor() -> None:
    call_command("ensure_demo_vendor", stdout=StringIO())


def demo_user_of(client: Client) -> str:
    """The end user id in the browser's signed cookie, read as the server reads it."""
    request = RequestFactory().get("/")
    request.COOKIES = {DEMO_USER_COOKIE: client.cookies[DEMO_USER_COOKIE].value}
    user_id = request.get_signed_cookie(DEMO_USER_COOKIE, salt=DEMO_USER_COOKIE_SALT)
    assert user_id
    return user_id


def visitor() -> Client:
    """A browser that opened the demo page, with CSRF checks on as in a real one."""
    client = Client(enforce_csrf_checks=True)
    assert client.get("/demo/").status_code == 200
    return client


def test_demo_page_embeds_the_widget_pointed_at_the_token_endpoint() -> None:
    response = Client().get("/demo/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'src="/static/widget/infyn-widget.js"' in html
    assert 'data-token-url="/demo/token"' in html
    assert 'data-open="true"' in html


def test_demo_page_names_each_new_browser_as_its_own_user() -> None:
    first, second = visitor(), visitor()

    assert re.fullmatch(r"demo-[0-9a-f]{16}", demo_user_of(first))
    assert demo_user_of(first) != demo_user_of(second)
    cookie = first.cookies[DEMO_USER_COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_demo_page_keeps_a_returning_browsers_user() -> None:
    client = visitor()
    user_id = demo_user_of(client)

    response = client.get("/demo/")

    assert DEMO_USER_COOKIE not in response.cookies
    assert demo_user_of(client) == user_id


def test_demo_token_lets_this_browser_chat_as_its_own_demo_user(demo_vendor: None) -> None:
    # given a browser that opened the demo page
    client = visitor()

    # when the widget asks for a token (a plain fetch: no CSRF token)
    response = client.post("/demo/token")

    # then the token is the demo vendor's, for this browser's user
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"token", "expires_at", "websocket_url"}
    assert body["websocket_url"] == "/ws/chat/"
    assert "no-store" in response["Cache-Control"]
    grant = widget_token_verify(body["token"])
    assert grant.vendor.slug == "demo"
    assert grant.end_user_external_id == demo_user_of(client)
    assert grant.thread_external_id is None
    assert datetime.fromisoformat(body["expires_at"]) == grant.expires_at
    assert grant.expires_at > timezone.now()


def test_two_browsers_get_tokens_for_different_users(demo_vendor: None) -> None:
    first, second = visitor(), visitor()

    first_grant = widget_token_verify(first.post("/demo/token").json()["token"])
    second_grant = widget_token_verify(second.post("/demo/token").json()["token"])

    assert first_grant.end_user_external_id != second_grant.end_user_external_id


def test_demo_token_without_the_demo_vendor_says_how_to_create_it() -> None:
    response = visitor().post("/demo/token")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "demo_unavailable"
    assert "ensure_demo_vendor" in response.json()["error"]["message"]


def test_demo_token_is_unavailable_when_every_demo_key_is_revoked(demo_vendor: None) -> None:
    ApiKey.objects.filter(vendor__slug="demo").update(revoked_at=timezone.now())

    response = visitor().post("/demo/token")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "demo_unavailable"


@pytest.mark.parametrize("cookie", [None, "demo-forged-without-a-signature"])
def test_demo_token_needs_the_cookie_the_demo_page_signed(
    demo_vendor: None, cookie: str | None
) -> None:
    client = Client()
    if cookie is not None:
        client.cookies[DEMO_USER_COOKIE] = cookie

    response = client.post("/demo/token")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "demo_cookie_missing"


def test_demo_token_only_answers_post(demo_vendor: None) -> None:
    assert visitor().get("/demo/token").status_code == 405
