"""Places: where the speaker lives, moved to, is from, grew up and was born."""

import re

from memory.extraction.clauses import Clause, Who
from memory.extraction.facts import ExtractedFact
from memory.extraction.names import birthday_value
from memory.extraction.objects import NO_LONGER, PLACE_CUT, clean_object

_LIVE = re.compile(
    r"^(?:(?P<neg>do not|does not|no longer)\s+)?(?:live|lives|am living|is living|have been "
    r"living|has been living|have lived|has lived|reside|resides|am based|is based)\s+in\s+"
    r"(?P<place>.+)$",
    re.I,
)
_MOVED = re.compile(
    r"^(?:(?:have|has)\s+)?(?:just\s+)?(?:moved|relocated)\s+(?:back\s+)?to\s+(?P<place>.+)$", re.I
)
_FROM = re.compile(
    r"^(?:(?:am|is)\s+(?P<neg>not\s+)?(?:originally\s+)?from|(?:come|comes)\s+from)\s+(?P<place>.+)$",
    re.I,
)
_GREW_UP = re.compile(
    r"^(?:grew\s+up|was\s+raised|was\s+born\s+and\s+raised)\s+in\s+(?P<place>.+)$", re.I
)
_BORN = re.compile(r"^was\s+born(?:\s+in\s+(?P<place>.+))?$", re.I)

_NOT_PLACES = frozenset(
    {"fear", "hope", "denial", "peace", "harmony", "luxury", "poverty", "sin", "the moment",
     "the past", "the present", "the future", "a bubble", "my head", "my own world", "a dream",
     "a dream world", "the now", "the shadows", "misery", "pain", "comfort", "constant fear",
     "chaos", "work", "school", "home", "here", "there", "around here", "the area", "nearby",
     "the same place", "the same city", "town", "the city"}
)  # fmt: skip
_PLACE_NOUNS = re.compile(
    r"^(?:a|an|the|this)\s+(?:[\w'-]+\s+){0,3}(?:city|town|village|suburb|suburbs|countryside|"
    r"apartment|flat|house|condo|dorm|neighborhood|neighbourhood|farm|island|state|country)\b",
    re.I,
)


def _place(raw: str) -> str | None:
    value = clean_object(PLACE_CUT.sub("", raw), max_words=6)
    if value is None or value.lower() in _NOT_PLACES:
        return None
    if re.search(r"(?-i:\b[A-Z])", value) or _PLACE_NOUNS.match(value):
        return value
    # Casual chat writes places in lowercase ("i live in berlin"): accept a short bare name.
    return value if len(value.split()) <= 2 and not value.lower().startswith("my ") else None


def places(pred: str, who: Who, clause: Clause) -> list[ExtractedFact] | None:
    subject = who.subject
    match = _LIVE.match(pred)
    if match is not None:
        place, negated = _place(match.group("place")), bool(match.group("neg"))
        if place is None:
            return []
        verb = "lives"
        if negated:
            verb = "no longer lives" if NO_LONGER.search(clause.clause) else "does not live"
        text = f"{subject} {verb} in {place}"
        return [clause.fact(subject, "lives_in", place, text, negated=negated, confidence=0.9)]
    match = _MOVED.match(pred)
    if match is not None:
        place = _place(match.group("place"))
        if place is None:
            return []
        text = f"{subject} moved to {place}{clause.when_text('past')}"
        return [clause.fact(subject, "lives_in", place, text)]
    match = _FROM.match(pred)
    if match is not None:
        place, negated = _place(match.group("place")), bool(match.groupdict().get("neg"))
        if place is None:
            return []
        text = f"{subject} is {'not ' if negated else ''}from {place}"
        return [clause.fact(subject, "from", place, text, negated=negated, confidence=0.9)]
    match = _GREW_UP.match(pred)
    if match is not None:
        place = _place(match.group("place"))
        if place is None:
            return []
        return [
            clause.fact(
                subject, "grew_up_in", place, f"{subject} grew up in {place}", confidence=0.9
            )
        ]
    match = _BORN.match(pred)
    if match is None:
        return None
    return _born(match, who, clause)


def _born(match: re.Match[str], who: Who, clause: Clause) -> list[ExtractedFact]:
    subject = who.subject
    if match.group("place"):
        place = _place(match.group("place"))
        if place is None:
            return []
        return [
            clause.fact(subject, "born_in", place, f"{subject} was born in {place}", confidence=0.9)
        ]
    if clause.when is None:
        return []
    group = clause.when.groupdict()
    if group["year4"]:
        year = group["year4"]
        return [
            clause.fact(
                subject, "birth_year", year, f"{subject} was born in {year}", confidence=0.9
            )
        ]
    value = birthday_value(clause)
    if value is None:
        return []
    return [
        clause.fact(
            subject, "birthday", value, f"{subject}'s birthday is on {value}", confidence=0.9
        )
    ]
