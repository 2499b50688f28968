"""The results of bench/ws_concurrency.py: the client's timings, daphne's own, the report.

summary() is also bench/chat_load.py's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from django.db.models import Count

from bench.ws_clients import USER_PREFIX, WARMUP_PREFIX, Conversation
from billing.models import UsageRecord
from tenants.models import Vendor

ERROR_SAMPLES = 10


def summary(values: Sequence[float], scale: float = 1.0) -> dict[str, float] | None:
    if not values:
        return None
    data = np.asarray(values, dtype=np.float64) * scale
    return {
        "n": len(data),
        "p50": round(float(np.percentile(data, 50)), 1),
        "p95": round(float(np.percentile(data, 95)), 1),
        "mean": round(float(data.mean()), 1),
        "max": round(float(data.max()), 1),
    }


def server_timings(vendor: Vendor, conversations: Sequence[Conversation]) -> dict[str, Any]:
    """What daphne recorded itself (UsageRecord), the warm-up chats apart.

    retrieval_ms is from the message's arrival in the consumer until its context was built:
    queueing for the database thread included. Sorted, the values of a burst of chats that
    queue for a single thread rise by one chat's service time per rank; the slope of a line
    fitted through them is that time (or that time divided by the workers that share it).
    The client's time to first token less the consumer's is the time spent outside the
    consumer: in daphne's event loop, the sockets and this process.
    """
    records = UsageRecord.objects.filter(vendor=vendor)
    warm = records.filter(end_user__external_id__startswith=WARMUP_PREFIX)
    measured = records.exclude(end_user__external_id__startswith=WARMUP_PREFIX)
    retrieval = sorted(measured.values_list("retrieval_ms", flat=True))
    slope = float(np.polyfit(np.arange(len(retrieval)), retrieval, 1)[0]) if retrieval else 0.0
    by_user: dict[str, list[float | None]] = {}
    for user, first_token_ms in measured.order_by("created_at", "pk").values_list(
        "end_user__external_id", "first_token_ms"
    ):
        by_user.setdefault(user, []).append(first_token_ms)
    outside = []
    for conversation in conversations:
        server_side = by_user.get(f"{USER_PREFIX}-{conversation.user}", [])
        for turn, first_token_ms in zip(conversation.turns, server_side, strict=False):
            if turn.first_token is not None and first_token_ms is not None:
                outside.append((turn.first_token - turn.sent) * 1000 - first_token_ms)
    first_token = [value for value in measured.values_list("first_token_ms", flat=True) if value]
    return {
        "records": len(retrieval),
        "statuses": dict(
            measured.values("status").annotate(n=Count("id")).values_list("status", "n")
        ),
        "retrieval_ms": summary(retrieval),
        "first_token_ms": summary(first_token),
        "ttft_outside_consumer_ms": summary(outside),
        "total_ms": summary(list(measured.values_list("total_ms", flat=True))),
        "retrieval_ms_added_per_queued_chat": round(slope, 1),
        "warmup_retrieval_ms": [round(v, 1) for v in warm.values_list("retrieval_ms", flat=True)],
    }


def analyse(
    conversations: Sequence[Conversation],
    *,
    turns_each: int,
    reply: str,
    reply_words: int,
    wall_s: float,
) -> dict[str, Any]:
    turns = [turn for conversation in conversations for turn in conversation.turns]
    errors = [f"user {c.user}: {c.error}" for c in conversations if c.error]
    errors += [
        f"user {c.user}: {turn.error}" for c in conversations for turn in c.turns if turn.error
    ]
    finished = [turn for turn in turns if turn.done is not None]
    mismatches = [
        turn for turn in finished if turn.text != reply or turn.completion_tokens != reply_words
    ]
    ttft = [turn.first_token - turn.sent for turn in finished if turn.first_token]
    per_chat_rate = [
        turn.completion_tokens / (turn.done - turn.first_token)
        for turn in finished
        if turn.done and turn.first_token and turn.done > turn.first_token
    ]
    wrong = {id(turn) for turn in mismatches}
    delivered = sum(turn.completion_tokens for turn in finished if id(turn) not in wrong)
    return {
        "connections": len(conversations),
        "chats": len(conversations) * turns_each,
        "completed": len(finished),
        "errors": len(errors),
        "error_samples": errors[:ERROR_SAMPLES],
        "mismatches": len(mismatches),
        "connect_ms": summary([c.connected_s for c in conversations if c.connected_s], 1000),
        "ttft_ms": summary(ttft, 1000),
        "first_to_last_token_ms": summary(
            [t.last_token - t.first_token for t in finished if t.last_token and t.first_token],
            1000,
        ),
        "last_token_to_done_ms": summary(
            [t.done - t.last_token for t in finished if t.done and t.last_token], 1000
        ),
        "send_to_done_ms": summary([t.done - t.sent for t in finished if t.done], 1000),
        "token_frames_per_chat": summary([t.frames for t in finished]),
        "wall_s": round(wall_s, 2),
        "tokens_delivered": delivered,
        "aggregate_tokens_per_s": round(delivered / wall_s, 1) if wall_s else None,
        "per_chat_tokens_per_s": summary(per_chat_rate),
    }


def failed(result: dict[str, Any]) -> bool:
    return bool(result["errors"] or result["mismatches"] or result["completed"] < result["chats"])


def print_report(result: dict[str, Any]) -> None:
    server = result["server"]
    print(
        f"{result['connections']} connections, {result['chats']} chats: "
        f"{result['completed']} completed, {result['errors']} errors, "
        f"{result['mismatches']} mismatches; wall {result['wall_s']} s"
    )
    rows = [
        ("connect + ready (ms)", result["connect_ms"]),
        ("time to first token (ms)", result["ttft_ms"]),
        ("  consumer: retrieval (ms)", server["retrieval_ms"]),
        ("  consumer: first token (ms)", server["first_token_ms"]),
        ("  outside the consumer (ms)", server["ttft_outside_consumer_ms"]),
        ("first to last token (ms)", result["first_to_last_token_ms"]),
        ("last token to done (ms)", result["last_token_to_done_ms"]),
        ("send to done (ms)", result["send_to_done_ms"]),
        ("per-chat tokens/s", result["per_chat_tokens_per_s"]),
    ]
    print(f"{'':<32}" + "".join(f"{column:>10}" for column in ("p50", "p95", "mean", "max")))
    for label, stats in rows:
        if stats:
            values = "".join(f"{stats[column]:>10.1f}" for column in ("p50", "p95", "mean", "max"))
            print(f"{label:<32}{values}")
    print(
        f"aggregate: {result['tokens_delivered']} tokens in {result['wall_s']} s = "
        f"{result['aggregate_tokens_per_s']} tokens/s"
    )
    print(
        f"consumer retrieval grows {server['retrieval_ms_added_per_queued_chat']} ms per queued "
        f"chat; warm-up chats, one at a time: {server['warmup_retrieval_ms']} ms"
    )
    for name, usage in result["processes"].items():
        print(f"{name}: {json.dumps(usage)}")
