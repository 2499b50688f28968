"""Reading one message: its sentences, their clauses, and the rules tried on each in order.

The order of the rules is part of the extractor's behaviour: the first rule that claims a clause
decides it, even when it then finds nothing worth keeping, so a rule earlier in the list wins
over a more general one later ("I started working at Google" is read by the work rules as a
job, before the event rules could read it as something the speaker did).
"""

from collections.abc import Callable
from datetime import datetime

from memory.extraction.clauses import Clause, Reading, Who, clauses_of, read_clause
from memory.extraction.events import events, my_date
from memory.extraction.facts import ExtractedFact
from memory.extraction.names import (
    identity,
    my_name,
    pronoun_naming,
    ref_name,
    stated_age,
    third_person_naming,
)
from memory.extraction.places import places
from memory.extraction.plans import plans
from memory.extraction.preferences import (
    diet_and_allergies,
    favorite,
    hobbies,
    my_thing,
    preferences,
)
from memory.extraction.relations import have
from memory.extraction.remember import remember_request
from memory.extraction.subjects import read_subject
from memory.extraction.work import jobs
from memory.text.contractions import spell_out_chat_contractions
from memory.text.normalise import collapse_inline_space, plain_quotes
from memory.text.sentences import split_sentences

# Names the rule set; stored with each fact it finds, so a change of rules shows in the data.
RULE_EXTRACTOR_VERSION = "rules-1"

_ClauseRule = Callable[[Clause], list[ExtractedFact] | None]
_PredicateRule = Callable[[str, Who, Clause], list[ExtractedFact] | None]


def extract_facts(
    text: str, *, speaker: str | None = None, said_at: datetime | None = None
) -> list[ExtractedFact]:
    """The facts one first-person chat message states, in the order it states them.

    ``speaker`` names the subject of the facts ("user" when not given); ``said_at`` anchors
    relative dates ("yesterday" becomes "on 7 May 2023"); without it they stay as said.
    """
    reading = Reading(
        subject=(speaker or "").strip() or "user",
        today=said_at.date() if said_at is not None else None,
    )
    facts: list[ExtractedFact] = []
    seen: set[tuple[str, str, str, bool]] = set()
    plain = spell_out_chat_contractions(collapse_inline_space(plain_quotes(text)))
    for sentence in split_sentences(plain):
        for fact in _sentence_facts(sentence, reading):
            key = (fact.subject.casefold(), fact.attribute, fact.value.casefold(), fact.negated)
            if key not in seen:
                seen.add(key)
                facts.append(fact)
    return facts


def _sentence_facts(sentence: str, reading: Reading) -> list[ExtractedFact]:
    request = remember_request(sentence, reading)
    if request is not None:
        return request
    facts: list[ExtractedFact] = []
    for text in clauses_of(sentence):
        clause = read_clause(text, reading)
        if clause is not None:
            facts.extend(_clause_facts(clause))
    return facts


def _clause_facts(clause: Clause) -> list[ExtractedFact]:
    for rule in _CLAUSE_RULES:
        facts = rule(clause)
        if facts is not None:
            return facts
    return []


def _subject_predicate(clause: Clause) -> list[ExtractedFact] | None:
    """ "I ..." or "my sister (Anna) ...": the predicate rules, tried on what follows."""
    subject = read_subject(clause)
    if subject is None:
        return None
    who, facts, pred = subject
    for rule in _PREDICATE_RULES:
        found = rule(pred, who, clause)
        if found is not None:
            return facts + found
    return facts


_PREDICATE_RULES: tuple[_PredicateRule, ...] = (
    third_person_naming,
    stated_age,
    identity,
    diet_and_allergies,
    places,
    jobs,
    have,
    preferences,
    hobbies,
    plans,
    events,
)
_CLAUSE_RULES: tuple[_ClauseRule, ...] = (
    pronoun_naming,
    my_name,
    favorite,
    my_thing,
    my_date,
    ref_name,
    _subject_predicate,
)
