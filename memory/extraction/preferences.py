"""Preferences: tastes, hobbies and what the speaker can or will not eat.

Favourites, hobbies and goals ("my hobby is ..."), diets and allergies, what the speaker loves,
hates, prefers, plays and is learning.
"""

import re

from memory.extraction.clauses import Clause, Who
from memory.extraction.facts import ExtractedFact
from memory.extraction.objects import NO_LONGER, clean_object, list_items, snake
from memory.extraction.plans import clean_plan
from memory.extraction.third_person import third_person_text
from memory.extraction.vocabulary import END
from memory.text.normalise import collapse_space
from memory.text.patterns import alternation

_FAVORITE = re.compile(
    r"^my\s+(?:(?:all-time|all\s+time|absolute|very)\s+)?(?:favou?rite|fav|fave)\s+"
    r"(?P<thing>[a-z][\w-]*(?:\s+[a-z][\w-]*){0,3}?)\s+(?:is|are|has\s+to\s+be)\s+"
    r"(?P<value>.+)$",
    re.I,
)
_FAVORITE_REVERSED = re.compile(
    r"^(?P<value>.+?)\s+(?:is|are)\s+(?:definitely\s+|probably\s+|easily\s+)?my\s+"
    r"(?:(?:all-time|absolute)\s+)?(?:favou?rite|fav|fave)\s+"
    r"(?P<thing>[a-z][\w-]*(?:\s+[a-z][\w-]*){0,2})$",
    re.I,
)
_UNCOUNTABLE_PLURALS = frozenset({"series", "species", "news", "clothes", "glasses", "shoes"})


def favorite(clause: Clause) -> list[ExtractedFact] | None:
    match = _FAVORITE.match(clause.clause) or _FAVORITE_REVERSED.match(clause.clause)
    if match is None:
        return None
    value, thing = clean_object(match.group("value")), match.group("thing").lower()
    if value is None:
        return []
    plural = thing.endswith("s") and not thing.endswith("ss") and thing not in _UNCOUNTABLE_PLURALS
    key = thing[:-3] + "y" if plural and thing.endswith("ies") else thing[:-1] if plural else thing
    subject, verb = clause.reading.subject, "are" if plural else "is"
    text = f"{subject}'s favorite {thing} {verb} {third_person_text(value, subject)}"
    return [
        clause.fact(
            subject, f"favorite_{snake(key)}", value, text, confidence=0.9, multi_valued=plural
        )
    ]


_MY_THING = re.compile(
    r"^my\s+(?P<thing>(?:main\s+)?(?:hobby|hobbies|passion|goal|dream|plan))\s+"
    r"(?:is|are|include|includes)\s+(?P<value>.+)$",
    re.I,
)


def my_thing(clause: Clause) -> list[ExtractedFact] | None:
    match = _MY_THING.match(clause.clause)
    if match is None:
        return None
    subject, thing = clause.reading.subject, match.group("thing").lower().split()[-1]
    raw = match.group("value")
    if thing in {"goal", "dream", "plan"}:
        if not raw.lower().startswith("to "):
            return []
        value = clean_plan(raw[3:])
        if value is None:
            return []
        attribute, verb = ("plans", "plans") if thing == "plan" else ("wants_to", "wants")
        text = (
            f"{subject} {verb} to {third_person_text(value, subject)}{clause.when_text('future')}"
        )
        return [clause.fact(subject, attribute, value, text, multi_valued=True)]
    facts = []
    for item in list_items(raw):
        text = f"{subject} enjoys {third_person_text(item, subject)} as a hobby"
        facts.append(clause.fact(subject, "hobby", item, text, confidence=0.9))
    return facts


