"""Import throughput: how fast history goes in, and how fast background work catches up.

    python bench/import_throughput.py --data ../shared/data/locomo10.json [--samples 10]
                                      [--json bench/results/import_throughput.json]

The import path (persist, embed, write outbox rows) is timed on its own, the way it runs in
production: background jobs go to a broker queue instead of running inline (Celery's
in-memory transport here, with no worker). Then the queued jobs (fact extraction,
consolidation, summaries) are run in batches, as a worker would, and timed separately.
Everything happens in a throwaway vendor in the configured database, deleted at the end.
"""

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infyn.settings")

import django

django.setup()

from tqdm import tqdm  # noqa: E402

from infyn.celery import app  # noqa: E402
from memory.benchmark import IMPORT_CHUNK, load_samples  # noqa: E402
from memory.embeddings import embed_texts  # noqa: E402
from memory.jobs.runners import runner_use  # noqa: E402
from memory.jobs.work import outbox_jobs_run  # noqa: E402
from memory.models import JobStatus, OutboxJob  # noqa: E402
from memory.outbox import OUTBOX_BATCH  # noqa: E402
from memory.services import messages_import  # noqa: E402
from tenants.models import Vendor  # noqa: E402
from tenants.services import end_user_get_or_create  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    samples = load_samples(json.loads(args.data.read_text()), exclude_categories=set())
    samples = samples[: args.samples]
    embed_texts(["warm-up"])  # model loading is not import time
    # Queue background jobs on the broker instead of running them now, as production does.
    app.conf.task_always_eager = False
    runner_use("celery")
    vendor = Vendor.objects.create(name="bench import", slug=f"bench-import-{uuid.uuid4().hex[:8]}")
    import_seconds = background_seconds = 0.0
    messages = jobs = 0
    try:
        for sample in tqdm(samples, desc="samples", file=sys.stderr):
            end_user, _ = end_user_get_or_create(vendor=vendor, external_id=sample.sample_id)
            started = time.perf_counter()
            for start in range(0, len(sample.messages), IMPORT_CHUNK):
                messages_import(
                    end_user=end_user, messages=sample.messages[start : start + IMPORT_CHUNK]
                )
            import_seconds += time.perf_counter() - started
            messages += len(sample.messages)

            pending = list(
                OutboxJob.objects.filter(end_user=end_user, status=JobStatus.PENDING)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            started = time.perf_counter()
            for start in range(0, len(pending), OUTBOX_BATCH):
                outbox_jobs_run(job_ids=pending[start : start + OUTBOX_BATCH])
            background_seconds += time.perf_counter() - started
            jobs += len(pending)
            left = OutboxJob.objects.filter(end_user=end_user).exclude(status=JobStatus.DONE)
            if left.exists():
                raise RuntimeError(f"{left.count()} background jobs did not finish")
    finally:
        vendor.delete()

    result = {
        "messages": messages,
        "import_messages_per_s": round(messages / import_seconds, 1),
        "background_jobs": jobs,
        "background_messages_per_s": round(messages / background_seconds, 1),
        "end_to_end_messages_per_s": round(messages / (import_seconds + background_seconds), 1),
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
