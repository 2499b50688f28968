"""Erasing an end user with a long history: how long it takes, and proof nothing is left.

    INFYN_DATA_DIR=var/bench-erasure python bench/erasure.py --messages 100000 \\
        --json bench/results/erasure.json

One end user gets ``--messages`` messages (in threads of 1,000, with 384-dimension embeddings
and full-text vectors, as the product stores them), a fact per 10 messages (a tenth of them
superseded) and a summary per 20, all with embeddings, plus their word statistics and one
outbox job per message; a second end user of the same vendor gets a small history, to show it
is untouched. The rows are generated in SQL, not through the write path: what is timed is the
erase, ``memory.erasure.end_user_erase`` (one transaction), not the import. Afterwards a new
end user with the same external id searches every tier, and each memory table is scanned
sequentially (index scans off) for the erased end user's id.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("INFYN_DATA_DIR", str(BASE_DIR / "var" / "bench-erasure"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infyn.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from tqdm import tqdm  # noqa: E402

from memory.erasure import end_user_erase  # noqa: E402
from memory.models import Fact, Message, OutboxJob, Summary, TermStat  # noqa: E402
from memory.retrieval import memories_search  # noqa: E402
from memory.services import term_stats_add  # noqa: E402
from tenants.models import EndUser, Thread  # noqa: E402
from tenants.services import end_user_get_or_create, vendor_create  # noqa: E402

THREAD_SIZE = 1000
TOPICS = ["hiking in the Alps", "my cat Miso", "living in Lisbon", "night shifts", "espresso"]

# A random vector per row: the subquery names the outer row (in its WHERE, so the aggregate
# stays the subquery's own) so that PostgreSQL evaluates it for every row instead of once.
_RANDOM_VECTOR = (
    "(SELECT array_agg(random() - 0.5)::real[]::vector FROM generate_series(1, 384)"
    " WHERE n IS NOT NULL)"
)


def _messages(cursor: object, end_user: EndUser, thread: Thread, count: int) -> None:
    cursor.execute(  # type: ignore[attr-defined]
        f"""
        INSERT INTO memory_message (end_user_id, thread_id, role, name, content, context_text,
                                    position, created_at, token_count, embedding)
        SELECT %(end_user)s, %(thread)s,
               CASE WHEN n %% 2 = 1 THEN 'user' ELSE 'assistant' END, '',
               'Turn ' || n || ' about ' || (%(topics)s::text[])[1 + n %% 5],
               'Turn ' || n || ' about ' || (%(topics)s::text[])[1 + n %% 5],
               n, now() - (%(count)s - n) * interval '1 minute', 8,
               {_RANDOM_VECTOR}
        FROM generate_series(1, %(count)s) AS n
        """,  # noqa: S608 (a constant)
        {"end_user": end_user.pk, "thread": thread.pk, "topics": TOPICS, "count": count},
    )


_FACTS = """
    INSERT INTO memory_fact (end_user_id, subject, attribute, value, text, category, negated,
        multi_valued, importance, confidence, mention_count, first_seen_at, last_seen_at,
        valid_from, source_message_ids, extractor, created_at, updated_at, embedding)
    SELECT m.end_user_id, 'user', 'topic_' || m.position, m.content, m.content, 'other', false,
           false, 0.5, 0.8, 1, m.created_at, m.created_at, m.created_at, ARRAY[m.id], 'rules-1',
           m.created_at, m.created_at, m.embedding
    FROM memory_message m
    WHERE m.thread_id = %(thread)s AND m.position %% 10 = 0
"""
# A tenth of the facts superseded by the next one: history the erase must take too.
_SUPERSEDE = """
    UPDATE memory_fact f SET valid_to = now(), superseded_by_id = (
        SELECT g.id FROM memory_fact g WHERE g.end_user_id = f.end_user_id AND g.id > f.id
        ORDER BY g.id LIMIT 1)
    WHERE f.end_user_id = %(end_user)s AND f.valid_to IS NULL AND f.id %% 10 = 0
