"""The rule-based extractor, on real chat lines: what it finds, and what it must leave alone."""

from datetime import datetime

import pytest

from memory.extraction import ExtractedFact, FactCategory, extract_facts

IDENTITY = FactCategory.IDENTITY
PREFERENCE = FactCategory.PREFERENCE
RELATIONSHIP = FactCategory.RELATIONSHIP
EVENT = FactCategory.EVENT
PLAN = FactCategory.PLAN
ATTRIBUTE = FactCategory.ATTRIBUTE
OTHER = FactCategory.OTHER

# A Monday, the day the first LoCoMo conversation starts.
MAY_8 = datetime.fromisoformat("2023-05-08T13:56:00+00:00")

Row = tuple[str, str, str, FactCategory, bool]


def facts_of(
    text: str, *, speaker: str | None = None, said_at: datetime | None = None
) -> list[Row]:
    return [
        (fact.subject, fact.attribute, fact.value, fact.category, fact.negated)
        for fact in extract_facts(text, speaker=speaker, said_at=said_at)
    ]


STATEMENTS: list[tuple[str, str | None, datetime | None, list[Row]]] = [
    # names and identity
    ("I'm Caroline, by the way", None, None, [("user", "name", "Caroline", IDENTITY, False)]),
    ("My name is Jonas.", None, None, [("user", "name", "Jonas", IDENTITY, False)]),
    ("call me Sam", None, None, [("user", "name", "Sam", IDENTITY, False)]),
    ("I'm 34", None, None, [("user", "age", "34", IDENTITY, False)]),
    ("I am 34 years old.", None, None, [("user", "age", "34", IDENTITY, False)]),
    ("I'm German", None, None, [("user", "nationality", "German", IDENTITY, False)]),
    ("I was born in 1990", None, None, [("user", "birth_year", "1990", IDENTITY, False)]),
    ("my birthday is on 12 May", None, None, [("user", "birthday", "12 May", IDENTITY, False)]),
    # places
    ("I live in Lisbon now.", None, None, [("user", "lives_in", "Lisbon", ATTRIBUTE, False)]),
    ("i live in berlin", None, None, [("user", "lives_in", "berlin", ATTRIBUTE, False)]),
    ("I moved to Berlin last year", None, None, [("user", "lives_in", "Berlin", ATTRIBUTE, False)]),
    (
        "I don't live in Berlin anymore",
        None,
        None,
        [("user", "lives_in", "Berlin", ATTRIBUTE, True)],
    ),
    ("I'm originally from Ohio", None, None, [("user", "from", "Ohio", IDENTITY, False)]),
    (
        "I grew up in a small town near Boston.",
        None,
        None,
        [("user", "grew_up_in", "a small town near Boston", IDENTITY, False)],
    ),
    # work and study
    (
        "I work as a software engineer at Google",
        None,
        None,
        [
            ("user", "works_as", "a software engineer", ATTRIBUTE, False),
            ("user", "works_at", "Google", ATTRIBUTE, False),
        ],
    ),
    ("I'm a nurse.", None, None, [("user", "works_as", "a nurse", ATTRIBUTE, False)]),
    (
        "I work for a small startup",
        None,
        None,
        [("user", "works_at", "a small startup", ATTRIBUTE, False)],
    ),
    (
        "I just got a new job at Spotify!",
        None,
        None,
        [("user", "works_at", "Spotify", ATTRIBUTE, False)],
    ),
    (
        "I'm studying marine biology at UCSD",
        None,
        None,
        [
            ("user", "studies", "marine biology", ATTRIBUTE, False),
            ("user", "studies_at", "UCSD", ATTRIBUTE, False),
        ],
    ),
    # preferences
    ("I don't really like coffee", None, None, [("user", "likes", "coffee", PREFERENCE, True)]),
    ("I never liked cooking", None, None, [("user", "likes", "cooking", PREFERENCE, True)]),
    (
        "I love hiking, reading and cooking!",
        None,
        None,
        [
            ("user", "likes", "hiking", PREFERENCE, False),
            ("user", "likes", "reading", PREFERENCE, False),
            ("user", "likes", "cooking", PREFERENCE, False),
        ],
    ),
    ("I love hiking, do you?", None, None, [("user", "likes", "hiking", PREFERENCE, False)]),
    ("I hate mushrooms", None, None, [("user", "likes", "mushrooms", PREFERENCE, True)]),
    ("I can't stand reality TV", None, None, [("user", "likes", "reality TV", PREFERENCE, True)]),
    (
        "I'm not a fan of horror movies",
        None,
        None,
        [("user", "likes", "horror movies", PREFERENCE, True)],
    ),
    (
        "My favorite color is blue.",
        None,
        None,
        [("user", "favorite_color", "blue", PREFERENCE, False)],
    ),
    (
        "Pizza is my favorite food",
        None,
        None,
        [("user", "favorite_food", "Pizza", PREFERENCE, False)],
    ),
    ("I prefer tea over coffee", None, None, [("user", "prefers", "tea", PREFERENCE, False)]),
    ("I'm vegan", None, None, [("user", "diet", "vegan", PREFERENCE, False)]),
    (
        "I play the guitar in a band",
        None,
        None,
        [("user", "plays", "the guitar", PREFERENCE, False)],
    ),
    (
        "I'm allergic to shellfish",
        None,
        None,
        [("user", "allergic_to", "shellfish", ATTRIBUTE, False)],
    ),
    # relations and pets
    (
        "Hey! So I finally adopted a dog, his name is Biscuit 🐶",
        None,
        None,
        [
            ("user", "has_pet", "dog", RELATIONSHIP, False),
            ("user", "dog_name", "Biscuit", RELATIONSHIP, False),
        ],
    ),
    (
        "I have a cat named Luna",
        None,
        None,
        [
            ("user", "has_pet", "cat", RELATIONSHIP, False),
            ("user", "cat_name", "Luna", RELATIONSHIP, False),
        ],
    ),
    (
        "My sister Anna lives in Berlin",
        None,
        None,
        [
            ("user", "sister", "Anna", RELATIONSHIP, False),
            ("user's sister Anna", "lives_in", "Berlin", ATTRIBUTE, False),
        ],
    ),
    (
        "I have a sister. Her name is Maria.",
        None,
        None,
        [("user", "sister", "Maria", RELATIONSHIP, False)],
    ),
    ("My husband is called Tom.", None, None, [("user", "husband", "Tom", RELATIONSHIP, False)]),
    ("Anna is my best friend", None, None, [("user", "best_friend", "Anna", RELATIONSHIP, False)]),
    ("I have two kids", None, None, [("user", "has_kids", "two", RELATIONSHIP, False)]),
    (
        "My dad is a doctor",
        None,
        None,
        [("user's father", "works_as", "a doctor", ATTRIBUTE, False)],
    ),
    # What the speaker says about someone else is about that someone, never about the speaker.
    ("My sister likes jazz", None, None, [("user's sister", "likes", "jazz", PREFERENCE, False)]),
    # events, resolved against the time the message was said
    (
        "I went to a LGBTQ support group yesterday and it was so powerful.",
        "Caroline",
        MAY_8,
        [("Caroline", "event", "went to a LGBTQ support group", EVENT, False)],
    ),
    (
        "Last Friday, I went to an LGBTQ+ counseling workshop and it was really enlightening.",
        "Caroline",
        MAY_8,
        [("Caroline", "event", "went to an LGBTQ+ counseling workshop", EVENT, False)],
    ),
    (
        "Yesterday I took my kids to the museum.",
        "Melanie",
        MAY_8,
        [("Melanie", "event", "took my kids to the museum", EVENT, False)],
    ),
    (
        "I'm getting married next month",
        "Caroline",
        MAY_8,
        [("Caroline", "event", "getting married", EVENT, False)],
    ),
    # plans
    (
        "I'm planning to visit Japan next year",
        None,
        MAY_8,
        [("user", "plans", "visit Japan", PLAN, False)],
    ),
    ("I'm going to learn Spanish", None, None, [("user", "plans", "learn Spanish", PLAN, False)]),
    (
        "My goal is to run a marathon",
        None,
        None,
        [("user", "wants_to", "run a marathon", PLAN, False)],
    ),
    # explicit memory requests
    (
        "remember that my anniversary is on June 3rd",
        None,
        None,
        [("user", "remember", "my anniversary is on June 3rd", OTHER, False)],
    ),
    (
        "please remember I'm allergic to peanuts",
        None,
        None,
        [("user", "remember", "I am allergic to peanuts", OTHER, False)],
    ),
    (
        "don't forget that my mom's name is Linda",
        None,
        None,
        [("user", "remember", "my mom's name is Linda", OTHER, False)],
    ),
    # several facts in one message
    (
        "Hi, I'm Sam! I'm a teacher at Lincoln High and I have a dog called Rex.",
        None,
        None,
        [
            ("user", "name", "Sam", IDENTITY, False),
            ("user", "works_as", "a teacher", ATTRIBUTE, False),
            ("user", "works_at", "Lincoln High", ATTRIBUTE, False),
            ("user", "has_pet", "dog", RELATIONSHIP, False),
            ("user", "dog_name", "Rex", RELATIONSHIP, False),
        ],
    ),
    (
        "I'm Caroline and I live in Berlin with my wife.",
        None,
        None,
        [
            ("user", "name", "Caroline", IDENTITY, False),
            ("user", "lives_in", "Berlin", ATTRIBUTE, False),
        ],
    ),
]


