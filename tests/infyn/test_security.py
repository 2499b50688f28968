"""Production hardening: `check --deploy` is clean behind a TLS proxy, HTML pages carry a CSP,
the demo is off unless enabled, and `dbshell` reaches the embedded server."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

from tests.infyn.servers import ROOT

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "a-production-secret-" + "k3y" * 20,
    "DJANGO_ALLOWED_HOSTS": "infyn.example",
    "DJANGO_BEHIND_TLS_PROXY": "true",
    "DJANGO_SETTINGS_MODULE": "infyn.settings",
}


def run_in_production(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **PRODUCTION, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_behind_a_tls_proxy() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**os.environ, **PRODUCTION},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


PROBE = """
import json, django
django.setup()
from django.test import Client
client = Client()
plain = client.get("/v1/me", HTTP_HOST="infyn.example")
health = client.get("/healthz", HTTP_HOST="infyn.example")
tls = client.get("/v1/me", HTTP_HOST="infyn.example", HTTP_X_FORWARDED_PROTO="https")
demo = client.get("/demo/", HTTP_HOST="infyn.example", HTTP_X_FORWARDED_PROTO="https")
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location")],
    "health_redirected": health.status_code in (301, 302),
    "hsts": tls.get("Strict-Transport-Security"),
    "demo": demo.status_code,
}))
"""


@pytest.mark.django_db
def test_behind_a_tls_proxy_http_is_redirected_and_https_carries_hsts() -> None:
    result = run_in_production(PROBE, DATABASE_URL=_database_url())

    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["plain"] == [301, "https://infyn.example/v1/me"]
    assert not probe["health_redirected"]  # load balancers check over plain HTTP
    assert probe["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert probe["demo"] == 404  # off in production unless INFYN_DEMO_ENABLED


@pytest.mark.django_db
def test_the_demo_can_be_enabled_in_production() -> None:
    result = run_in_production(PROBE, DATABASE_URL=_database_url(), INFYN_DEMO_ENABLED="true")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["demo"] == 200


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/v1/docs", "/demo/"])
def test_html_pages_allow_scripts_from_this_server_only(path: str) -> None:
    response = Client().get(path)

    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    # and the page itself needs no inline script, which the policy would block
    html = response.content.decode()
    assert "<script>" not in html


def test_json_responses_carry_no_page_policy() -> None:
    assert "Content-Security-Policy" not in Client().get("/v1/me")


def test_dbshell_reaches_the_embedded_server() -> None:
    if "EMBEDDED_PGDATA" not in settings.DATABASES["default"]:
        pytest.skip("DATABASE_URL names a server: dbshell uses Django's own client there")
    result = subprocess.run(
        [sys.executable, "manage.py", "dbshell", "--", "-At", "-c", "SHOW data_directory"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "infyn.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert os.path.realpath(result.stdout.strip()) == os.path.realpath(
        settings.DATABASES["default"]["EMBEDDED_PGDATA"]
    )


def _database_url() -> str:
    from tests.infyn.servers import current_database_url

    return current_database_url()