_DIET = re.compile(
    r"^(?:am|is)\s+(?P<neg>not\s+|no\s+longer\s+)?(?:a\s+)?"
    rf"(?:(?P<diet>vegan|vegetarian|pescatarian|pescetarian|flexitarian)|"
    rf"(?P<intolerance>lactose|gluten)[\s-]+intolerant){END}",
    re.I,
)
_ALLERGY = re.compile(
    r"^(?:(?:am|is)\s+(?:(?:severely|very|deathly|super|highly|mildly)\s+)?allergic\s+to\s+"
    r"(?P<object>.+)|(?:have|has)\s+(?:a|an)\s+(?:severe\s+|mild\s+)?(?P<noun>[\w-]+(?:\s+[\w-]+)?)"
    r"\s+allergy\b.*)$",
    re.I,
)


def diet_and_allergies(pred: str, who: Who, clause: Clause) -> list[ExtractedFact] | None:
    match = _DIET.match(pred)
    if match is not None and match.group("intolerance"):
        value, negated = match.group("intolerance").lower(), bool(match.group("neg"))
        text = f"{who.subject} is {'not ' if negated else ''}{value} intolerant"
        return [
            clause.fact(who.subject, "intolerant_to", value, text, negated=negated, confidence=0.9)
        ]
    if match is not None:
        diet, negated = match.group("diet").lower(), bool(match.group("neg"))
        verb = "is"
        if negated:
            verb = "is no longer" if NO_LONGER.search(clause.clause) else "is not"
        text = f"{who.subject} {verb} {diet}"
        return [clause.fact(who.subject, "diet", diet, text, negated=negated, confidence=0.9)]
    match = _ALLERGY.match(pred)
    if match is None:
        return None
    items = list_items(match.group("object")) if match.group("object") else [match.group("noun")]
    subject = who.subject
    return [
        clause.fact(
            subject, "allergic_to", item, f"{subject} is allergic to {item}", confidence=0.9
        )
        for item in items
    ]


_LIKE_VERBS = {"love": "loves", "like": "likes", "enjoy": "enjoys", "adore": "adores"}


def _past(verb: str) -> str:
    return f"{verb}d" if verb.endswith("e") else f"{verb}ed"


_HATE_VERBS = {
    "hate": "hates",
    "dislike": "dislikes",
    "detest": "detests",
    "loathe": "loathes",
    "despise": "despises",
    "cannot stand": "cannot stand",
    "can not stand": "cannot stand",
    "cannot bear": "cannot bear",
}
_LIKE_FORMS = {
    form: (base, past)
    for base in _LIKE_VERBS
    for form, past in ((base, False), (f"{base}s", False), (_past(base), True))
}
_LIKE = re.compile(
    r"^(?:(?P<neg>do not|does not|did not|never|no longer)\s+)?"
    rf"(?P<verb>{alternation(_LIKE_FORMS)})\s+(?P<object>.+)$",
    re.I,
)
_INTO = re.compile(
    r"^(?:am|is)\s+(?P<neg>not\s+|no\s+longer\s+)?(?P<verb>(?:(?:a|such\s+a)\s+)?(?:(?:big|huge|"
    r"massive|great|die-?hard)\s+)?fan\s+of|into|obsessed\s+with|passionate\s+about|crazy\s+about|"
    r"addicted\s+to|keen\s+on)\s+(?P<object>.+)$",
    re.I,
)
_HATE = re.compile(rf"^(?P<verb>(?:{alternation(_HATE_VERBS)})s?)\s+(?P<object>.+)$", re.I)
_PREFER = re.compile(
    r"^(?:prefer|prefers)\s+(?P<object>.+?)(?:\s+(?:to|over|rather\s+than|instead\s+of)\s+"
    r"(?P<other>.+))?$",
    re.I,
)
_MORE_THAN = re.compile(r"^(?P<object>.+?)\s+(?:more|better)\s+than\s+(?P<other>.+)$", re.I)


