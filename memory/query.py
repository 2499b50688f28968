"""What a search query asks about: who, when, and how to phrase it for the embedding.

People speak of themselves in the first person ("I went to the support group"), but a
question about them names them ("When did Caroline go to the support group?"). When a
query names exactly one known speaker of the end user's history, the text we embed is
rewritten in that speaker's first person, and ranking prefers what that speaker said.
When it names several, the names are neutralised so they do not dominate the vector.
A date in the query ("in May 2023", "on 8 May, 2023") lets memories from then rank higher.
"""

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from memory.text.dates import MONTH_PATTERN, MONTHS

_DATE = re.compile(
    rf"\b(?:(\d{{1,2}})(?:st|nd|rd|th)?\s+)?({MONTH_PATTERN})\.?(?:\s+(\d{{1,2}})(?:st|nd|rd|th)?)?,?\s+(\d{{4}})\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"\b[A-Z][a-zA-Z'\u2019-]+\b")
MIN_NAME_PREFIX = 3

# Third-person references to the named speaker, as that speaker would say them.
_FIRST_PERSON = [
    (re.compile(r"\b(?:her|his)self\b", re.IGNORECASE), "myself"),
    (re.compile(r"\b(?:hers)\b", re.IGNORECASE), "mine"),
    (re.compile(r"\b(?:her|his)\b", re.IGNORECASE), "my"),
    (re.compile(r"\b(?:she|he)\b", re.IGNORECASE), "I"),
    (re.compile(r"\bhim\b", re.IGNORECASE), "me"),
    (re.compile(r"\b(does|do) I\b"), "do I"),
    (re.compile(r"\bhas I\b"), "have I"),
    (re.compile(r"\bis I\b"), "am I"),
    (re.compile(r"\bwas I\b"), "was I"),
]


@dataclass(frozen=True)
class QueryPlan:
    text: str
    embed_text: str
    speaker: str | None
    date: date | None
    date_has_day: bool


def _named_speakers(query: str, speakers: Collection[str]) -> dict[str, str]:
    """Words of the query that name a known speaker, mapped to that speaker's name."""
    found: dict[str, str] = {}
    lowered = {speaker.lower(): speaker for speaker in speakers if speaker}
    for match in _WORD.finditer(query):
        word = match.group(0).rstrip("'\u2019").removesuffix("'s").removesuffix("\u2019s")
        key = word.lower()
        if key in lowered:
            found[word] = lowered[key]
            continue
        # Nicknames by prefix: "Mel" for Melanie, "Deb" for Deborah.
        if len(key) >= MIN_NAME_PREFIX:
            candidates = [name for low, name in lowered.items() if low.startswith(key)]
            if len(candidates) == 1:
                found[word] = candidates[0]
    return found


def _first_person(query: str, word: str) -> str:
    text = re.sub(rf"\b{re.escape(word)}(?:'s|\u2019s)", "my", query)
    text = re.sub(rf"\b{re.escape(word)}\b", "I", text)
    for pattern, replacement in _FIRST_PERSON:
        text = pattern.sub(replacement, text)
    return text


def query_date(query: str) -> tuple[date | None, bool]:
    match = _DATE.search(query)
    if match is None:
        return None, False
    day_before, month_name, day_after, year = match.groups()
    day = day_before or day_after
    try:
        return date(int(year), MONTHS[month_name.lower()], int(day) if day else 1), bool(day)
    except ValueError:
        return None, False


def query_plan(query: str, *, speakers: Collection[str]) -> QueryPlan:
    named = _named_speakers(query, speakers)
    distinct = set(named.values())
    speaker = next(iter(distinct)) if len(distinct) == 1 else None
    if speaker is not None:
        embed_text = query
        for word in named:
            embed_text = _first_person(embed_text, word)
    elif distinct:
        embed_text = query
        for word in named:
            embed_text = re.sub(rf"\b{re.escape(word)}(?:'s|\u2019s)?\b", "they", embed_text)
    else:
        embed_text = query
    found_date, has_day = query_date(query)
    return QueryPlan(
        text=query, embed_text=embed_text, speaker=speaker, date=found_date, date_has_day=has_day
    )
