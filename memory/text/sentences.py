"""Where sentences end, in the two readings the callers need.

``split_sentences`` reads chat for facts: a sentence also ends at a line break, after closing
quotes or brackets, at an ellipsis, or at an emoji followed by a capital, and "Dr." or "e.g."
end none. ``opening_sentence`` is the extractive summariser's cut: the text up to the first
whitespace after a full stop, question or exclamation mark, and nothing else ends it. The
summariser keeps that cruder cut so that the summaries it writes now read exactly like those
already stored.
"""

import re

_SENTENCE_BREAK = re.compile(
    r"(?<=[.!?\u2026])[\"')\]]*\s+|\n+|(?<=[\U0001F300-\U0001FAFF\u2600-\u27BF])\s+(?=[A-Z])"
)
_ABBREVIATION = re.compile(r"\b(?:dr|mr|mrs|ms|st|jr|sr|prof|vs|e\.g|i\.e)\.$", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> list[str]:
    """The sentences of a chat message, stripped, none empty."""
    pieces = [piece.strip() for piece in _SENTENCE_BREAK.split(text) if piece.strip()]
    sentences: list[str] = []
    for piece in pieces:
        if sentences and _ABBREVIATION.search(sentences[-1]):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return sentences


def opening_sentence(text: str) -> str:
    """``text`` (stripped) up to its first sentence end, or all of it when there is none."""
    return _SENTENCE_END.split(text.strip(), maxsplit=1)[0]
