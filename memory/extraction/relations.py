"""Relations and pets the speaker has: "I have two kids", "we adopted a puppy named Biscuit"."""

import re

from memory.extraction.clauses import Clause, Who
from memory.extraction.facts import ExtractedFact
from memory.extraction.names import is_name, naming_fact
from memory.extraction.vocabulary import COUNT, COUNTED, END, NAMES, REF, REF_ADJ, ref_of
from memory.text.normalise import collapse_space
from memory.text.patterns import alternation

_HAVE_REF = re.compile(
    rf"^(?:(?P<neg>do not|does not)\s+have\s+(?:a|an|any)|(?P<verb>have got|has got|have|has|got|"
    rf"adopted|rescued|bought|brought home)\s+(?:a|an|one|another|a\s+new|my\s+first))\s+"
    rf"{REF_ADJ}(?P<ref>{REF})(?:(?:\s*,)?\s+(?:called|named|whose\s+name\s+is)\s+"
    rf"(?P<name>{NAMES}))?{END}",
    re.I,
)
_HAVE_COUNT = re.compile(
    rf"^(?:(?:have|has|have got|has got)\s+(?P<n>{COUNT})|(?P<none>do not|does not)\s+have\s+any)"
    rf"\s+(?:(?:little|young|grown|grown-up|adult|beautiful|wonderful|amazing|older|younger)\s+)?"
    rf"(?P<what>{alternation(COUNTED)}){END}",
    re.I,
)


def have(pred: str, who: Who, clause: Clause) -> list[ExtractedFact] | None:
    subject, reading = who.subject, clause.reading
    match = _HAVE_COUNT.match(pred)
    if match is not None:
        what = match.group("what").lower()
        count = "no" if match.group("none") else match.group("n")
        singular = count.lower() in {"one", "1"}
        if singular != (
            what in {"kid", "child", "son", "daughter", "sister", "brother", "sibling"}
        ):
            return []
        return [
            clause.fact(
                subject, COUNTED[what], count, f"{subject} has {count} {what}", confidence=0.9
            )
        ]
    match = _HAVE_REF.match(pred)
    if match is None:
        return None
    ref, is_pet = ref_of(match.group("ref"))
    reading.referent, reading.referent_is_pet = ref, is_pet
    facts = []
    negated = bool(match.group("neg"))
    noun = ref.replace("_", " ")
    if is_pet:
        verb = (match.group("verb") or "").lower()
        if negated:
            text = f"{subject} does not have a {noun}"
        elif verb in {"have", "has", "have got", "has got"}:
            text = f"{subject} has a {noun}"
        else:
            text = f"{subject} {collapse_space(verb)} a {noun}{clause.when_text('past')}"
        facts.append(clause.fact(subject, "has_pet", ref, text, negated=negated, confidence=0.9))
    name = match.group("name")
    if name and not negated and is_name(name):
        facts.append(naming_fact(clause, subject, ref, is_pet, name, 0.9))
    return facts