def preferences(pred: str, who: Who, clause: Clause) -> list[ExtractedFact] | None:
    match = _LIKE.match(pred)
    if match is not None:
        base, past = _LIKE_FORMS[match.group("verb").lower()]
        negated = bool(match.group("neg"))
        if past and not negated:
            return []  # "I loved the movie" reacts to something; "I never liked it" is a fact
        more = _MORE_THAN.match(match.group("object"))
        if more is not None and not negated:
            return _prefer(more.group("object"), more.group("other"), who, clause)
        return _likes(match.group("object"), base, negated, who, clause)
    match = _INTO.match(pred)
    if match is not None:
        negated = bool(match.group("neg"))
        phrase = collapse_space(match.group("verb").lower())
        return _likes(match.group("object"), phrase, negated, who, clause, copula=True)
    match = _HATE.match(pred)
    if match is not None:
        verb = collapse_space(match.group("verb").lower())
        verb = _HATE_VERBS.get(verb) or _HATE_VERBS.get(verb[:-1], verb)
        return _likes(match.group("object"), verb, True, who, clause, hate=True)
    match = _PREFER.match(pred)
    if match is None:
        return None
    return _prefer(match.group("object"), match.group("other"), who, clause)


def _likes(
    raw: str,
    verb: str,
    negated: bool,
    who: Who,
    clause: Clause,
    *,
    copula: bool = False,
    hate: bool = False,
) -> list[ExtractedFact]:
    subject, facts = who.subject, []
    infinitive = raw.lower().startswith("to ")
    items = [clean_object(raw[3:])] if infinitive else list_items(raw)
    for item in items:
        if item is None:
            continue
        said = f"to {item}" if infinitive else item
        shown = third_person_text(said, clause.reading.subject)
        if copula:
            text = f"{subject} is {'not ' if negated else ''}{verb} {shown}"
        elif hate:
            text = f"{subject} {verb} {shown}"
        elif negated and NO_LONGER.search(clause.clause):
            text = f"{subject} no longer {_LIKE_VERBS[verb]} {shown}"
        elif negated:
            text = f"{subject} does not {verb} {shown}"
        else:
            text = f"{subject} {_LIKE_VERBS[verb]} {shown}"
        importance = 0.55 if verb in {"love", "adore"} or "obsessed" in verb or hate else 0.5
        confidence = 0.85 if who.first_person else 0.75
        if item.lower().startswith(("the ", "this ", "that ")):
            confidence -= 0.2  # "I love the colors" is more often a reaction than a taste
        facts.append(
            clause.fact(
                subject,
                "likes",
                item,
                text,
                negated=negated,
                confidence=confidence,
                importance=importance,
            )
        )
    return facts


def _prefer(raw: str, other: str | None, who: Who, clause: Clause) -> list[ExtractedFact]:
    infinitive = raw.lower().startswith("to ")
    value = clean_object(raw[3:] if infinitive else raw)
    if value is None:
        return []
    rival = clean_object(other) if other else None
    shown = third_person_text(f"to {value}" if infinitive else value, clause.reading.subject)
    text = f"{who.subject} prefers {shown}" + (f" over {rival}" if rival else "")
    return [clause.fact(who.subject, "prefers", value, text)]


_PLAY = re.compile(
    r"^(?:(?P<verb>play|plays|have been playing|has been playing)|(?:am|is)\s+learning(?:\s+to\s+"
    r"(?P<play>play))?)\s+(?P<object>.+)$",
    re.I,
)
_PLAY_CUT = re.compile(r"\s+(?:on|every|twice|once|with|at|in)\b.*$", re.I)
_NOT_PLAYED = re.compile(
    r"^(?:with|around|along|a role|a part|games with|a lot|a ton|so much|lots|more|new things)\b",
    re.I,
)


def hobbies(pred: str, who: Who, clause: Clause) -> list[ExtractedFact] | None:
    match = _PLAY.match(pred)
    if match is None:
        return None
    raw = match.group("object")
    if _NOT_PLAYED.match(raw):
        return []
    learning = match.group("verb") is None
    raw = raw[3:] if learning and raw.lower().startswith("to ") else raw
    value = clean_object(_PLAY_CUT.sub("", raw), max_words=5)
    if value is None:
        return []
    subject = who.subject
    if learning:
        verb = "is learning to play" if match.group("play") else "is learning"
        return [clause.fact(subject, "learning", value, f"{subject} {verb} {value}")]
    return [clause.fact(subject, "plays", value, f"{subject} plays {value}")]