"""
_SUMMARIES = """
    INSERT INTO memory_summary (end_user_id, thread_id, first_message_id, last_message_id,
        message_count, source_message_ids, text, summarizer, created_at, embedding)
    SELECT first.end_user_id, first.thread_id, first.id, last.id, 20, ARRAY[first.id, last.id],
           first.content || ' ... ' || last.content, 'extractive-1', last.created_at,
           RANDOM_VECTOR
    FROM memory_message first
    JOIN memory_message last ON last.thread_id = first.thread_id
                            AND last.position = first.position + 19
    WHERE first.thread_id = %(thread)s AND first.position %% 20 = 1
""".replace("RANDOM_VECTOR", _RANDOM_VECTOR.replace("n IS NOT NULL", "first.position IS NOT NULL"))
_JOBS = """
    INSERT INTO memory_outboxjob (end_user_id, kind, key, payload, status, attempts, last_error,
                                  created_at)
    SELECT end_user_id, 'extract_facts', id || ':bench', jsonb_build_object('message_id', id),
           'done', 1, '', created_at
    FROM memory_message WHERE thread_id = %(thread)s
"""


def _derived(cursor: object, end_user: EndUser, thread: Thread) -> None:
    """Facts, summaries and jobs of one thread's messages."""
    params = {"end_user": end_user.pk, "thread": thread.pk}
    for statement in (_FACTS, _SUPERSEDE, _SUMMARIES, _JOBS):
        cursor.execute(statement, params)  # type: ignore[attr-defined]


def load(end_user: EndUser, messages: int) -> None:
    threads = -(-messages // THREAD_SIZE)
    for index in tqdm(range(threads), desc="threads", unit="thread", file=sys.stderr):
        thread = Thread.objects.create(end_user=end_user, external_id=f"t{index}")
        size = min(THREAD_SIZE, messages - index * THREAD_SIZE)
        with transaction.atomic(), connection.cursor() as cursor:
            _messages(cursor, end_user, thread, size)
            _derived(cursor, end_user, thread)
            ids = list(Message.objects.filter(thread=thread).values_list("pk", flat=True))
            term_stats_add(end_user=end_user, message_ids=ids)


def _counts(end_user_id: object) -> dict[str, int]:
    """Rows of the end user in each memory table, by sequential scan."""
    found = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        for model in (Message, Fact, Summary, TermStat, OutboxJob, Thread):
            table = model._meta.db_table
            cursor.execute(f"SELECT count(*) FROM {table} WHERE end_user_id = %s", [end_user_id])  # noqa: S608
            found[table] = cursor.fetchone()[0]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    vendor, _key, _raw = vendor_create(name="bench erasure", actor="bench")
    end_user, _ = end_user_get_or_create(vendor=vendor, external_id="erase-me")
    bystander, _ = end_user_get_or_create(vendor=vendor, external_id="stays")
    load(end_user, args.messages)
    load(bystander, 2_000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    before = _counts(end_user.pk)
    bystander_before = _counts(bystander.pk)
    print(f"loaded: {before}", file=sys.stderr)

    erased_id = end_user.pk  # delete() clears the instance's pk
    started = time.perf_counter()
    receipt = end_user_erase(end_user=end_user, actor="bench")
    seconds = time.perf_counter() - started

    after = _counts(erased_id)
    again, _ = end_user_get_or_create(vendor=vendor, external_id="erase-me")
    found = {
        query: len(memories_search(end_user=again, query=query, k=20))
        for query in ["hiking in the Alps", "What is my cat called?", "Lisbon", "Turn 5000"]
    }
    result = {
        "messages": args.messages,
        "rows_before": before,
        "receipt_counts": receipt.counts,
        "erase_seconds": round(seconds, 2),
        "rows_per_second": round(sum(receipt.counts.values()) / seconds),
        "rows_after_sequential_scan": after,
        "search_results_for_new_end_user_with_same_id": found,
        "bystander_untouched": _counts(bystander.pk) == bystander_before,
        # The same searches still find the other end user's history: search itself works.
        "bystander_search_results": len(
            memories_search(end_user=bystander, query="hiking in the Alps", k=20)
        ),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
