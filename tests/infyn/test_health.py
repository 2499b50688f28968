import pytest
from rest_framework.test import APIClient

from tests.infyn.servers import daphne_server, http_get_json


@pytest.mark.django_db
def test_healthz_reports_every_component_without_a_key() -> None:
    response = APIClient().get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert tuple(int(part) for part in body["pgvector"].split(".")[:2]) >= (0, 8)
    assert body["cache"] == "ok"
    assert body["channel_layer"] == "ok"
    assert body["broker"] == "in-process"


def test_healthz_is_503_when_the_database_is_down() -> None:
    # A real server whose database does not answer: nothing listens on port 9.
    with daphne_server({"DATABASE_URL": "postgres://nobody@127.0.0.1:9/none"}) as base_url:
        status, body = http_get_json(f"{base_url}/healthz")

    assert status == 503
    assert body["status"] == "unavailable"
    assert body["database"] == "unavailable"
