"""Extractive summaries: the most representative sentences of a stretch of conversation.

Used when no capable language model is configured. The sentences picked are the ones
closest to the stretch's centroid in embedding space (what it is mostly about), kept in
the order they were said; the summary's sources are exactly the messages it quotes.
"""

import re
from collections.abc import Sequence

import numpy as np

from memory.models import Message

EXTRACTIVE_SUMMARIZER = "extractive-1"
SENTENCES_PER_SUMMARY = 4
MAX_SENTENCE_CHARS = 200

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _first_sentence(text: str) -> str:
    sentence = _SENTENCE_END.split(text.strip(), maxsplit=1)[0]
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
