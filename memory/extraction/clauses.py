"""Clause reading: from one sentence to the clauses the rules try, and what a clause carries.

A sentence loses its lead-in ("so", "btw", "these days"), a trailing question and any
apposition commas, then splits where a new subject starts ("..., and my sister lives in
Berlin"). A question, a hypothetical or what follows reported speech yields no clauses. Each
clause loses its hedges and one time expression, which travels with it as ``Clause.when``.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from memory.extraction.facts import ExtractedFact, attribute_profile
from memory.extraction.vocabulary import NAME, REF, REF_ADJ
from memory.text.normalise import collapse_space
from memory.text.relative_time import TIME, resolve_time

_HEDGES = re.compile(
    r"\b(?:kinda|kind of|sort of|sorta|probably|i think|i guess|i believe)\b", re.I
)

_NEW_SUBJECT = r"(?=(?:i|my|we|he|she|it|they|his|her|its|their|our|you|this|that|there)\b)"
_CLAUSE_BREAK = re.compile(
    r"\s*;\s*|\s*[-\u2013\u2014]+\s+"
    rf"|\s*,\s*(?:(?:and|but|so|because|'cause|though|plus|also|then)\s+)?{_NEW_SUBJECT}"
    r"|\s+(?:and then|and|but|so|because|'cause|cuz|though|although|plus|then|while|whereas)\s+"
    rf"{_NEW_SUBJECT}",
    re.I,
)
# "my sister, Anna, lives in Berlin" reads as "my sister Anna lives in Berlin".
_APPOSITION = re.compile(rf"\b(my\s+{REF_ADJ}(?:{REF}))\s*,\s*({NAME})\s*,?", re.I)
_TRAILING_QUESTION = re.compile(
    r",\s*(?:and\s+)?(?:how|what|where|who|do|does|did|are|have|can|would|will|is)\b[^,]*\?$", re.I
)
# A condition colours the whole sentence ("if it rains, I'm staying home"); a modal only its clause.
_CONDITIONAL = re.compile(
    r"\b(?:if|unless|whether|suppose|supposing|imagine|imagining|pretend|pretending|wish|wished|"
    r"hypothetically|someday|one day)\b",
    re.I,
)
_MODAL = re.compile(r"\b(?:would|could|should|might|maybe|perhaps)\b|(?-i:\bmay\s+[a-z])", re.I)
_REPORTING = re.compile(
    r"\b(?:said|says|say|told|tells|tell|asked|asks|thinks|thought|claims|claimed|wrote|texted|"
    r"yelled|replied|answered)(?:\s+(?:me|us|him|her|them))?(?:\s+that)?\s*[,:]?\s*$",
    re.I,
)
_LEAD = re.compile(
    r"^(?:(?:so|well|oh|hey|hi|hello|yeah|yes|yep|ok|okay|also|and|but|actually|anyway|anyways|"
    r"btw|by the way|honestly|lol|haha|um|uh|guess what|fun fact|fyi|plus|oh and|in my free time|"
    r"in my spare time|these days|nowadays|lately|right now|currently|at the moment)\b[\s,!:.-]*)+",
    re.I,
)
_HEDGE_LEAD = re.compile(r"^i\s+(?:think|guess|believe|suppose|feel like)\s+(?:that\s+)?", re.I)
_TRAILING_JUNK = re.compile(
    r"(?:[\s.,;:!?\u2026~*\"'`\-\u2013\u2014]|[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200d]"
    r"|\s[:;]-?[)(DPp]+)+$"
)
_LEADING_JUNK = re.compile(r"^[\s,;:\-\u2013\u2014\"']+")


def trim(value: str) -> str:
    return _LEADING_JUNK.sub("", _TRAILING_JUNK.sub("", value)).strip()


def clauses_of(sentence: str) -> Iterator[str]:
    """The clauses of a sentence that may state facts, in order; none for a question or a
    hypothetical, and none after "she told me," (what follows is someone else's statement)."""
    sentence = _LEAD.sub("", sentence)
    if sentence.rstrip().endswith("?"):
        # "I love hiking, do you?" states something before it asks; anything else is a question.
        tail = _TRAILING_QUESTION.search(sentence)
        if tail is None:
            return
        sentence = sentence[: tail.start()]
    if _CONDITIONAL.search(sentence):
        return
    sentence = _APPOSITION.sub(r"\1 \2", sentence)
    lead_time = TIME.match(sentence)
    if lead_time is not None:  # "Last Friday, I went to ..." is one clause
        sentence = lead_time.group() + re.sub(r"^\s*,", "", sentence[lead_time.end() :])
    previous = ""
    for clause in _CLAUSE_BREAK.split(sentence):
        if _REPORTING.search(previous):
            return
        yield clause
        previous = clause


@dataclass
class Reading:
    """What one message's clauses share: who speaks, when, and the last relation or pet named."""

    subject: str
    today: date | None
    referent: str | None = None
    referent_is_pet: bool = False


@dataclass(frozen=True)
class Clause:
    reading: Reading
    when: re.Match[str] | None
    hedged: bool
    clause: str

    def when_text(self, tense: str) -> str:
        """ " on 7 May 2023" (or the phrase as said when it cannot be resolved), or ""."""
        if self.when is None:
            return ""
        resolved = None
        if self.reading.today is not None:
            resolved = resolve_time(self.when, self.reading.today, tense)
        return f" {resolved or collapse_space(self.when.group())}"

    def fact(
        self,
        subject: str,
        attribute: str,
        value: str,
        text: str,
        *,
        confidence: float = 0.85,
        negated: bool = False,
        importance: float | None = None,
        multi_valued: bool | None = None,
    ) -> ExtractedFact:
        category, usual_importance, usually_multi = attribute_profile(attribute)
        if self.hedged:
            confidence -= 0.15
        return ExtractedFact(
            subject=subject,
            attribute=attribute,
            value=value,
            text=f"{text.rstrip('. ')}.",
            category=category,
            importance=usual_importance if importance is None else importance,
            confidence=round(max(confidence, 0.1), 2),
            negated=negated,
            multi_valued=usually_multi if multi_valued is None else multi_valued,
        )


@dataclass(frozen=True)
class Who:
    """The subject of a clause: the speaker, or a relation or pet of theirs."""

    subject: str
    first_person: bool
    ref: str | None = None
    is_pet: bool = False


def read_clause(text: str, reading: Reading) -> Clause | None:
    """The clause the rules try, or None when nothing is left of it or a modal colours it."""
    if _MODAL.search(text):
        return None
    text = trim(_LEAD.sub("", trim(text)))
    hedged = bool(_HEDGES.search(text))
    text = _HEDGE_LEAD.sub("", text)
    when = TIME.search(text)
    if when is not None:
        text = trim(f"{text[: when.start()]} {text[when.end() :]}")
        text = _LEAD.sub("", collapse_space(text))
    if not text:
        return None
    return Clause(reading=reading, when=when, hedged=hedged, clause=text)
