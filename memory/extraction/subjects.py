"""The subject of a clause: "I", or a relation or pet of the speaker's ("my little sister Anna").

Reading "my sister Anna" also names the sister, and makes her the referent a later "her name
is ..." or "she ..." points back to.
"""

import re

from memory.extraction.clauses import Clause, Who
from memory.extraction.facts import ExtractedFact
from memory.extraction.names import is_name, naming_fact
from memory.extraction.vocabulary import ADVERB, NAME, REF, REF_ADJ, ref_of

_SUBJECT = re.compile(
    rf"^(?:(?P<i>i)|my\s+{REF_ADJ}(?P<ref>{REF})(?:\s+(?P<name>{NAME}))?)\s+(?P<pred>\S.*)$",
    re.I,
)
_HEAD_ADVERB = re.compile(
    rf"^((?:(?:am|is|do not|does not|did not|never|have|has|will|am not|is not|have been|"
    rf"has been)\s+)?)(?:{ADVERB})\s+",
    re.I,
)


def read_subject(clause: Clause) -> tuple[Who, list[ExtractedFact], str] | None:
    """Who the clause is about, the naming facts its subject states, and the predicate with
    its leading adverbs dropped ("am really into" -> "am into"); None without a subject."""
    match = _SUBJECT.match(clause.clause)
    if match is None:
        return None
    reading, facts = clause.reading, []
    if match.group("i"):
        who = Who(subject=reading.subject, first_person=True)
    else:
        ref, is_pet = ref_of(match.group("ref"))
        reading.referent, reading.referent_is_pet = ref, is_pet
        name = match.group("name")
        noun = ref.replace("_", " ")
        if name and is_name(name):
            facts.append(naming_fact(clause, reading.subject, ref, is_pet, name, 0.85))
            who = Who(f"{reading.subject}'s {noun} {name}", False, ref, is_pet)
        else:
            who = Who(f"{reading.subject}'s {noun}", False, ref, is_pet)
    pred = match.group("pred")
    for _ in range(4):
        shorter = _HEAD_ADVERB.sub(r"\1", pred, count=1)
        if shorter == pred:
            break
        pred = shorter
    return who, facts, pred
