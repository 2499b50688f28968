"""Names and identity: who the speaker is, and what their relations and pets are called.

The speaker's name and nickname, age, nationality and birthday; "my sister is called Anna",
"Anna is my sister", and "his name is Biscuit" said of the pet named just before.
"""

import re
from datetime import timedelta

from memory.extraction.clauses import Clause, Who
from memory.extraction.facts import ExtractedFact
from memory.extraction.vocabulary import (
    END,
    NAME,
    NAMES,
    NATIONALITIES,
    NOT_NAMES,
    REF,
    REF_ADJ,
    ref_of,
)
from memory.text.dates import format_day_and_month, none_past_the_calendar
from memory.text.normalise import collapse_space
from memory.text.patterns import alternation
from memory.text.relative_time import fixed_day_offset

_PRONOUN_NAMING = re.compile(
    rf"^(?:(?:his|her|its|their)\s+name\s+is|(?:he|she|it)\s+is\s+(?:called|named)|"
    rf"(?:we|i)\s+(?:named|called)\s+(?:him|her|it|them))\s+(?P<name>{NAMES})",
    re.I,
)


def pronoun_naming(clause: Clause) -> list[ExtractedFact] | None:
    """ "I adopted a dog, his name is Biscuit": the name goes to the last relation or pet named."""
    match = _PRONOUN_NAMING.match(clause.clause)
    reading = clause.reading
    if match is None or reading.referent is None or not is_name(match.group("name")):
        return None
    return [
        naming_fact(
            clause,
            reading.subject,
            reading.referent,
            reading.referent_is_pet,
            match.group("name"),
            0.85,
        )
    ]


def naming_fact(
    clause: Clause, owner: str, ref: str, is_pet: bool, name: str, confidence: float
) -> ExtractedFact:
    attribute = f"{ref}_name" if is_pet else ref  # "dog_name", "sister"
    text = f"{owner}'s {ref.replace('_', ' ')} is called {name}"
    return clause.fact(owner, attribute, name, text, confidence=confidence)


def is_name(name: str) -> bool:
    return name.split()[0].lower() not in NOT_NAMES | NATIONALITIES


_MY_NAME = re.compile(
    r"^my\s+(?:full\s+|real\s+|first\s+)?name(?:'s|\s+is)\s+(?P<name>[a-z]+(?:-[a-z]+)?"
    rf"(?:\s+{NAME}){{0,2}})(?P<rest>.*)$",
    re.I,
)
_CALL_ME = re.compile(
    r"^(?:(?:you\s+can\s+|please\s+|just\s+)?call|(?P<others>people|everyone|my\s+friends|"
    rf"friends)\s+call)\s+me\s+(?P<name>{NAMES})(?P<rest>.*)$",
    re.I,
)
_NAME_TAIL = re.compile(r"^\s*(?:$|[,.!\u2026]|and\b|by the way|btw|from\b|here\b|lol|haha)", re.I)


def my_name(clause: Clause) -> list[ExtractedFact] | None:
    subject = clause.reading.subject
    match = _MY_NAME.match(clause.clause)
    if match is not None:
        name = match.group("name")
        if not is_name(name) or not _NAME_TAIL.match(match.group("rest")):
            return []
        return [clause.fact(subject, "name", name, f"{subject}'s name is {name}", confidence=0.95)]
    match = _CALL_ME.match(clause.clause)
    if match is None:
        return None
    name = match.group("name")
    if not is_name(name) or not _NAME_TAIL.match(match.group("rest")):
        return []
    if match.group("others"):
        return [clause.fact(subject, "nickname", name, f"{subject} is called {name} by others")]
    return [clause.fact(subject, "name", name, f"{subject} wants to be called {name}")]


@none_past_the_calendar
def birthday_value(clause: Clause) -> str | None:
    """The day and month of a birthday: as said when explicit, resolved when relative."""
    when = clause.when
    assert when is not None
    group = when.groupdict()
    if (group["day1"] or group["day2"]) and (group["month1"] or group["month2"]):
        phrase = re.sub(r"^(?:on\s+)", "", collapse_space(when.group()), flags=re.I)
        return re.sub(r"^the\s+", "", phrase, flags=re.I)
    if group["fixed"] and clause.reading.today is not None:
        day = clause.reading.today + timedelta(days=fixed_day_offset(group["fixed"]))
        return format_day_and_month(day)
    return None


_REF_NAME = re.compile(
    rf"^my\s+{REF_ADJ}(?P<ref>{REF})(?:'s\s+name\s+is|\s+(?:is|'s)\s+(?:called|named)|"
    rf"\s+goes\s+by)\s+(?P<name>{NAMES})",
    re.I,
)
_NAME_IS_REF = re.compile(rf"^(?P<name>{NAMES})\s+is\s+my\s+{REF_ADJ}(?P<ref>{REF}){END}", re.I)


def ref_name(clause: Clause) -> list[ExtractedFact] | None:
    """ "my dog's name is Biscuit", "my sister is called Anna", "Anna is my sister"."""
    match = _REF_NAME.match(clause.clause) or _NAME_IS_REF.match(clause.clause)
    if match is None:
        return None
    name = match.group("name")
    ref, is_pet = ref_of(match.group("ref"))
    clause.reading.referent, clause.reading.referent_is_pet = ref, is_pet
    if not is_name(name):
        return []
    return [naming_fact(clause, clause.reading.subject, ref, is_pet, name, 0.9)]


_AGE = re.compile(
    r"^(?:(?:am|is)|(?P<turned>turned))\s+(?P<age>\d{1,3})(?:\s*(?:years?|yrs?)(?:\s+old)?|\s*y/?o)?"
    r"(?:\s+(?:now|already))?\s*$",
    re.I,
)


def stated_age(pred: str, who: Who, clause: Clause) -> list[ExtractedFact] | None:
    match = _AGE.match(pred)
    if match is None:
        return None
    age = match.group("age")
    if not 0 < int(age) < 120:
        return []
    if match.group("turned") and clause.when is not None:
        text = f"{who.subject} turned {age}{clause.when_text('past')}"
    else:
        text = f"{who.subject} is {age} years old"
    return [clause.fact(who.subject, "age", age, text, confidence=0.9)]


_I_AM_NAME = re.compile(rf"^am\s+(?P<name>{NAMES})(?P<rest>.*)$", re.I)
_NATIONALITY = re.compile(rf"^(?:am|is)\s+(?P<nationality>{alternation(NATIONALITIES)}){END}", re.I)


def identity(pred: str, who: Who, clause: Clause) -> list[ExtractedFact] | None:
    match = _NATIONALITY.match(pred)
    if match is not None:
        value = match.group("nationality").title()
        return [clause.fact(who.subject, "nationality", value, f"{who.subject} is {value}")]
    match = _I_AM_NAME.match(pred)
    if match is None or not who.first_person:
        return None
    name = match.group("name")
    if not is_name(name) or not _NAME_TAIL.match(match.group("rest")):
        return None
    return [
        clause.fact(who.subject, "name", name, f"{who.subject}'s name is {name}", confidence=0.8)
    ]


def third_person_naming(pred: str, who: Who, clause: Clause) -> list[ExtractedFact] | None:
    """ "(my sister) is called Anna": the sentence names the relation after all."""
    if who.first_person or who.ref is None:
        return None
    match = re.match(rf"^(?:is\s+(?:called|named)|goes\s+by)\s+(?P<name>{NAMES})", pred, re.I)
    if match is None:
        return None
    if not is_name(match.group("name")):
        return []
    owner = clause.reading.subject
    return [naming_fact(clause, owner, who.ref, who.is_pet, match.group("name"), 0.9)]
