"""Running a batch of outbox jobs: extracting a message's facts and storing them, and
updating a thread's summaries. The runners (memory.jobs.runners) call this, wherever jobs run.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from memory import extraction
from memory.embeddings import embed_texts
from memory.extraction_llm import LLM_EXTRACTOR_VERSION, extract_facts_llm
from memory.models import JobKind, JobStatus, Message, OutboxJob
from memory.services import fact_upsert, summaries_update
from tenants.models import Thread

logger = logging.getLogger(__name__)

MAX_JOB_ATTEMPTS = 5


def outbox_jobs_run(*, job_ids: Sequence[int]) -> None:
    """Run a batch of jobs, each exactly once: its work and its 'done' mark commit together.

    The slow part, embedding new facts, is done for the whole batch at once. A job that
    fails records its error and stays pending for the sweeper, up to MAX_JOB_ATTEMPTS.
    """
    jobs = list(OutboxJob.objects.filter(pk__in=job_ids, status=JobStatus.PENDING).order_by("pk"))
    extractions = _extract_for_jobs([job for job in jobs if job.kind == JobKind.EXTRACT_FACTS])
    for job in jobs:
        try:
            with transaction.atomic():
                locked = (
                    OutboxJob.objects.select_for_update(skip_locked=True)
                    .filter(pk=job.pk, status=JobStatus.PENDING)
                    .first()
                )
                if locked is None:
                    continue  # done meanwhile, or another worker holds it
                _run_job(locked, extractions)
                locked.status = JobStatus.DONE
                locked.attempts = F("attempts") + 1
                locked.finished_at = timezone.now()
                locked.save(update_fields=["status", "attempts", "finished_at"])
        except Exception as exc:
            logger.exception("memory: outbox job %s failed", job.pk)
            final = job.attempts + 1 >= MAX_JOB_ATTEMPTS
            OutboxJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
                attempts=F("attempts") + 1,
                last_error=repr(exc)[:2000],
                status=JobStatus.FAILED if final else JobStatus.PENDING,
            )


@dataclass(frozen=True)
class _Extraction:
    message: Message
    facts: list[tuple[str, extraction.ExtractedFact, np.ndarray]]
    error: Exception | None = None


def _extract_for_jobs(jobs: Sequence[OutboxJob]) -> dict[int, _Extraction]:
    """Extract every message's facts and embed them all in one batch; a message whose
    extraction fails carries its error to its own job only."""
    messages = Message.objects.select_related("end_user").in_bulk(
        [job.payload["message_id"] for job in jobs]
    )
    found: dict[int, list[tuple[str, extraction.ExtractedFact]] | Exception] = {}
    for message in messages.values():
        try:
            found[message.pk] = _extract(message)
        except Exception as exc:
            found[message.pk] = exc
    texts = [f.text for facts in found.values() if isinstance(facts, list) for _, f in facts]
    vectors = iter(embed_texts(texts))
    return {
        message_id: _Extraction(messages[message_id], [], error=facts)
        if isinstance(facts, Exception)
        else _Extraction(
            messages[message_id], [(name, fact, next(vectors)) for name, fact in facts]
        )
        for message_id, facts in found.items()
    }


def _extract(message: Message) -> list[tuple[str, extraction.ExtractedFact]]:
    """The rule-based extractor always runs; the model's facts are added when it is capable.
    A model that cannot answer fails the job, which is retried later, rules included."""
    speaker = message.name or None
    found = [
        (extraction.RULE_EXTRACTOR_VERSION, fact)
        for fact in extraction.extract_facts(
            message.content, speaker=speaker, said_at=message.created_at
        )
    ]
    if settings.MEMORY_LLM_EXTRACTION:
        found += [
            (LLM_EXTRACTOR_VERSION, fact)
            for fact in extract_facts_llm(
                message.content, speaker=speaker, said_at=message.created_at
            )
        ]
    return found


def _run_job(job: OutboxJob, extractions: dict[int, _Extraction]) -> None:
    if job.kind == JobKind.EXTRACT_FACTS:
        done = extractions.get(job.payload["message_id"])
        if done is None:
            return  # the message was deleted meanwhile: nothing to extract
        if done.error is not None:
            raise done.error
        for extractor, fact, vector in done.facts:
            fact_upsert(
                end_user=done.message.end_user,
                extracted=fact,
                source=done.message,
                extractor=extractor,
                embedding=vector,
            )
    elif job.kind == JobKind.UPDATE_SUMMARY:
        thread = Thread.objects.filter(pk=job.payload["thread_id"]).first()
        if thread is not None:
            summaries_update(thread=thread)
