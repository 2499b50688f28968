"""Consolidation: when a new fact repeats, updates or adds to what is already known."""

from datetime import datetime

import pytest

from memory.consolidation import (
    Action,
    ConsolidationThresholds,
    Decision,
    ExistingFact,
    decide,
    normalize_fact_text,
    same_statement,
    token_jaccard,
)
from memory.extraction import ExtractedFact, FactCategory, extract_facts


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("Caroline lives in Berlin.", "caroline lives in berlin"),
        ("User DOESN'T like  coffee!", "user does not like coffee"),
        ("user can't stand jazz", "user cannot stand jazz"),
        ("I'm Caroline's friend", "i am caroline friend"),
        ("user\u2019s dog is called \u201cBiscuit\u201d", "user dog is called biscuit"),
        ("user has two kids", "user has 2 kids"),
        ("user's birthday is on June 3rd", "user birthday is on june 3"),
        ("user runs 3.5 km, twice a week", "user runs 3.5 km twice a week"),
        ("user won't eat meat", "user will not eat meat"),
    ],
)
def test_normalising_keeps_words_numbers_and_negations_and_drops_the_rest(
    text: str, normalised: str
) -> None:
    assert normalize_fact_text(text) == normalised


@pytest.mark.parametrize(
    ("a", "b", "jaccard"),
    [
        ("user likes hiking", "hiking, user likes", 1.0),
        ("The user really likes hiking", "user likes hiking", 1.0),
        ("user likes hiking", "user likes cats", 0.5),
        ("user likes hiking", "user likes hiking a lot", 0.75),
    ],
)
def test_token_jaccard_compares_content_words_in_any_order(a: str, b: str, jaccard: float) -> None:
    assert token_jaccard(a, b) == pytest.approx(jaccard)


SAME = [
    ("Caroline lives in Berlin.", "caroline lives in berlin", "case and punctuation"),
    ("User likes hiking.", "user likes hiking!!", "punctuation"),
    ("user really likes hiking", "user likes hiking", "a filler word"),
    ("user enjoys hikng", "user enjoys hiking", "a typo"),
    (
        "In May user went hiking in the Alps",
        "user went hiking in the Alps in May",
        "word order",
    ),
    ("user can't stand jazz", "user cannot stand jazz", "a contraction"),
    ("user\u2019s dog is called Biscuit", "user's dog is called Biscuit", "a curly apostrophe"),
    ("user has two kids", "user has 2 kids", "a number word"),
    ("user's birthday is on June 3rd", "user's birthday is on June 3", "an ordinal"),
    ("The user is vegan", "user is vegan", "a capitalised article is no name"),
]


@pytest.mark.parametrize(("a", "b", "why"), SAME, ids=[row[2] for row in SAME])
def test_statements_that_differ_only_in_form_are_the_same(a: str, b: str, why: str) -> None:
    assert same_statement(a, b)
    assert same_statement(b, a)


DIFFERENT = [
    # A lexical matcher cannot tell that "loves to go hiking" says "likes hiking": the verbs and
    # most words differ (ratio 0.75, Jaccard 0.33). Keeping both costs a duplicate line in a
    # prompt; merging two different statements on a guess would lose one. decide() still merges
    # such facts when the extractor files them under the same attribute and value.
    ("User likes hiking", "user loves to go hiking", "a paraphrase"),
    ("user likes coffee", "user does not like coffee", "a negation"),
    ("user likes coffee", "user doesn't like coffee", "a contracted negation"),
    ("user drinks coffee", "user never drinks coffee", "never"),
    (
        "user enjoys long walks on the beach with friends at sunset",
        "user never enjoys long walks on the beach with friends at sunset",
        "a negation added to a long statement",
    ),
    ("Caroline absolutely loves coffee", "Caroline absolutely hates coffee", "an opposite verb"),
    ("user has 2 kids", "user has 3 kids", "a number"),
    ("user has two kids", "user has 3 kids", "a number word against a digit"),
    ("user is 3.5 feet tall", "user is 35 feet tall", "a decimal point"),
    (
        "user went hiking with friends in the mountains near the lake",
        "user went hiking with 3 friends in the mountains near the lake",
        "a number added to a long statement",
    ),
    (
        "Caroline went to a support group on 7 May 2023.",
        "Caroline went to a support group on 9 May 2023.",
        "a date",
    ),
    ("user's sister is called Anna.", "user's sister is called Anne.", "a near-identical name"),
    ("Caroline lives in Berlin", "Caroline lives in Bern", "a near-identical place"),
    ("user lives in bern", "user lives in berlin", "a near-identical place in lowercase"),
    ("user has a cat", "user has a bat", "a one-letter change of word"),
    ("user's sister lives in Berlin", "user's sister Anna lives in Berlin", "a name on one side"),
    ("", "user is vegan", "an empty text"),
]


