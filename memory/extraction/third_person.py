"""Rewriting first person as third person, for the text of a fact.

"my anniversary is on June 3rd" becomes "user's anniversary is on June 3rd", "I love hiking"
becomes "user loves hiking".
"""

import re

from memory.extraction.vocabulary import ADVERB

FIRST_PERSON = re.compile(
    rf"\b(?:(?P<i>I)\s+(?P<adverbs>(?:(?:{ADVERB})\s+)*)(?P<verb>[a-z]+)|(?P<alone>I)|(?P<my>my)"
    rf"|(?P<me>me|myself)|(?P<mine>mine))\b",
    re.I,
)
_UNINFLECTED = frozenset(
    {
        "can", "could", "will", "would", "shall", "should", "may", "might", "must", "was", "were",
        "went", "got", "had", "did", "saw", "made", "took", "came", "left", "met", "bought",
        "thought", "told", "said", "ran", "felt", "found", "gave", "knew", "lost", "wrote", "won",
        "began", "ate", "drank", "flew", "drove", "sang", "swam", "grew", "heard", "kept", "paid",
        "sent", "spent", "built", "taught", "caught", "brought", "sold", "became", "read", "put",
        "cut", "set", "let", "hit", "hurt", "quit"
    }
)  # fmt: skip
_IRREGULAR = {"am": "is", "have": "has", "do": "does", "go": "goes", "be": "is"}
_NOT_VERBS = frozenset({"and", "or", "but", "too", "alone", "personally", "myself", "also"})


def _third_person_verb(verb: str) -> str:
    low = verb.lower()
    if low in _IRREGULAR:
        return _IRREGULAR[low]
    if low in _UNINFLECTED or low.endswith("ed"):
        return verb
    if low.endswith(("s", "sh", "ch", "x", "z", "o")):
        return f"{verb}es"
    if low.endswith("y") and low[-2:-1] not in {"a", "e", "i", "o", "u"}:
        return f"{verb[:-1]}ies"
    return f"{verb}s"


def third_person_text(text: str, subject: str) -> str:
    """ "my anniversary is on June 3rd" -> "user's anniversary is on June 3rd"."""

    def swap(match: re.Match[str]) -> str:
        if match.group("i"):
            verb = match.group("verb")
            if verb.lower() in _NOT_VERBS:
                return f"{subject} {match.group('adverbs')}{verb}"
            return f"{subject} {match.group('adverbs')}{_third_person_verb(verb)}"
        if match.group("me") and match.group("me").lower() == "myself":
            return "themselves"
        if match.group("alone") or match.group("me"):
            return subject
        return f"{subject}'s"

    return FIRST_PERSON.sub(swap, text)
