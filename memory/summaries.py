"""Summaries of stretches of conversation: by a capable model, or extractive.

The extractive one is used when no capable language model is configured: it picks the
sentences closest to the stretch's centroid in embedding space (what it is mostly about),
kept in the order they were said; its sources are exactly the messages it quotes.
"""

import logging
from collections.abc import Sequence

import numpy as np
from django.conf import settings

from infyn.lib.llm.client import LLMUnavailableError, chat_completion
from memory.models import Message
from memory.text.sentences import opening_sentence

logger = logging.getLogger(__name__)

EXTRACTIVE_SUMMARIZER = "extractive-1"
SENTENCES_PER_SUMMARY = 4
MAX_SENTENCE_CHARS = 200


def _first_sentence(text: str) -> str:
    sentence = opening_sentence(text)
    if len(sentence) > MAX_SENTENCE_CHARS:
        sentence = sentence[:MAX_SENTENCE_CHARS].rsplit(" ", 1)[0] + "…"
    return sentence


def summarize_extractive(messages: Sequence[Message]) -> tuple[str, list[int]]:
    """Return the summary text and the ids of the messages it quotes."""
    with_vectors = [m for m in messages if m.embedding is not None and m.content.strip()]
    if not with_vectors:
        return "", []
    vectors = np.array([m.embedding for m in with_vectors], dtype=np.float32)
    centroid = vectors.mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    # Short pleasantries sit near every centroid; a mild length prior favours substance.
    lengths = np.array([min(len(m.content), 200) for m in with_vectors], dtype=np.float32)
    scores = vectors @ centroid + 0.1 * lengths / 200.0
    picked = sorted(np.argsort(-scores)[:SENTENCES_PER_SUMMARY])
    start, end = with_vectors[0].created_at, with_vectors[-1].created_at
    span = start.strftime("%d %B %Y")
    if end.date() != start.date():
        span += f" to {end.strftime('%d %B %Y')}"
    lines = []
    for index in picked:
        message = with_vectors[int(index)]
        speaker = message.name or message.role
        lines.append(f"{speaker}: {_first_sentence(message.content)}")
    text = f"Conversation on {span}. " + " ".join(lines)
    return text, [with_vectors[int(index)].pk for index in picked]


LLM_SUMMARIZER = "llm-1"
_SUMMARY_INSTRUCTIONS = (
    "Summarise this stretch of a conversation in at most four sentences for someone who "
    "must remember it later: who said what about themselves, events with their dates, "
    "decisions and plans. Use the speakers' names. No preamble."
)


def summarize(messages: Sequence[Message]) -> tuple[str, list[int], str]:
    """Summary text, source message ids and summariser name.

    A capable model (INFYN_MEMORY_LLM_SUMMARIES) writes it when it can; otherwise, or when the
    model is unavailable, the extractive summary is used, so summaries never fall behind.
    """
    if settings.MEMORY_LLM_SUMMARIES:
        transcript = "\n".join(
            f"[{m.created_at:%d %b %Y}] {m.name or m.role}: {m.content}" for m in messages
        )
        try:
            text = chat_completion(
                messages=[
                    {"role": "system", "content": _SUMMARY_INSTRUCTIONS},
                    {"role": "user", "content": transcript},
                ],
                max_tokens=300,
            ).strip()
        except LLMUnavailableError as exc:
            logger.warning("memory: model summary failed (%s); using the extractive one", exc)
        else:
            if text:
                return text, [m.pk for m in messages], LLM_SUMMARIZER
    text, sources = summarize_extractive(messages)
    return text, sources, EXTRACTIVE_SUMMARIZER
