"""Events: what the speaker did, and the dates of their own occasions.

"I ran a marathon last May" is an event; "my anniversary is on June 3rd" the date of one.
"""

import re

from memory.extraction.clauses import Clause, Who
from memory.extraction.facts import ExtractedFact
from memory.extraction.names import birthday_value
from memory.extraction.objects import clean_object, snake
from memory.extraction.third_person import third_person_text
from memory.text.normalise import collapse_space
from memory.text.patterns import alternation

_MY_DATE = re.compile(
    r"^my\s+(?P<thing>(?:[a-z]+\s+){0,2}?(?:birthday|bday|b-day|anniversary|wedding|exam|exams|"
    r"interview|graduation|surgery|operation|appointment|party|trip|flight|vacation|holiday|"
    r"concert|recital|race|marathon|presentation|deadline|due date|ceremony|first day))\s+"
    r"(?P<verb>is|was|will be|falls)\s*(?:on|in)?$",
    re.I,
)


def my_date(clause: Clause) -> list[ExtractedFact] | None:
    match = _MY_DATE.match(clause.clause)
    if match is None:
        return None
    if clause.when is None:
        return []
    subject, thing = clause.reading.subject, match.group("thing").lower()
    if thing.split()[-1] in {"birthday", "bday", "b-day"} and len(thing.split()) == 1:
        value = birthday_value(clause)
        if value is None:
            return []
        return [
            clause.fact(
                subject, "birthday", value, f"{subject}'s birthday is on {value}", confidence=0.9
            )
        ]
    tense = "past" if match.group("verb").lower() == "was" else "future"
    value = clause.when_text(tense).strip()
    verb = "was" if tense == "past" else "is"
    return [
        clause.fact(subject, f"{snake(thing)}_date", value, f"{subject}'s {thing} {verb} {value}")
    ]


_EVENT_VERBS = (
    "went", "visited", "attended", "traveled", "travelled", "flew", "drove", "met", "saw",
    "watched", "finished", "completed", "started", "joined", "ran", "hiked", "climbed", "won",
    "lost", "bought", "sold", "painted", "wrote", "published", "celebrated", "graduated", "got",
    "had", "took", "made", "baked", "cooked", "volunteered", "participated", "gave", "tried",
    "learned", "learnt", "organized", "organised", "hosted", "launched", "quit", "retired",
    "performed", "played", "spent", "returned", "received", "passed", "failed", "competed",
    "enrolled", "registered", "signed up"
)  # fmt: skip
_EVENT = re.compile(
    rf"^(?:(?P<perfect>have|has)\s+)?(?P<verb>{alternation(_EVENT_VERBS)}|been\s+to)\b\s*(?P<object>.*)$",
    re.I,
)
_STANDALONE_EVENTS = frozenset({"graduated", "retired", "quit"})
_DULL_EVENT = re.compile(
    r"^(?:home|to bed|to sleep|back|out|there|here|away|fun|lucky|used to|confused|a chance|"
    r"the chance|a look|some sleep|a nap|a bit|a lot|so|sick|better|worse|tired|ready|up|"
    r"to feel|feeling|to get|to think|thinking|that|this|it|them|my best|our best|"
    r"(?:a|such a)\s+(?:(?:really|very|so)\s+)?(?:good|great|nice|lovely|fun|wonderful|amazing|"
    r"long|rough|bad|hard|busy|blast|awesome)(?:\s+(?:time|day|night|week|one|weekend))?)\b",
    re.I,
)
_LIFE_EVENTS = re.compile(
    r"^(?:got\s+(?:married|engaged|divorced|promoted|fired|laid off|a\s+promotion|my\s+degree)|"
    r"had\s+a\s+baby|graduated|retired|lost\s+my\s+job|quit\s+my\s+job|started\s+(?:college|"
    r"university|grad school|a\s+new\s+job|my\s+own\s+business|a\s+business))",
    re.I,
)


def events(pred: str, who: Who, clause: Clause) -> list[ExtractedFact] | None:
    match = _EVENT.match(pred)
    if match is None:
        return None
    verb = collapse_space(match.group("verb").lower())
    raw = match.group("object")
    if verb == "been to" and not match.group("perfect"):
        return []
    if verb in {"had", "got"} and (match.group("perfect") or re.match(r"to\b", raw, re.I)):
        return []  # "I've got a bike" is possession; "I had to leave" is no event
    obj = clean_object(raw, max_words=12) if raw.strip() else ""
    if obj is None or (not obj and verb not in _STANDALONE_EVENTS) or _DULL_EVENT.match(obj):
        return []
    subject = who.subject
    owner = clause.reading.subject
    phrase = f"{verb} {obj}".strip()
    perfect = match.group("perfect")
    shown = f"{'has ' if perfect else ''}{third_person_text(phrase, owner)}"
    text = f"{subject} {shown}{clause.when_text('past')}"
    importance = 0.8 if _LIFE_EVENTS.match(phrase) else 0.55 if clause.when else 0.45
    return [clause.fact(subject, "event", phrase, text, confidence=0.8, importance=importance)]