@pytest.mark.parametrize(("a", "b", "why"), DIFFERENT, ids=[row[2] for row in DIFFERENT])
def test_statements_that_differ_in_meaning_are_not_the_same(a: str, b: str, why: str) -> None:
    assert not same_statement(a, b)
    assert not same_statement(b, a)


def test_looser_thresholds_merge_what_the_defaults_keep_apart() -> None:
    a, b = "user likes hiking a lot", "user likes hiking"
    assert not same_statement(a, b)
    assert same_statement(a, b, ConsolidationThresholds(token_jaccard=0.7))


def new_fact(
    attribute: str,
    value: str,
    text: str,
    *,
    subject: str = "user",
    negated: bool = False,
    multi_valued: bool = False,
) -> ExtractedFact:
    return ExtractedFact(
        subject=subject,
        attribute=attribute,
        value=value,
        text=text,
        category=FactCategory.OTHER,
        importance=0.5,
        confidence=0.9,
        negated=negated,
        multi_valued=multi_valued,
    )


def old_fact(
    fact_id: int,
    attribute: str,
    value: str,
    text: str,
    *,
    subject: str = "user",
    negated: bool = False,
    multi_valued: bool = False,
) -> ExistingFact:
    return ExistingFact(
        id=fact_id,
        subject=subject,
        attribute=attribute,
        value=value,
        text=text,
        negated=negated,
        multi_valued=multi_valued,
    )


BERLIN = old_fact(1, "lives_in", "Berlin", "user lives in Berlin.")
COFFEE = old_fact(2, "likes", "coffee", "user likes coffee.", multi_valued=True)