@pytest.mark.parametrize(
    ("text", "speaker", "said_at", "expected"),
    STATEMENTS,
    ids=[row[0][:60] for row in STATEMENTS],
)
def test_a_statement_yields_exactly_the_facts_it_states(
    text: str, speaker: str | None, said_at: datetime | None, expected: list[Row]
) -> None:
    assert facts_of(text, speaker=speaker, said_at=said_at) == expected


NOTHING_TO_KEEP = [
    # questions
    "Do you like coffee?",
    "Are you from Berlin?",
    "What's your name?",
    "Is your sister called Anna?",
    "Remember when we went to Rome?",
    # hypotheticals and wishes
    "If I were a doctor, I'd work in Berlin",
    "If I had a dog I'd call him Max",
    "I wish I lived in Paris",
    "I'd love to be a doctor",
    "Maybe I'll move to Berlin",
    "I might get a cat",
    "I will maybe move to Berlin",
    "I'm a nurse, maybe",
    "If it rains tomorrow, I'm going to stay home",
    "Unless it rains, I'll go hiking on Sunday",
    # what others say about the speaker
    "She told me I'm a nurse",
    "My friend says I'm a great cook",
    "He said, I love jazz",
    # greetings, feelings and small talk
    "Hey there!",
    "Good morning!",
    "I'm tired",
    "I'm so happy for you!",
    "I'm Sorry",
    "I'm good, thanks!",
    "I'm 5 minutes away",
    "Thanks, I love it!",
    "I love you",
    "I love how you think",
    "I'll let you know",
    "I'm going to the gym",
    "I'm going to be honest",
    "I had a great time",
    "I went home",
    # look like facts, are not
    "I live in fear of spiders",
    "I work from home",
    "I'm Caroline's friend",
    "This is my dog",
    "Remember, I'm always here for you",
]


