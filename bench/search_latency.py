"""Search and context-build latency for one end user with a large history, in a large table.

Usage (from the repository root; the default data directory is var/bench-latency, an embedded
PostgreSQL of its own, so dev and test data are never touched):

    INFYN_DATA_DIR=var/bench-latency python bench/search_latency.py \\
        --rows 1000000 --end-users 1000 --big-user-rows 100000 --queries 200 \\
        --maintenance-work-mem 4GB --json /tmp/search_latency.json

    # later runs reuse the loaded table:
    INFYN_DATA_DIR=var/bench-latency python bench/search_latency.py --skip-load --json OUT

How the data is generated (also written into the JSON): 1M real MiniLM embeddings take hours on
2 cores, so the 5,882 real LoCoMo turns are a text pool, embedded once with the product's model
as a message is embedded, 'Name: text' (cached in $INFYN_DATA_DIR/pool-turns.npy). Every thread
replays a run of consecutive pool turns from a random starting point (so a message's "replying
to" context is the turn before it, as in the product), and every row's vector is its pool vector
plus Gaussian noise, re-normalised: vectors cluster like real text without being duplicates.
Facts (one per 10 messages) and summaries (one per 20-turn window) are derived from those
messages. Rows are inserted in global time order, so
an end user's rows are scattered over the table as they would be in production.

This script holds the options, the run and the report; the data's shape and text pool are in
bench/latency_data.py, the load in bench/latency_load.py (its COPY in bench/latency_copy.py),
the measuring in bench/latency_measure.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("INFYN_DATA_DIR", str(BASE_DIR / "var" / "bench-latency"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infyn.settings")
# Importing torch warms a thread pool per process; keep the log quiet.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402

# Importable as bench.*: the repository root is on sys.path (above), and the models they
# import need django.setup() first.
from bench.latency_data import log  # noqa: E402
from bench.latency_load import load, loaded_rows  # noqa: E402
from bench.latency_measure import measure, own_indexes_apply  # noqa: E402


def print_table(result: dict[str, Any]) -> None:
    print(f"rows: {json.dumps(result['rows'])}")
    print(f"{'ms':<34}{'p50':>9}{'p95':>9}{'mean':>9}{'max':>9}")
    sections = [
        ("search", "search_ms"),
        ("context build", "context_build_ms"),
        ("embedding only", "embedding_ms"),
    ]
    for label, key in sections:
        for user, stats in result[key].items():
            print(
                f"{label + ' / ' + user:<34}"
                + "".join(f"{stats[s]:>9.1f}" for s in ("p50", "p95", "mean", "max"))
            )
    for user, tiers in result["tier_sql_ms"].items():
        for tier, stats in tiers.items():
            print(
                f"{'sql ' + tier + ' (cached) / ' + user:<34}"
                + "".join(f"{stats[s]:>9.1f}" for s in ("p50", "p95", "mean", "max"))
            )
    for number, rounds in enumerate(result.get("rounds", []), start=1):
        print(
            f"round {number}: "
            + "; ".join(
                f"{user} search {data['search']['p50']:.1f} / {data['search']['p95']:.1f}, "
                f"context build {data['context_build']['p50']:.1f} / "
                f"{data['context_build']['p95']:.1f} ms (p50 / p95)"
                for user, data in rounds.items()
            )
        )
    print("\nEXPLAIN (ANALYZE, BUFFERS), message tier, big user:\n" + result["explain"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="messages in the table")
    parser.add_argument("--end-users", type=int, default=1000)
    parser.add_argument("--big-user-rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200, help="measured queries per end user")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure this many times, each with new questions, and report the last round "
        "(rounds before it warm the server up as serving traffic would)",
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded table if any")
    parser.add_argument("--thread-size", type=int, default=500, help="messages per thread")
    parser.add_argument("--noise", type=float, default=0.03, help="per-dimension vector noise")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--nice", type=int, default=10, help="niceness of the load phase")
    parser.add_argument("--maintenance-work-mem", default="2GB")
    parser.add_argument(
        "--own-indexes",
        choices=("on", "off"),
        default="on",
        help="build the big end user's own partial indexes first, as the periodic task does "
        "in production (on), or drop them to measure the shared indexes alone (off)",
    )
    args = parser.parse_args()
    if os.environ.get("DATABASE_URL"):
        raise SystemExit("Unset DATABASE_URL: this benchmark uses an embedded database of its own.")
    log(f"data directory: {settings.DATA_DIR}")

    call_command("migrate", verbosity=0)
    if not (args.skip_load and loaded_rows()):
        connections.close_all()
        # The load runs in a child at low priority; measuring stays at normal priority.
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                load(args)
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit("loading failed")
        connections.close_all()
    own_indexes = own_indexes_apply(enabled=args.own_indexes == "on")
    result = measure(args)
    result["own_indexes"] = own_indexes
    print_table(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        log(f"wrote {args.json}")


if __name__ == "__main__":
    main()
