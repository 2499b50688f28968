"""Plans: what the speaker is about to do, plans, wants or is on the way to.

"I'm getting married in June", "I'm moving to Lisbon next month", "I want to learn Spanish".
"""

import re

from memory.extraction.clauses import Clause, Who
from memory.extraction.facts import ExtractedFact
from memory.extraction.objects import clean_object
from memory.extraction.third_person import third_person_text
from memory.text.normalise import collapse_space

_LIFE_EVENT_SOON = re.compile(
    r"^(?:am|is)\s+(?P<phrase>getting\s+(?:married|engaged|divorced|a\s+divorce)|having\s+a\s+"
    r"baby|expecting\s+a\s+baby|expecting|pregnant|graduating(?:\s+from\s+.+)?|retiring|"
    r"starting\s+a\s+new\s+job(?:\s+(?:at|as)\s+.+)?|starting\s+(?:college|university|school|"
    r"grad\s+school))$",
    re.I,
)
_PLAN = re.compile(
    r"^(?:(?:am|is)\s+planning\s+(?P<prep>to|on)|(?:plan|plans|intend|intends|have\s+decided|"
    r"has\s+decided|decided)\s+to|(?:am|is)\s+going\s+to|(?P<will>will))\s+(?P<object>.+)$",
    re.I,
)
_ON_THE_WAY = re.compile(
    r"^(?:am|is)\s+(?P<verb>moving|relocating|flying|traveling|travelling|heading|driving|"
    r"visiting|leaving\s+for)\s+(?P<object>.+)$",
    re.I,
)
_BASE_FORMS = {
    "moving": "move",
    "relocating": "relocate",
    "flying": "fly",
    "traveling": "travel",
    "travelling": "travel",
    "heading": "head",
    "driving": "drive",
    "visiting": "visit",
    "leaving for": "leave for",
}
_WANT = re.compile(
    r"^(?:want|wants|hope|hopes|am\s+hoping|is\s+hoping|dream\s+of|dreams\s+of|aim|aims|"
    r"am\s+aiming)\s+to\s+(?P<object>.+)$",
    re.I,
)
_CHATTY = re.compile(
    r"^(?:say|tell|ask|thank|know|hear|share|talk|let|check|think|answer|help|reply|respond|"
    r"remind|mention|add|clarify|explain|show|send|hug|get back|keep|try|see|be honest|be back|"
    r"be there|be fine|be ok|be okay|be right|do it|do that|do this|do my best|go now|sleep|"
    r"leave|stop|continue|come back|bring|not|never|remember|forget|always|start thinking|brag|"
    r"vent|rant|apologi[sz]e|make (?:it|this|that) (?:happen|work)|get there|have to|need|wait|"
    r"be (?!a\b|an\b|the\b))\b"
    r"|^(?:go|be|do)$",
    re.I,
)
_ENDS_WITH_PRONOUN = re.compile(r"\b(?:it|that|this|them|those|these|there|here)$", re.I)
_DESTINATION = re.compile(r"^(?:the|a|an|my|our)\b|^(?-i:[A-Z])", re.I)


def clean_plan(raw: str) -> str | None:
    value = clean_object(raw, max_words=12)
    if value is None or _CHATTY.match(value) or _ENDS_WITH_PRONOUN.search(value):
        return None
    return value


def plans(pred: str, who: Who, clause: Clause) -> list[ExtractedFact] | None:
    subject = who.subject
    owner = clause.reading.subject
    match = _LIFE_EVENT_SOON.match(pred)
    if match is not None:
        phrase = collapse_space(match.group("phrase"))
        text = f"{subject} is {third_person_text(phrase, owner)}{clause.when_text('future')}"
        return [clause.fact(subject, "event", phrase, text, importance=0.8)]
    match = _PLAN.match(pred)
    value: str | None
    if match is not None:
        raw = match.group("object")
        if _DESTINATION.match(raw) and pred.lower().startswith(("am going", "is going")):
            if clause.when is None:
                return []  # "I'm going to the gym" is about now, not a plan
            raw = f"go to {raw}"
        value = clean_plan(raw)
        if value is None:
            return []
        prep = (match.group("prep") or "to").lower()
        text = (
            f"{subject} plans {prep} {third_person_text(value, owner)}{clause.when_text('future')}"
        )
        confidence = 0.7 if match.group("will") else 0.85
        return [clause.fact(subject, "plans", value, text, confidence=confidence)]
    match = _ON_THE_WAY.match(pred)
    if match is not None:
        verb = collapse_space(match.group("verb").lower())
        if clause.when is None and verb not in {"moving", "relocating"}:
            return []
        value = clean_plan(f"{_BASE_FORMS[verb]} {match.group('object')}")
        if value is None:
            return []
        text = f"{subject} plans to {third_person_text(value, owner)}{clause.when_text('future')}"
        return [clause.fact(subject, "plans", value, text, confidence=0.8, importance=0.6)]
    match = _WANT.match(pred)
    if match is None:
        return None
    value = clean_plan(match.group("object"))
    if value is None:
        return []
    text = f"{subject} wants to {third_person_text(value, owner)}"
    return [clause.fact(subject, "wants_to", value, text, confidence=0.75)]
