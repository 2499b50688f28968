"""Retrieval recall on LoCoMo-format conversations, through the real write and read paths.

Each sample goes into a throwaway vendor and end user: its sessions are imported as
threads (embeddings, extraction, consolidation, summaries), then every question goes
through the same retrieval chat uses. Retrieved items map back to the dataset's dia_ids:
messages by their external id, facts and summaries through their source messages.
"""

import re
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from memory.context import context_build
from memory.models import JobStatus, Message, OutboxJob
from memory.retrieval import memories_search
from memory.services import MessageInput, messages_import
from tenants.models import EndUser, Vendor
from tenants.services import end_user_get_or_create, thread_get_or_create

BENCH_VENDOR_PREFIX = "bench-recall-"
IMPORT_CHUNK = 256
_SESSION_KEY = re.compile(r"^session_(\d+)$")
_DATE_FORMAT = "%I:%M %p on %d %B, %Y"


class DatasetError(ValueError):
    """The file is not in LoCoMo format; the message says where."""


@dataclass(frozen=True)
class Question:
    text: str
    evidence: list[str]
    category: int


@dataclass(frozen=True)
class Sample:
    sample_id: str
    messages: list[MessageInput]
    questions: list[Question]


@dataclass
class RecallReport:
    ks: list[int]
    questions: int = 0
    hits: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    per_category: dict[int, dict[str, Any]] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    context_tokens: list[int] = field(default_factory=list)
    baseline_tokens: list[int] = field(default_factory=list)
    messages_imported: int = 0
    import_seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        latencies = sorted(self.latencies_ms)
        return {
            "questions": self.questions,
            "recall": {str(k): _ratio(self.hits[k], self.questions) for k in self.ks},
            "per_category": {
                str(category): {
                    "n": stats["n"],
                    "recall": {str(k): _ratio(stats["hits"][k], stats["n"]) for k in self.ks},
                }
                for category, stats in sorted(self.per_category.items())
            },
            "latency_ms": {
                "p50": round(_percentile(latencies, 50), 2),
                "p95": round(_percentile(latencies, 95), 2),
            },
            "context_tokens": {
                "mean": round(statistics.fmean(self.context_tokens), 1)
                if self.context_tokens
                else 0.0,
                "baseline_mean": round(statistics.fmean(self.baseline_tokens), 1)
                if self.baseline_tokens
                else 0.0,
            },
            "ingest_messages_per_s": round(self.messages_imported / self.import_seconds, 1)
            if self.import_seconds
            else 0.0,
        }


def _ratio(value: float, total: int) -> float:
    return round(value / total, 4) if total else 0.0


def _percentile(values: Sequence[float], percent: float) -> float:
    if not values:
        return 0.0
    index = min(len(values) - 1, max(0, round(percent / 100 * (len(values) - 1))))
    return values[index]


# --- loading --------------------------------------------------------------------------------


