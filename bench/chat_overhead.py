"""What infyn adds to time-to-first-token, measured against calling the backend directly.

    INFYN_DATA_DIR=var/bench-chat python bench/chat_overhead.py --requests 200 \\
        --json bench/results/chat_overhead.json

One run, side by side: a fake OpenAI-compatible server with zero latency on a loopback
port, and one daphne process serving infyn with the `openai` backend pointed at it. Each
round sends the same question twice, alternating which goes first: straight to the fake
server, and through infyn's ``POST /v1/chat/completions``; both streamed with the same
HTTP client, timing from sending the request to the first chunk that carries text.
Through infyn that includes authentication, storing and embedding the message, hybrid
retrieval, building the context, the upstream request and re-streaming.
"""

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("INFYN_DATA_DIR", str(BASE_DIR / "var" / "bench-chat"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infyn.settings")

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.core.management import call_command  # noqa: E402
from tqdm import tqdm  # noqa: E402

from billing.models import UsageRecord  # noqa: E402
from tenants.services import vendor_create  # noqa: E402
from tests.fakes.openai_server import fake_openai_server  # noqa: E402
from tests.infyn.servers import current_database_url, daphne_server  # noqa: E402

QUESTIONS = [
    "What was the name of the book you recommended last week?",
    "Remind me where my sister moved to.",
    "I started a pottery class on Tuesday, it was great.",
    "Can you suggest a dinner idea with what I told you I like?",
    "How long ago did I adopt my dog?",
]


def first_text_ms(
    client: httpx.Client, url: str, body: dict[str, Any], headers: dict[str, str]
) -> float:
    started = time.perf_counter()
    first: float | None = None
    with client.stream("POST", url, json=body, headers=headers) as response:
        response.raise_for_status()
        # Read to the end either way: no stream is abandoned mid-way.
        for line in response.iter_lines():
            if first is not None or not line.startswith("data: {"):
                continue
            choices = json.loads(line[6:]).get("choices") or []
            if choices and choices[0].get("delta", {}).get("content"):
                first = (time.perf_counter() - started) * 1000
    if first is not None:
        return first
    raise RuntimeError(f"{url} streamed no text")


def percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    vendor, _key, raw_key = vendor_create(
        name=f"bench overhead {uuid.uuid4().hex[:6]}", actor="bench"
    )
    direct: list[float] = []
    through: list[float] = []
    try:
        with fake_openai_server() as fake:
            fake.default_reply = "Sure, here is what I remember about that."
            env = {
                "DATABASE_URL": current_database_url(),
                "INFYN_LLM_BACKEND": "openai",
                "INFYN_LLM_BASE_URL": fake.base_url,
                "INFYN_LLM_MODEL": "fake-model",
                "LOG_LEVEL": "WARNING",
            }
            with daphne_server(env) as infyn_url, httpx.Client(timeout=60) as client:
                auth = {"Authorization": f"Bearer {raw_key}"}
                targets = {
                    "direct": (f"{fake.base_url}/chat/completions", {}),
                    "infyn": (f"{infyn_url}/v1/chat/completions", auth),
                }
                total = args.warmup + args.requests
                for index in tqdm(range(total), desc="rounds"):
                    question = QUESTIONS[index % len(QUESTIONS)]
                    body = {
                        "model": "fake-model",
                        "user": "overhead-user",
                        "stream": True,
                        "messages": [{"role": "user", "content": question}],
                    }
                    order = ["direct", "infyn"] if index % 2 == 0 else ["infyn", "direct"]
                    timings = {}
                    for name in order:
                        url, headers = targets[name]
                        timings[name] = first_text_ms(client, url, body, headers)
                    if index >= args.warmup:
                        direct.append(timings["direct"])
                        through.append(timings["infyn"])
        # The server's own view of each request: storing and context building, then the
        # first token (both from the request's arrival), from the usage records.
        records = list(
            UsageRecord.objects.filter(vendor=vendor)
            .order_by("id")
            .values_list("retrieval_ms", "first_token_ms")
        )[args.warmup :]
    finally:
        vendor.delete()

    overheads = [b - a for a, b in zip(direct, through, strict=True)]
    result = {
        "requests": len(direct),
        "ttft_ms": {
            "direct": {
                "p50": round(statistics.median(direct), 2),
                "p95": round(percentile(direct, 95), 2),
            },
            "infyn": {
                "p50": round(statistics.median(through), 2),
                "p95": round(percentile(through, 95), 2),
            },
        },
        "overhead_ms": {
            "p50": round(statistics.median(overheads), 2),
            "p95": round(percentile(overheads, 95), 2),
        },
        "server_ms": {
            "prepare_p50": round(statistics.median(r[0] for r in records), 2),
            "first_token_p50": round(statistics.median(r[1] for r in records if r[1]), 2),
        },
        "mode": (
            ("broker (REDIS_URL), " if os.environ.get("REDIS_URL") else "embedded, ")
            + ("DEBUG off" if os.environ.get("DJANGO_DEBUG") == "false" else "DEBUG on")
        ),
        "note": "one end user whose history grows by one exchange per round",
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
