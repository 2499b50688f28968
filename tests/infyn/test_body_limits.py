"""Request bodies over INFYN_MAX_REQUEST_BYTES (and websocket messages over daphne's 1 MiB),
against a real daphne, over raw sockets.

Before: a body declared too large got a 400 HTML page, a chunked body was read as empty, and
daphne received the whole of a 400 MB body (key or no key) before anything refused it.
"""

import json
import socket
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tenants.models import EndUser, Vendor
from tenants.services import api_key_create
from tenants.widget_tokens import widget_token_mint
from tests.infyn.servers import current_database_url, daphne_server

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 1024 * 1024


@pytest.fixture
def server() -> Iterator[str]:
    env = {"DATABASE_URL": current_database_url(), "INFYN_MAX_REQUEST_BYTES": str(LIMIT)}
    with daphne_server(env) as base_url:
        yield base_url


def open_socket(base_url: str) -> socket.socket:
    parts = urlsplit(base_url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, object]]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split(b" ")[1]), json.loads(body)


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(server: str) -> None:
    sock = open_socket(server)
    started = time.monotonic()

    # 400 MB announced, not a byte of it sent, and no API key
    sock.sendall(
        b"POST /v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 400000000\r\n\r\n"
    )
    status, body = read_response(sock)

    assert status == 413
    assert body["error"]["code"] == "payload_too_large"  # type: ignore[index]
    assert time.monotonic() - started < 5
    sock.close()


def test_a_chunked_body_is_refused_once_it_passes_the_limit(server: str) -> None:
    sock = open_socket(server)
    sock.sendall(
        b"POST /v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"x" * 65536
    sent = 0
    try:
        # far more than the limit is offered; the server stops reading past it
        while sent < 50 * LIMIT:
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sent += len(chunk)
    except OSError:
        pass  # the server closed the connection: it read no more than it needed

    status, body = read_response(sock)

    assert status == 413
    assert body["error"]["code"] == "payload_too_large"  # type: ignore[index]
    assert sent < 50 * LIMIT
    sock.close()


def test_a_chunked_body_under_the_limit_is_read_in_full(
    server: str, vendor: Vendor, raw_key_for: Callable[..., str]
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"external_id": '
        yield b'"chunked-alice"}'

    response = httpx.post(
        f"{server}/v1/users",
        content=chunks(),  # a generator: httpx sends it with Transfer-Encoding: chunked
        headers={
            "Authorization": f"Bearer {raw_key_for(vendor)}",
            "Content-Type": "application/json",
        },
    )

    assert response.status_code == 201, response.text
    assert EndUser.objects.filter(vendor=vendor, external_id="chunked-alice").exists()


def test_a_websocket_message_over_a_mebibyte_closes_the_connection(
    server: str, vendor: Vendor
) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    api_key, _raw = api_key_create(vendor=vendor, name="widget", actor="test")
    token, _expires = widget_token_mint(api_key=api_key, end_user_external_id="alice")
    url = server.replace("http://", "ws://") + f"/ws/chat/?token={token}"

    with connect(url, origin=server, max_size=None) as ws:  # type: ignore[arg-type]
        assert json.loads(ws.recv(timeout=30))["type"] == "ready"

        # daphne's own limit (--websocket_max_message_size, 1 MiB): refused from the frame's
        # header, as it arrives, instead of being buffered and answered.
        def send_oversized_then_wait() -> None:
            # The server may close while the frame is still going out, or once it has read
            # the header: either way the connection ends here, with no answer.
            ws.send("x" * (2 * LIMIT))
            ws.recv(timeout=30)

        with pytest.raises(ConnectionClosed) as closed:
            send_oversized_then_wait()

    assert closed.value.rcvd is None or closed.value.rcvd.code == 1009
