"""Our HTML pages work in a real browser under their Content-Security-Policy: the demo's
widget streams a reply, Swagger UI renders the API, the admin's sign-in shows, and the
browser reports no blocked script, style or connection on any of them.

Needs Debian's chromium (``apt-get install chromium``) and the playwright package (a dev
dependency); without chromium the test is skipped, except in CI (``INFYN_REQUIRE_BROWSER``).
"""

import os
import shutil
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.db import connections

from tests.fakes.openai_server import FakeOpenAI, fake_openai_server
from tests.infyn.servers import daphne_server, fake_backend_env

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDGET = ".infyn-widget-host"


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    # Playwright's sync API runs an event loop in this thread, which Django then takes for an
    # async context; the test's own database work is still sync and single-threaded.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not os.path.exists(CHROMIUM):
        if os.environ.get("INFYN_REQUIRE_BROWSER"):
            pytest.fail("chromium is required (INFYN_REQUIRE_BROWSER) but not installed")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture
def site() -> Iterator[tuple[str, FakeOpenAI]]:
    call_command("ensure_demo_vendor", verbosity=0)
    # Playwright's greenlets see connections of their own; this one must not outlive the test.
    connections.close_all()
    with fake_openai_server() as upstream:
        upstream.default_reply = "Biscuit is a lovely name for a dog!"
        with daphne_server(fake_backend_env(upstream)) as base_url:
            # localhost: a name in ALLOWED_HOSTS, so the demo page is one of infyn's own
            yield base_url.replace("127.0.0.1", "localhost"), upstream


def open_page(browser: object, url: str) -> tuple[object, list[str]]:
    page = browser.new_page()  # type: ignore[attr-defined]
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    response = page.goto(url, wait_until="networkidle")
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    return page, blocked


def test_the_demo_widget_chats_under_the_policy(
    browser: object, site: tuple[str, FakeOpenAI]
) -> None:
    base_url, upstream = site
    page, blocked = open_page(browser, f"{base_url}/demo/")

    page.wait_for_selector(f"{WIDGET}[data-infyn-state='ready']", state="attached")  # type: ignore[attr-defined]
    page.locator(f"{WIDGET} .infyn-input").fill("Hi! My dog is called Biscuit.")  # type: ignore[attr-defined]
    page.locator(f"{WIDGET} .infyn-input").press("Enter")  # type: ignore[attr-defined]
    page.wait_for_selector(f"{WIDGET}[data-infyn-replies='1']", state="attached")  # type: ignore[attr-defined]

    reply = page.locator(f"{WIDGET} .infyn-message-assistant").inner_text()  # type: ignore[attr-defined]
    assert reply.strip() == upstream.default_reply
    assert blocked == []


@pytest.mark.parametrize(
    ("path", "ready"), [("/v1/docs", ".swagger-ui .opblock"), ("/admin/login/", "#id_username")]
)
def test_the_api_docs_and_the_admin_render_under_the_policy(
    browser: object, site: tuple[str, FakeOpenAI], path: str, ready: str
) -> None:
    base_url, _upstream = site
    page, blocked = open_page(browser, f"{base_url}{path}")

    page.wait_for_selector(ready)  # type: ignore[attr-defined]

    assert blocked == []
