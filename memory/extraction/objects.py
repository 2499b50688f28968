"""The object of a predicate, made fit to store as a fact's value.

It is cut where the next clause starts, cleared of fillers ("so much", "lol"), refused when it
points elsewhere ("it", "you"), and split when it lists several things.
"""

import re

from memory.extraction.clauses import trim
from memory.extraction.vocabulary import NAME

_OBJECT_CUT = re.compile(
    r"(?:\s*,\s*|\s+)(?:because|since|'cause|cuz|coz|but|although|though|when|whenever|while|which|"
    r"who|where|as long as|unless|so much that|even though|as well as|especially|particularly|"
    r"for example|for instance)\b.*$"
    # "got a new console and the graphics are great": the second half is a new statement
    r"|\s+and\s+(?:[\w']+\s+){0,3}(?:is|are|was|were)\b.*$",
    re.I,
)
_TRAILING_FILLER = re.compile(
    r"(?:\s+(?:so much|so very much|very much|a lot|a ton|lots|too|as well|anymore|any more|"
    r"either|these days|nowadays|at all|at the moment|right now|now|currently|for now|though|"
    r"tbh|honestly|lol|lmao|haha+|hehe|by the way|btw|actually|really|again|already|still|"
    r"personally|more and more|recently|lately|sometime|this time|nonstop|all the time|every day|"
    r"daily|regularly|sometimes|often|together|myself))+$",
    re.I,
)
_BLOCKED_OBJECT = re.compile(
    r"^(?:i|it|that|this|these|those|them|him|her|you|yours|what|how|when|where|why|which|something|"
    r"anything|everything|nothing|someone|anyone|everyone|one|ones|so|such|lots|not|never|no|"
    r"to hear|to see that|to think|to say|hearing|the idea|the way|the fact|all the|your|"
    r"the (?:colou?rs?|vibes?|photo|pic|picture|painting|theme|look|sound|energy|details?|"
    r"message|story|design|pattern|shot))\b|^(?:to|do|the|a|an|and|or)$",
    re.I,
)
SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself|u|ur)\b", re.I)


# A pronoun inside an object points at something this clause does not name ("make it for my mom").
_REFERS_ELSEWHERE = re.compile(
    r"\b(?:it|them|this|these|those|him|her|he|she|they|his|its|their|em)\b|'em\b", re.I
)


_LEADING_FILLER = re.compile(
    r"^(?:(?:also|really|just|especially|even|still|actually|totally)\s+)+", re.I
)
_VOCATIVE = re.compile(rf",\s*{NAME}$")


def clean_object(raw: str, *, max_words: int = 10) -> str | None:
    value = trim(_OBJECT_CUT.sub("", raw.replace('"', "")))
    value = trim(_VOCATIVE.sub("", _LEADING_FILLER.sub("", value)))
    for _ in range(3):
        value = trim(_TRAILING_FILLER.sub("", value))
    if (
        not value
        or len(value.split()) > max_words
        or _BLOCKED_OBJECT.match(value)
        or SECOND_PERSON.search(value)
        or _REFERS_ELSEWHERE.search(value)
    ):
        return None
    return value


def list_items(raw: str) -> list[str]:
    """ "hiking, reading and cooking" is three things; "rock and roll" stays one."""
    cleaned = clean_object(raw, max_words=16)
    if cleaned is None:
        return []
    parts = re.split(r"\s*,\s*(?:and\s+|or\s+)?|\s+and\s+|\s*&\s*", cleaned)
    if "," not in cleaned or any(len(part.split()) > 3 for part in parts):
        return [cleaned] if len(cleaned.split()) <= 10 else []
    items = [clean_object(part) for part in parts]
    return [item for item in items if item]


def snake(words: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")


NO_LONGER = re.compile(r"\b(?:no longer|anymore|any more)\b", re.I)
# Where the name of a place or an organisation ends: "in Berlin with my sister" -> "Berlin".
PLACE_CUT = re.compile(r"\s+(?:with|for|since|because|where|which|who|when|but|and\s+i)\b.*$", re.I)
