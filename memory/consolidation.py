"""Deciding whether a newly extracted fact repeats, updates or adds to what is already known.

Two statements are the same when they match after normalisation, or when they are close enough by
Levenshtein ratio or by token Jaccard, and they do not disagree in the ways string similarity is
blind to: negation ("likes coffee" / "does not like coffee"), numbers ("2 kids" / "3 kids") and
names ("Anna" / "Anne", "Berlin" / "Bern"). ``decide`` turns that into merge, supersede or insert.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from rapidfuzz import fuzz

from memory.text.contractions import spell_out_contractions_lowercase
from memory.text.normalise import collapse_space, plain_quotes_and_backticks


@dataclass(frozen=True)
class ConsolidationThresholds:
    """When two normalised statements count as the same.

    ``ratio`` is rapidfuzz's Levenshtein (Indel) ratio over the whole normalised text, 0..1. At
    0.90 a typo or an inflection merges ("user enjoys hikng" / "user enjoys hiking" is 0.97)
    while most real edits in a short statement do not ("user lives in Bern" / "user lives in
    Berlin" is 0.89). ``token_jaccard`` compares the sets of content words (fillers such as
    "really" and "the" left out), so word order never matters: at 0.80 one extra word among four
    still merges (4/5), two do not. ``variant`` is the per-word ratio that a word found on one side
    only must reach against a word found on the other side only: "hikng" / "hiking" (0.91) and
    "tea" / "teas" (0.86) are spellings of one word; "bern" / "berlin" (0.80) and "cats" / "bats"
    (0.75) are different words, however alike the sentences around them.
    """

    ratio: float = 0.90
    token_jaccard: float = 0.80
    variant: float = 0.85


DEFAULT_THRESHOLDS = ConsolidationThresholds()

_POSSESSIVE = re.compile(r"(?<=\w)'s?\b")
_ORDINAL = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b")
# Punctuation, except a point or comma inside a number ("3.5", "1,000").
_PUNCTUATION = re.compile(r"(?!(?<=\d)[.,](?=\d))[^\w\s]|_")
_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17",
    "eighteen": "18", "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40",
    "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90",
    "hundred": "100", "thousand": "1000",
}  # fmt: skip
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")
# Words that turn a statement around. "hate" is no negation in grammar, but "user absolutely
# loves coffee" and "user absolutely hates coffee" are 91% alike by ratio.
_NEGATIONS = frozenset(
    {"not", "no", "never", "nor", "none", "nobody", "nothing", "neither", "nowhere", "cannot",
     "without", "hate", "hates", "hated", "dislike", "dislikes", "disliked", "detest", "detests",
     "loathe", "loathes", "despise", "despises"}
)  # fmt: skip
# Words whose presence or absence does not change what a statement says.
_FILLERS = frozenset(
    {"a", "an", "the", "really", "very", "so", "just", "actually", "also", "too", "quite",
     "totally", "absolutely", "definitely", "truly", "basically", "literally", "honestly",
     "currently", "now", "indeed", "pretty", "still"}
)  # fmt: skip
# Capitalised words that are not names, so "The user" and "the user" do not conflict.
_COMMON_WORDS = _FILLERS | {
    "user", "i", "he", "she", "they", "we", "it", "this", "that", "his", "her", "their", "my",
    "in", "on", "at", "to", "of", "for", "from", "with", "and", "or", "but", "is", "was", "has",
    "had", "does", "did", "will", "can", "yes", "no", "not", "never", "remember", "note",
}  # fmt: skip
_CAPITALISED = re.compile(r"\b[A-Z][\w'-]*")


def normalize_fact_text(text: str) -> str:
    """A canonical form for comparison: lowercase, contractions spelt out, no punctuation.

    Digits and negation words stay; number words become digits ("two" -> "2") and ordinals lose
    their suffix ("3rd" -> "3"); the possessive "'s" is dropped ("caroline's dog" -> "caroline
    dog").
    """
    text = spell_out_contractions_lowercase(
        collapse_space(plain_quotes_and_backticks(text).lower())
    )
    text = _POSSESSIVE.sub("", text)
    text = _ORDINAL.sub(r"\1", text)
    text = _PUNCTUATION.sub(" ", text)
    return " ".join(_NUMBER_WORDS.get(token, token) for token in text.split())


def _content_tokens(normalised: str) -> set[str]:
    tokens = set(normalised.split())
    return (tokens - _FILLERS) or tokens


def token_jaccard(a: str, b: str) -> float:
    """Jaccard similarity of the two statements' content words, after normalisation."""
    left, right = _content_tokens(normalize_fact_text(a)), _content_tokens(normalize_fact_text(b))
    if not left and not right:
        return 1.0
    return len(left & right) / len(left | right)


def _words_are_variants(left: str, right: str, thresholds: ConsolidationThresholds) -> bool:
    """Whether the content words found on one side only are spellings of those on the other.

    Words added on one side alone are the similarity measures' business; a word that replaces
    another must be a variant of it ("hikng" for "hiking"), not a different word ("bats").
    """
    only_left = _content_tokens(left) - _content_tokens(right)
    only_right = _content_tokens(right) - _content_tokens(left)
    if not only_left or not only_right:
        return True
    return all(
        any(fuzz.ratio(word, other) / 100 >= thresholds.variant for other in others)
        for words, others in ((only_left, only_right), (only_right, only_left))
        for word in words
    )


def _is_negated(normalised: str) -> bool:
    return any(token in _NEGATIONS for token in normalised.split())


def _numbers(normalised: str) -> Counter[str]:
    return Counter(token for token in normalised.split() if _NUMBER.match(token))


def _names_conflict(a: str, b: str) -> bool:
    """Whether a capitalised word of one statement is missing, in any case, from the other."""
    for text, other in ((a, b), (b, a)):
        other_tokens = set(normalize_fact_text(other).split())
        for word in _CAPITALISED.findall(plain_quotes_and_backticks(text)):
            for token in normalize_fact_text(word).split():
                if token not in _COMMON_WORDS and token not in other_tokens:
                    return True
    return False


def same_statement(
    a: str, b: str, thresholds: ConsolidationThresholds = DEFAULT_THRESHOLDS
) -> bool:
    """Whether two fact texts say the same thing.

    Equal after normalisation, or at least ``thresholds.ratio`` alike by Levenshtein ratio, or at
    least ``thresholds.token_jaccard`` alike by token Jaccard; but never when one is negated and
    the other not, when their numbers differ, when one names someone or something the other does
    not, or when a word of one is replaced by a word of the other that is no spelling variant.
    """
    left, right = normalize_fact_text(a), normalize_fact_text(b)
    if not left or not right:
        return False
    if _is_negated(left) != _is_negated(right) or _numbers(left) != _numbers(right):
        return False
    if _names_conflict(a, b):
        return False
    if left == right:
        return True
    if not _words_are_variants(left, right, thresholds):
        return False
    return (
        fuzz.ratio(left, right) / 100 >= thresholds.ratio
        or token_jaccard(a, b) >= thresholds.token_jaccard
    )


class ExtractedFactLike(Protocol):
    """What consolidation needs of a new fact, whichever extractor produced it."""

    @property
    def subject(self) -> str: ...
    @property
    def attribute(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def negated(self) -> bool: ...
    @property
    def multi_valued(self) -> bool: ...


@dataclass(frozen=True)
class ExistingFact:
    """A fact that is valid now, as consolidation sees it."""

    id: int
    subject: str
    attribute: str
    value: str
    text: str
    negated: bool
    multi_valued: bool


class Action(StrEnum):
    INSERT = "insert"
    MERGE = "merge"
    SUPERSEDE = "supersede"


@dataclass(frozen=True)
class Decision:
    """What to do with a new fact: its target is the fact merged into or superseded."""

    action: Action
    target_id: int | None = None
    canonical_value: str | None = None


# Attributes that hold many values at once, whatever the extractor said about them.
MULTI_VALUED_ATTRIBUTES = frozenset(
    {"likes", "dislikes", "prefers", "hobby", "plays", "learning", "has_pet", "allergic_to",
     "intolerant_to", "event", "plans", "wants_to", "remember", "friend", "best_friend", "sister",
     "brother", "son", "daughter", "child", "cousin", "aunt", "uncle", "niece", "nephew",
     "coworker", "colleague", "neighbor", "roommate", "grandmother", "grandfather", "mentor"}
)  # fmt: skip
# "dislikes X" says what "likes X" negated says; both are kept under one key so they can flip.
_OPPOSITE_ATTRIBUTES = {"dislikes": "likes"}


def _key(text: str) -> str:
    return collapse_space(text.casefold())


def _polarity(attribute: str, negated: bool) -> tuple[str, bool]:
    attribute = _key(attribute)
    if attribute in _OPPOSITE_ATTRIBUTES:
        return _OPPOSITE_ATTRIBUTES[attribute], not negated
    return attribute, negated


def _same_value(a: str, b: str, thresholds: ConsolidationThresholds) -> bool:
    left, right = normalize_fact_text(a), normalize_fact_text(b)
    return bool(left) and (left == right or same_statement(a, b, thresholds))


def _numbers_conflict(a: str, b: str) -> bool:
    """Both texts carry numbers, and not the same ones: "on 7 May 2023" / "on 9 May 2023"."""
    left, right = _numbers(normalize_fact_text(a)), _numbers(normalize_fact_text(b))
    return bool(left) and bool(right) and left != right


def _is_multi_valued(attribute: str, new: ExtractedFactLike, old: ExistingFact) -> bool:
    # When in doubt keep both: a wrong insert costs a duplicate, a wrong supersede loses a fact.
    return new.multi_valued or old.multi_valued or attribute in MULTI_VALUED_ATTRIBUTES


def _canonical(new_value: str, old_value: str) -> str:
    """The more specific of two values for the same thing: the longer, the old one on a tie."""
    return new_value.strip() if len(new_value.strip()) > len(old_value.strip()) else old_value


def decide(
    new: ExtractedFactLike,
    existing: Sequence[ExistingFact],
    thresholds: ConsolidationThresholds = DEFAULT_THRESHOLDS,
) -> Decision:
    """Merge into, supersede, or insert beside the valid facts already held about the subject.

    - MERGE when an existing fact about the same subject says the same thing: same attribute,
      value and polarity (unless the texts carry different numbers, as one event on two dates
      does), or, under another attribute, a text that ``same_statement`` matches (another
      extractor may file the same statement under another key).
    - SUPERSEDE (a knowledge update) when the same attribute and value flips polarity ("likes
      coffee" then "does not like coffee"), or when a single-valued attribute (name, age,
      lives_in, works_as ...) gets a different affirmative value.
    - INSERT otherwise, including a new value of a multi-valued attribute (likes, has_pet ...).

    Among several candidates the most recent one (the highest id) is the target.
    """
    subject = _key(new.subject)
    attribute, negated = _polarity(new.attribute, new.negated)
    candidates = sorted(
        (fact for fact in existing if _key(fact.subject) == subject),
        key=lambda fact: fact.id,
        reverse=True,
    )
    flips: list[ExistingFact] = []
    updates: list[ExistingFact] = []
    text_matches: list[ExistingFact] = []
    for old in candidates:
        old_attribute, old_negated = _polarity(old.attribute, old.negated)
        if old_attribute != attribute:
            if same_statement(new.text, old.text, thresholds):
                text_matches.append(old)
        elif _same_value(new.value, old.value, thresholds):
            if old_negated != negated:
                flips.append(old)
            elif not _numbers_conflict(new.text, old.text):
                return Decision(Action.MERGE, old.id, _canonical(new.value, old.value))
            # Same value, other numbers: another occurrence ("went to the gym" on another day).
        elif not negated and not old_negated and not _is_multi_valued(attribute, new, old):
            updates.append(old)
        # Otherwise a different value of the same attribute: "has a cat" is no "has a bat",
        # however alike the two sentences read.
    if flips:
        return Decision(Action.SUPERSEDE, flips[0].id)
    if text_matches:
        old = text_matches[0]
        return Decision(Action.MERGE, old.id, _canonical(new.value, old.value))
    if updates:
        return Decision(Action.SUPERSEDE, updates[0].id)
    return Decision(Action.INSERT)
