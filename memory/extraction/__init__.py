"""The deterministic rule-based fact extractor: it always works, with no model at all.

``extract_facts`` reads one chat message written in the first person and returns the facts it
states about the speaker, and, conservatively, about the people and pets the speaker names ("my
sister Anna lives in Berlin"). Precision comes before recall: a question, a hypothetical, reported
speech or a clause that fits no rule yields nothing rather than a guess.

How a message is read: unify quotes, whitespace and contractions; split it into sentences; set
aside questions and hypotheticals; split each sentence into clauses where a new subject starts; in
each clause take out one time expression (resolved against ``said_at`` when given); find the
subject ("I", "my sister Anna") and try the predicate rules in order. The first rule that claims a
clause decides it, even when it then finds nothing worth keeping.

Where each part lives: ``reader`` (the message, the order of the rules), ``clauses`` and
``subjects`` (clause reading), ``vocabulary``, ``objects`` and ``third_person`` (shared by the
rules), and one module of rules per topic: ``names``, ``relations``, ``places``, ``work``,
``preferences``, ``plans``, ``events`` and ``remember``. Text helpers that consolidation, query
planning and summaries share with it (quotes, contractions, dates, sentences) are in
``memory.text``.
"""

from memory.extraction.facts import ExtractedFact, FactCategory, attribute_profile
from memory.extraction.reader import RULE_EXTRACTOR_VERSION, extract_facts

__all__ = [
    "RULE_EXTRACTOR_VERSION",
    "ExtractedFact",
    "FactCategory",
    "attribute_profile",
    "extract_facts",
]