@pytest.mark.parametrize("text", NOTHING_TO_KEEP)
def test_a_line_that_states_nothing_about_the_speaker_yields_nothing(text: str) -> None:
    assert facts_of(text) == []


TEXTS = [
    (
        "Hey! So I finally adopted a dog, his name is Biscuit 🐶",
        None,
        None,
        ["user adopted a dog.", "user's dog is called Biscuit."],
    ),
    (
        "I went to a LGBTQ support group yesterday and it was so powerful.",
        "Caroline",
        MAY_8,
        ["Caroline went to a LGBTQ support group on 7 May 2023."],
    ),
    (
        "I'm getting married next month",
        "Caroline",
        MAY_8,
        ["Caroline is getting married in June 2023."],
    ),
    ("I went to the zoo yesterday", None, None, ["user went to the zoo yesterday."]),
    ("I don't like coffee", None, None, ["user does not like coffee."]),
    ("I don't live in Berlin anymore", None, None, ["user no longer lives in Berlin."]),
    ("I hate mushrooms", None, None, ["user hates mushrooms."]),
    (
        "remember that my anniversary is on June 3rd",
        None,
        None,
        ["user's anniversary is on June 3rd."],
    ),
    ("please remember my exam is tomorrow", "Jo", MAY_8, ["Jo's exam is on 9 May 2023."]),
    (
        "remind me to call my dad tomorrow",
        None,
        MAY_8,
        ["user wants to be reminded to call user's dad on 9 May 2023."],
    ),
    (
        "My sister Anna lives in Berlin",
        None,
        None,
        ["user's sister is called Anna.", "user's sister Anna lives in Berlin."],
    ),
    ("I work as a software engineer", "Dana", None, ["Dana works as a software engineer."]),
]