DECISIONS = [
    (
        "a first fact is inserted",
        new_fact("lives_in", "Berlin", "user lives in Berlin."),
        [],
        Decision(Action.INSERT),
    ),
    (
        "a restated fact merges into the one already held",
        new_fact("lives_in", "berlin", "User lives in berlin"),
        [BERLIN, COFFEE],
        Decision(Action.MERGE, 1, "Berlin"),
    ),
    (
        "subjects compare without regard to case",
        new_fact("lives_in", "Berlin", "Caroline lives in Berlin.", subject="CAROLINE"),
        [old_fact(5, "lives_in", "Berlin", "Caroline lives in Berlin.", subject="Caroline")],
        Decision(Action.MERGE, 5, "Berlin"),
    ),
    (
        "a merge keeps the more specific value",
        new_fact("plays", "the guitar", "user plays the guitar.", multi_valued=True),
        [old_fact(3, "plays", "guitar", "user plays guitar.", multi_valued=True)],
        Decision(Action.MERGE, 3, "the guitar"),
    ),
    (
        "a merge keeps the old value when it is the more specific",
        new_fact("works_as", "software engineer", "user works as software engineer."),
        [old_fact(4, "works_as", "a software engineer", "user is a software engineer.")],
        Decision(Action.MERGE, 4, "a software engineer"),
    ),
    (
        "a new home supersedes the old one",
        new_fact("lives_in", "Paris", "user lives in Paris."),
        [BERLIN, COFFEE],
        Decision(Action.SUPERSEDE, 1),
    ),
    (
        "a new age supersedes the old one",
        new_fact("age", "35", "user is 35 years old."),
        [old_fact(6, "age", "34", "user is 34 years old.")],
        Decision(Action.SUPERSEDE, 6),
    ),
    (
        "a second taste is inserted beside the first",
        new_fact("likes", "tea", "user likes tea.", multi_valued=True),
        [BERLIN, COFFEE],
        Decision(Action.INSERT),
    ),
    (
        "a taste that flips to its negation supersedes it",
        new_fact("likes", "coffee", "user no longer likes coffee.", negated=True),
        [BERLIN, COFFEE],
        Decision(Action.SUPERSEDE, 2),
    ),
    (
        "a negation that flips back supersedes it too",
        new_fact("lives_in", "Berlin", "user lives in Berlin."),
        [old_fact(7, "lives_in", "Berlin", "user does not live in Berlin.", negated=True)],
        Decision(Action.SUPERSEDE, 7),
    ),
    (
        "dislikes and likes are one preference with two polarities",
        new_fact("likes", "coffee", "user likes coffee.", multi_valued=True),
        [old_fact(8, "dislikes", "coffee", "user dislikes coffee.", multi_valued=True)],
        Decision(Action.SUPERSEDE, 8),
    ),
    (
        "not living somewhere else does not move the user",
        new_fact("lives_in", "Paris", "user does not live in Paris.", negated=True),
        [BERLIN],
        Decision(Action.INSERT),
    ),
    (
        "another pet is no typo of the first however alike the sentences",
        new_fact("has_pet", "bat", "user has a bat.", multi_valued=True),
        [old_fact(9, "has_pet", "cat", "user has a cat.", multi_valued=True)],
        Decision(Action.INSERT),
    ),
    (
        "the same outing on another day is another event",
        new_fact("event", "went to the gym", "user went to the gym on 9 May 2023."),
        [old_fact(10, "event", "went to the gym", "user went to the gym on 7 May 2023.")],
        Decision(Action.INSERT),
    ),
    (
        "the same outing told again merges",
        new_fact("event", "went to the gym", "user went to the gym on 7 May 2023."),
        [old_fact(10, "event", "went to the gym", "user went to the gym on 7 May 2023.")],
        Decision(Action.MERGE, 10, "went to the gym"),
    ),
    (
        "a fact about someone else never touches the user's own",
        new_fact("lives_in", "Paris", "user's sister lives in Paris.", subject="user's sister"),
        [BERLIN],
        Decision(Action.INSERT),
    ),
    (
        "the same statement under another extractor's key merges",
        new_fact("works_as", "a nurse", "user works as a nurse."),
        [old_fact(11, "job", "nurse", "User works as a nurse")],
        Decision(Action.MERGE, 11, "a nurse"),
    ),
    (
        "an attribute the extractor marks multi-valued keeps every value",
        new_fact("speaks", "French", "user speaks French.", multi_valued=True),
        [old_fact(12, "speaks", "English", "user speaks English.", multi_valued=True)],
        Decision(Action.INSERT),
    ),
    (
        "an attribute the extractor marks single-valued takes the new value",
        new_fact("speaks", "French", "user speaks French."),
        [old_fact(12, "speaks", "English", "user speaks English.")],
        Decision(Action.SUPERSEDE, 12),
    ),
    (
        "the most recent of several candidates is the one superseded",
        new_fact("lives_in", "Rome", "user lives in Rome."),
        [
            old_fact(3, "lives_in", "Berlin", "user lives in Berlin."),
            old_fact(7, "lives_in", "Paris", "user lives in Paris."),
        ],
        Decision(Action.SUPERSEDE, 7),
    ),
]


@pytest.mark.parametrize(
    ("why", "new", "existing", "decision"), DECISIONS, ids=[row[0] for row in DECISIONS]
)
def test_decide(
    why: str, new: ExtractedFact, existing: list[ExistingFact], decision: Decision
) -> None:
    assert decide(new, existing) == decision


SAID_AT = datetime.fromisoformat("2023-05-08T12:00:00+00:00")


def as_existing(fact: ExtractedFact, fact_id: int) -> ExistingFact:
    return ExistingFact(
        id=fact_id,
        subject=fact.subject,
        attribute=fact.attribute,
        value=fact.value,
        text=fact.text,
        negated=fact.negated,
        multi_valued=fact.multi_valued,
    )


@pytest.mark.parametrize(
    ("first", "then", "action"),
    [
        ("I'm a nurse", "I work as a nurse", Action.MERGE),
        ("I love jazz", "I really love jazz!", Action.MERGE),
        ("I live in Berlin", "I moved to Lisbon last year", Action.SUPERSEDE),
        ("I like coffee", "I don't like coffee anymore", Action.SUPERSEDE),
        ("I like coffee", "I like tea", Action.INSERT),
        ("My sister is called Anna", "My sister is called Maria", Action.INSERT),
        ("My husband is called Tom", "My husband is called Jim", Action.SUPERSEDE),
        ("I have two kids", "I have three kids", Action.SUPERSEDE),
    ],
)
def test_extracted_facts_consolidate_with_what_the_user_said_before(
    first: str, then: str, action: Action
) -> None:
    (before,) = extract_facts(first, speaker="Caroline", said_at=SAID_AT)
    (after,) = extract_facts(then, speaker="Caroline", said_at=SAID_AT)
    decision = decide(after, [as_existing(before, 1)])
    assert decision.action == action
    assert decision.target_id == (None if action == Action.INSERT else 1)
