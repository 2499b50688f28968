"""Schemathesis over the whole OpenAPI schema, against a real daphne (production settings) with
the `openai` backend on the fake model server.

Every check schemathesis has runs: no 5xx, every status, content type, header and body as the
schema documents it, schema-valid requests accepted and schema-violating ones refused, across
its coverage, fuzzing and stateful phases. ``tests/infyn/schemathesis.toml`` names the two
rules JSON Schema cannot say. The run is bounded in time (INFYN_FUZZ_SECONDS, default 90)
and seeded (INFYN_FUZZ_SEED) so that CI is repeatable; a failure prints how to replay it.
"""

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tenants.models import Vendor
from tests.fakes.openai_server import FakeOpenAI, fake_openai_server
from tests.infyn.servers import daphne_server, fake_backend_env

pytestmark = pytest.mark.django_db(transaction=True)

CONFIG = Path(__file__).with_name("schemathesis.toml")
SECONDS = int(os.environ.get("INFYN_FUZZ_SECONDS", "90"))
SEED = os.environ.get("INFYN_FUZZ_SEED", "20261201")


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    with fake_openai_server() as server:
        server.default_reply = "All right."
        yield server


def test_every_generated_request_is_answered_as_the_schema_says(
    vendor: Vendor, raw_key_for: Callable[..., str], upstream: FakeOpenAI, tmp_path: Path
) -> None:
    key = raw_key_for(vendor)
    schemathesis = shutil.which("st", path=str(Path(sys.executable).parent))
    assert schemathesis, "schemathesis is a dev dependency: make install"
    env = fake_backend_env(upstream) | {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,  # the key's hash is keyed with it
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "INFYN_API_RATE_LIMIT": "1000000/min",
        "LOG_LEVEL": "WARNING",
    }
    with daphne_server(env) as base_url:
        result = subprocess.run(
            [
                schemathesis,
                "--config-file",
                str(CONFIG),
                "run",
                f"{base_url}/v1/schema?format=json",
                "--url",
                base_url,
                "--header",
                f"Authorization: Bearer {key}",
                "--max-time",
                str(SECONDS),
                "--seed",
                SEED,
                # One worker: schemathesis's workers are threads, and CPython 3.11's ast module
                # keeps its recursion depth per process, so two threads describing hypothesis
                # strategies at once can fail with "AST constructor recursion depth mismatch"
                # (python/cpython#106905, fixed in 3.12 only).
                "--workers",
                "1",
                "--no-color",
            ],
            cwd=tmp_path,  # its cassettes and caches stay out of the checkout
            capture_output=True,
            text=True,
            timeout=SECONDS + 180,
            check=False,
        )

    report = result.stdout[-12000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    assert " passed" in result.stdout, report