@pytest.mark.parametrize(
    ("text", "speaker", "said_at", "expected"), TEXTS, ids=[row[0][:60] for row in TEXTS]
)
def test_a_fact_reads_as_a_standalone_third_person_sentence(
    text: str, speaker: str | None, said_at: datetime | None, expected: list[str]
) -> None:
    assert [fact.text for fact in extract_facts(text, speaker=speaker, said_at=said_at)] == expected


DATES = [
    ("I went hiking yesterday", "on 7 May 2023"),
    ("I went hiking two days ago", "on 6 May 2023"),
    ("I went hiking last Friday", "on 5 May 2023"),
    ("I went hiking last weekend", "on the weekend of 6 May 2023"),
    ("I went hiking last week", "in the week before 8 May 2023"),
    ("I went hiking last month", "in April 2023"),
    ("I went hiking in March", "in March 2023"),
    # an explicit date later in the year than the message was past tense last year
    ("I went hiking on June 3rd", "on 3 June 2022"),
    ("I started surfing five years ago", "in 2018"),
    ("I'm planning to visit Rome tomorrow", "on 9 May 2023"),
    ("I'm planning to visit Rome on Friday", "on 12 May 2023"),
    ("I'm planning to visit Rome in two weeks", "in the week of 22 May 2023"),
    ("I'm planning to visit Rome next month", "in June 2023"),
    ("I'm planning to visit Rome in March", "in March 2024"),
]


@pytest.mark.parametrize(("text", "when"), DATES)
def test_a_relative_date_is_pinned_to_the_day_the_message_was_said(text: str, when: str) -> None:
    (fact,) = extract_facts(text, said_at=MAY_8)
    assert fact.text.endswith(f" {when}.")


def all_table_facts() -> list[ExtractedFact]:
    return [
        fact
        for text, speaker, said_at, _expected in STATEMENTS
        for fact in extract_facts(text, speaker=speaker, said_at=said_at)
    ]


def test_no_fact_text_keeps_the_first_person() -> None:
    for fact in all_table_facts():
        if fact.attribute == "remember":
            continue  # the value is the request as said; its text is checked above
        words = fact.text.lower().rstrip(".").split()
        assert not {"i", "my", "me", "i'm"} & set(words), fact.text
        assert fact.text.endswith("."), fact.text


def test_importance_and_confidence_are_fractions() -> None:
    facts = all_table_facts()
    assert facts
    for fact in facts:
        assert 0 < fact.importance <= 1, fact
        assert 0 < fact.confidence <= 1, fact


def test_who_the_user_is_outranks_what_they_like_which_outranks_what_they_did() -> None:
    (name,) = extract_facts("My name is Jonas.")
    (taste,) = extract_facts("I like jazz")
    (outing,) = extract_facts("I went to the cinema")
    assert name.importance > taste.importance > outing.importance


def test_an_explicit_memory_request_is_among_the_most_important_facts() -> None:
    (request,) = extract_facts("remember that I take my coffee black")
    assert request.category == FactCategory.OTHER
    assert request.importance >= 0.9
    assert request.text == "user takes user's coffee black."


def test_single_valued_facts_are_marked_so_a_new_value_replaces_the_old() -> None:
    (home,) = extract_facts("I live in Lisbon")
    (taste,) = extract_facts("I like jazz")
    assert not home.multi_valued
    assert taste.multi_valued


def test_hedging_lowers_confidence() -> None:
    (plain,) = extract_facts("I'm a nurse")
    (hedged,) = extract_facts("I think I'm kind of a nurse")
    assert hedged.value == plain.value
    assert hedged.confidence < plain.confidence


def test_the_same_fact_said_twice_in_one_message_is_returned_once() -> None:
    facts = extract_facts("I love jazz. Honestly, I love jazz!")
    assert [(fact.attribute, fact.value) for fact in facts] == [("likes", "jazz")]