def parse_session_date(raw: str) -> datetime:
    """'1:56 pm on 8 May, 2023' -> an aware datetime (UTC)."""
    try:
        return datetime.strptime(raw.strip(), _DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise DatasetError(f"Unrecognised session date {raw!r}") from None


def load_samples(data: Any, *, exclude_categories: set[int]) -> list[Sample]:
    if not isinstance(data, list):
        raise DatasetError("The file must hold a JSON list of samples.")
    return [_load_sample(raw, index, exclude_categories) for index, raw in enumerate(data)]


def _load_sample(raw: Any, index: int, exclude: set[int]) -> Sample:
    where = f"sample {index}"
    if not isinstance(raw, dict) or "conversation" not in raw or "qa" not in raw:
        raise DatasetError(f"{where}: needs 'conversation' and 'qa'.")
    conversation = raw["conversation"]
    speaker_a = conversation.get("speaker_a")
    sessions = sorted(
        (int(match.group(1)), key)
        for key in conversation
        if (match := _SESSION_KEY.match(key)) and isinstance(conversation[key], list)
    )
    messages: list[MessageInput] = []
    for number, key in sessions:
        date_raw = conversation.get(f"{key}_date_time")
        if not isinstance(date_raw, str):
            raise DatasetError(f"{where}: {key} has no {key}_date_time.")
        started = parse_session_date(date_raw)
        for turn_index, turn in enumerate(conversation[key]):
            if not isinstance(turn, dict) or not {"speaker", "dia_id", "text"} <= set(turn):
                raise DatasetError(f"{where}: {key} turn {turn_index} needs speaker, dia_id, text.")
            content = str(turn["text"])
            if turn.get("blip_caption"):
                content += f" [shares a photo: {turn['blip_caption']}]"
            messages.append(
                MessageInput(
                    thread_external_id=f"session_{number}",
                    role="user" if turn["speaker"] == speaker_a else "assistant",
                    name=str(turn["speaker"]),
                    content=content,
                    external_id=str(turn["dia_id"]),
                    # Turns a few seconds apart keep their order within the session.
                    created_at=started + timedelta(seconds=10 * turn_index),
                )
            )
    questions = []
    for item in raw["qa"]:
        category = int(item.get("category", 0))
        if category in exclude:
            continue
        evidence = [str(e) for e in item.get("evidence") or []]
        if not evidence:
            continue  # nothing to find: recall is undefined
        questions.append(Question(text=str(item["question"]), evidence=evidence, category=category))
    return Sample(
        sample_id=str(raw.get("sample_id", index)), messages=messages, questions=questions
    )


# --- running --------------------------------------------------------------------------------


def bench_vendors_delete() -> int:
    """Remove throwaway vendors a previous, interrupted run left behind."""
    deleted, _ = Vendor.objects.filter(slug__startswith=BENCH_VENDOR_PREFIX).delete()
    return deleted


def run_sample(
    sample: Sample,
    report: RecallReport,
    *,
    on_question: Callable[[], None] = lambda: None,
    wait_timeout_s: float = 600.0,
) -> None:
    suffix = uuid.uuid4().hex[:10]
    vendor = Vendor.objects.create(
        name=f"bench {sample.sample_id}", slug=BENCH_VENDOR_PREFIX + suffix
    )
    try:
        end_user, _ = end_user_get_or_create(
            vendor=vendor, external_id=f"sample-{sample.sample_id}"
        )
        started = time.perf_counter()
        for chunk in _chunks(sample.messages, IMPORT_CHUNK):
            messages_import(end_user=end_user, messages=chunk)
        _wait_for_background_work(end_user, wait_timeout_s)
        report.import_seconds += time.perf_counter() - started
        report.messages_imported += len(sample.messages)
        _ask_questions(sample, end_user, report, on_question)
    finally:
        vendor.delete()


def _chunks(items: Sequence[MessageInput], size: int) -> Iterator[Sequence[MessageInput]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _wait_for_background_work(end_user: EndUser, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while OutboxJob.objects.filter(end_user=end_user, status=JobStatus.PENDING).exists():
        if time.monotonic() > deadline:
            raise TimeoutError("Background memory jobs did not finish in time.")
        time.sleep(0.2)


def _ask_questions(
    sample: Sample, end_user: EndUser, report: RecallReport, on_question: Callable[[], None]
) -> None:
    dia_by_message = dict(
        Message.objects.filter(end_user=end_user).values_list("id", "external_id")
    )
    max_k = max(report.ks)
    thread, _ = thread_get_or_create(end_user=end_user, external_id="bench-questions")
    for question in sample.questions:
        started = time.perf_counter()
        # Facts and summaries may point at several turns, or the same turns as a message:
        # ask for more items than k so the de-duplicated dia_id list can reach k.
        results = memories_search(end_user=end_user, query=question.text, k=max_k * 2)
        report.latencies_ms.append((time.perf_counter() - started) * 1000)
        ranked = _ranked_dia_ids(results, dia_by_message)
        context = context_build(end_user=end_user, thread=thread, new_message=question.text)
        report.context_tokens.append(context.token_count)
        report.baseline_tokens.append(context.baseline_tokens)
        _score_question(question, ranked, report)
        on_question()


def _ranked_dia_ids(results: Sequence[Any], dia_by_message: dict[int, str | None]) -> list[str]:
    ranked: list[str] = []
    seen: set[str] = set()
    for item in results:
        for message_id in item.source_message_ids:
            dia_id = dia_by_message.get(message_id)
            if dia_id and dia_id not in seen:
                seen.add(dia_id)
                ranked.append(dia_id)
    return ranked


def _score_question(question: Question, ranked: list[str], report: RecallReport) -> None:
    evidence = set(question.evidence)
    stats = report.per_category.setdefault(question.category, {"n": 0, "hits": defaultdict(float)})
    report.questions += 1
    stats["n"] += 1
    for k in report.ks:
        found = len(evidence & set(ranked[:k])) / len(evidence)
        report.hits[k] += found
        stats["hits"][k] += found
