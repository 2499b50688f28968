"""Requests to remember: "remember that my anniversary is on June 3rd", "remind me to call mom".

A request is read before any other rule and stored as said (in the third person), with its
relative dates pinned down; advice ("remember, practice makes perfect") and things said to
someone ("remember, I'm always here for you") are no memos.
"""

import re
from dataclasses import replace

from memory.extraction.clauses import Clause, Reading, trim
from memory.extraction.facts import ExtractedFact
from memory.extraction.objects import SECOND_PERSON
from memory.extraction.third_person import FIRST_PERSON, third_person_text
from memory.text.relative_time import TIME, resolve_relative

_REMEMBER = re.compile(
    r"^(?:(?:hey|ok|okay|so|and|also|oh|btw)[\s,!]+)*(?:(?:please|pls|plz|can you|could you|"
    r"will you|would you)\s+)?(?:please\s+)?(?P<verb>remember|do not forget|never forget|"
    r"keep in mind|make a note|note|remind me)(?:\s+(?P<link>that|to|about))?\s*[,:]?\s+"
    r"(?P<body>.+?)[\s,]*(?:please|pls|thanks|thank you|ok|okay)?[\s.!?]*$",
    re.I,
)
_NOT_A_REQUEST = re.compile(r"^(?:when|the time|how|what|where|who|me\b|us\b|you\b|it\b)", re.I)


def remember_request(sentence: str, reading: Reading) -> list[ExtractedFact] | None:
    match = _REMEMBER.match(sentence)
    if match is None:
        return None
    polite = re.match(
        r"^\W*(?:please|pls|plz|can you|could you|will you|would you)\b", sentence, re.I
    )
    if sentence.rstrip().endswith("?") and not polite:
        return None  # "Remember this photo?" asks; it does not tell
    body = trim(match.group("body"))
    verb, link = match.group("verb").lower(), (match.group("link") or "").lower()
    if not body or _NOT_A_REQUEST.match(body) or (link == "to" and verb != "remind me"):
        return None
    if SECOND_PERSON.search(body):
        return []  # "remember, I'm always here for you" is said to someone, not a memo
    if not link and verb != "remind me" and not FIRST_PERSON.search(body):
        return []  # "Remember, practice makes perfect" is advice, not a memo
    clause = Clause(reading=reading, when=None, hedged=False, clause=body)
    if verb == "remind me":
        when = TIME.search(body)
        core = trim(f"{body[: when.start()]} {body[when.end() :]}") if when else body
        dated = replace(clause, when=when)
        joiner = "to" if link == "to" else "about"
        text = (
            f"{reading.subject} wants to be reminded {joiner} "
            f"{third_person_text(core, reading.subject)}{dated.when_text('future')}"
        )
        return [
            clause.fact(reading.subject, "remember", body, text, confidence=0.9, importance=0.9)
        ]
    text = third_person_text(resolve_relative(body, reading.today), reading.subject)
    return [clause.fact(reading.subject, "remember", body, text, confidence=0.95)]
